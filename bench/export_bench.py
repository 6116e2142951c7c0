"""Exported map pages with their files: `wangge map KIND --out` for every kind that needs no preview, on the
heat bench's database (the demo district with a million incidents), each page's size with the folder of
files it loads, and the number of those files."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from heat_db_bench import PERIOD, WANGGE, bench_database

KINDS = ("grids", "board", "coverage", "heat")
LIMITS_MB = {"heat": 3.0}  # issue #15: under 3 MB for the heat page, under 1.5 MB for every other kind


def run() -> list[str]:
    url = bench_database()
    env = {**os.environ, "DATABASE_URL": url}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in KINDS:
            out = Path(tmp) / f"{kind}.html"
            period = ["--from", PERIOD[0], "--to", PERIOD[1]] if kind == "heat" else []
            subprocess.run(
                [WANGGE, "map", kind, "--out", str(out), *period], env=env, check=True, capture_output=True
            )
            files = [f for f in (Path(tmp) / f"{kind}_files").rglob("*") if f.is_file()]
            total = out.stat().st_size + sum(f.stat().st_size for f in files)
            limit = LIMITS_MB.get(kind, 1.5)
            rows.append(
                f"| {kind} | {out.stat().st_size / 1e6:.2f} MB | {len(files)} | {total / 1e6:.2f} MB | "
                f"{limit:g} MB | {'yes' if total < limit * 1e6 else 'no'} |"
            )
            print(rows[-1], flush=True)
    return [
        "## Map exports",
        "",
        "`wangge map KIND --out` on the heat bench's database (the demo district, a million incidents; the heat "
        "page over the whole year with its weekly slider): the page, the files it loads (only those: "
        "scripts, stylesheets and what the stylesheets load), and both together. Before issue #15 every page "
        "copied whole npm packages: 5.0 MB in 231 files, 19.9 MB in 439 for the heat page.",
        "",
        "| map | page | files | page with its files | limit | within |",
        "| --- | ---: | ---: | ---: | ---: | :---: |",
        *rows,
        "",
    ]
