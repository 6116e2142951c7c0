"""Exported pages carry only what they load, and say what they are: each kind written by `wangge map`, its
folder of files measured, every file in it loaded by the page (directly or by a stylesheet it loads), and
its <title> naming the map and its period."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

MB = 2**20
# The limits of issue #15: every kind with its files under 1.5 MB, the heat page (its time slider) under 3 MB.
LIMITS = {"grids": 1.5 * MB, "board": 1.5 * MB, "coverage": 1.5 * MB, "heat": 3 * MB}


def _size(page: Path) -> int:
    files = page.parent / f"{page.stem}_files"
    return page.stat().st_size + sum(f.stat().st_size for f in files.rglob("*") if f.is_file())


def _loaded(page: Path) -> set[Path]:
    """The files the page loads, and those its stylesheets load, as the browser would resolve them."""
    todo = [page.parent / src for src in re.findall(r'(?:src|href)="([^"]+_files/[^"]+)"', page.read_text())]
    found: set[Path] = set()
    while todo:
        path = todo.pop().resolve()
        if path in found or not path.is_file():
            continue
        found.add(path)
        if path.suffix == ".css":
            refs = re.findall(r"""url\(\s*['"]?(?!data:)([^'")?#]+)""", path.read_text(encoding="utf-8"))
            todo += [path.parent / ref for ref in refs if not _legacy_font(ref, refs)]
    return found


def _legacy_font(ref: str, refs: list[str]) -> bool:
    """A font format a browser in use never fetches, because the same font is offered as WOFF."""
    stem, _, suffix = ref.rpartition(".")
    return suffix in ("eot", "ttf", "svg") and f"{stem}.woff" in refs


def _check(page: Path, kind: str, title_words: tuple[str, ...]) -> None:
    files = {f.resolve() for f in (page.parent / f"{page.stem}_files").rglob("*") if f.is_file()}
    assert files and files == _loaded(page)  # nothing carried that the page does not load, nothing missing
    assert _size(page) < LIMITS[kind], (kind, _size(page))
    title = re.search(r"<title>(.*?)</title>", page.read_text(encoding="utf-8")).group(1)
    assert all(w in title for w in title_words), title


@pytest.mark.parametrize("kind", ["grids", "board"])
def test_district_pages(cli, district_url, tmp_path, kind):
    out = tmp_path / f"{kind}.html"
    r = cli(district_url, "map", kind, "--out", str(out))
    assert r.exit_code == 0, r.output
    _check(out, kind, {"grids": ("网格图 Grids", "现状 as of"), "board": ("公示牌", "现状 as of")}[kind])


def test_heat_page_with_its_time_slider(cli, history_url, tmp_path):
    out = tmp_path / "heat.html"
    r = cli(history_url, f"map heat --out {out} --from 2026-08-01 --to 2026-11-01")
    assert r.exit_code == 0, r.output
    _check(out, "heat", ("事件热力图", "2026-08-01"))
    # The slider's play and pause buttons are Glyphicons: the font comes along as WOFF, the one format every
    # browser in use reads (not its EOT, TTF and SVG copies: 174 kB no browser here fetches).
    fonts = list((tmp_path / "heat_files").rglob("glyphicons-halflings-regular.*"))
    assert [f.suffix for f in fonts] == [".woff"] and not list((tmp_path / "heat_files").rglob("*.php"))


def test_coverage_page(cli, tracks_url, tmp_path):
    out = tmp_path / "coverage.html"
    r = cli(tracks_url, f"map coverage --out {out} --from 2026-10-26 --to 2026-11-02")
    assert r.exit_code == 0, r.output
    _check(out, "coverage", ("巡查覆盖", "2026-10-26 – 2026-11-02"))
