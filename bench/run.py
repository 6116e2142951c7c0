"""`make bench`: every benchmark section, our figures beside the peers' in the same run, into bench/RESULTS.md.

`python bench/run.py patrol heat` runs only those sections and replaces just them in RESULTS.md (each
keeps the date it was run), so one slow peer (spopt) need not be rerun to refresh another section.
"""

from __future__ import annotations

import os
import platform
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import coverage_bench  # noqa: E402
import draw_scale_bench  # noqa: E402
import export_bench  # noqa: E402
import heat_bench  # noqa: E402
import intake_bench  # noqa: E402
import locate_bench  # noqa: E402
import osm_bench  # noqa: E402
import partition_bench  # noqa: E402
import patrol_bench  # noqa: E402
import scale_bench  # noqa: E402

SECTIONS = {
    "locate": locate_bench,
    "partition": partition_bench,
    "osm": osm_bench,
    "intake": intake_bench,
    "heat": heat_bench,
    "patrol": patrol_bench,
    "coverage": coverage_bench,
    "exports": export_bench,
    "scale": scale_bench,
    "draw-scale": draw_scale_bench,
}


def _sections(text: str) -> tuple[str, dict[str, str]]:
    """The preamble and each '## ' section of a results file, by title."""
    parts = re.split(r"(?m)^(?=## )", text)
    return parts[0], {p.splitlines()[0]: p for p in parts[1:]}


def main(names: list[str]) -> None:
    unknown = set(names) - set(SECTIONS)
    if unknown:
        sys.exit(f"unknown section(s) {', '.join(sorted(unknown))}; sections: {', '.join(SECTIONS)}")
    stamp = (
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}."
    )
    results = HERE / "RESULTS.md"
    preamble, kept = _sections(results.read_text()) if names and results.exists() else ("", {})
    fresh = {}
    for name in names or list(SECTIONS):
        print(f"running {name} …", flush=True)
        lines = SECTIONS[name].run()
        fresh[lines[0]] = "\n".join([lines[0], "", f"_{stamp}_", *lines[1:]]) + "\n"
    merged = {**kept, **fresh}
    text = (
        ("# Benchmarks\n\n" + "".join(merged.values())) if not names else preamble + "".join(merged.values())
    )
    results.write_text(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
