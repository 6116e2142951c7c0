"""`wangge map heat` end to end with a million incidents stored, beside folium's HeatMap of the same points.

The database (``wangge_bench_heat``) is the demo district with a year of demo incidents, copied with their
places jittered by up to ±20 m and their times by up to a day until it holds ``N`` incidents; it is made
once and kept, since loading a million rows takes minutes. Ours: the whole command in a fresh process
(start-up, cells summed in PostGIS, 1,000 markers, the page and its files written). The peer: the same
incidents' positions read with ``pandas.read_sql`` and drawn by ``folium.plugins.HeatMap``, in process.
Both pages are painted in Chromium from disk.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import folium
import pandas as pd
from folium import plugins
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from maps.assets import export_page
from store.cluster import EmbeddedCluster, ensure_database
from store.engine import database_url
from store.migrate import upgrade

N = 1_000_000
NAME = "wangge_bench_heat"
PERIOD = ("2025-01-01", "2027-01-01")  # the whole stored year
WANGGE = str(Path(sys.executable).parent / "wangge")
COPY_SQL = """
INSERT INTO incidents (category_code, channel, input_location, street_id, community_id, grid_id, tier, status,
                       assignee_kind, assignee_id, reported_at, response_due, completion_due, due_at, geom)
SELECT category_code, channel, input_location, street_id, community_id, grid_id, tier, status, assignee_kind,
       assignee_id, reported_at + make_interval(mins => (random() * 1440)::int), response_due, completion_due,
       due_at, ST_Translate(geom, (random() - 0.5) * 0.0005, (random() - 0.5) * 0.0004)
FROM (SELECT * FROM incidents WHERE id <= :last) AS seed, generate_series(1, :copies) AS copy
LIMIT :wanted"""


def _admin_url() -> str:
    if os.environ.get("DATABASE_URL"):
        return str(make_url(database_url()).set(database="postgres"))
    return EmbeddedCluster.default().start().rsplit("/", 1)[0] + "/postgres"


def bench_database(n: int = N) -> str:
    """The bench database's URL, holding the demo district and ``n`` incidents (made when missing)."""
    admin = _admin_url()
    url = str(make_url(admin).set(database=NAME))
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        exists = c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": NAME}).first()
    engine.dispose()
    if exists and _count(url) >= n:
        return url
    ensure_database(admin, NAME, fresh=True)
    upgrade(url)
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([WANGGE, "demo", "--load", "--track-days", "0"], env=env, check=True, capture_output=True)
    engine = create_engine(url)
    with engine.begin() as c:
        last, have = c.execute(text("SELECT max(id), count(*) FROM incidents")).one()
        c.execute(text(COPY_SQL), {"last": last, "copies": -(-n // have), "wanted": n - have})
        c.execute(text("ANALYZE incidents"))
    engine.dispose()
    return url


def _count(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as c:
        found = c.execute(text("SELECT count(*) FROM incidents")).scalar_one()
    engine.dispose()
    return int(found)


def _files_size(page: Path) -> int:
    files = page.parent / f"{page.stem}_files"
    return page.stat().st_size + sum(f.stat().st_size for f in files.rglob("*") if f.is_file())


def _ours(url: str, out: Path) -> float:
    """Seconds for the whole command in a fresh process."""
    env = {**os.environ, "DATABASE_URL": url}
    started = time.perf_counter()
    subprocess.run(
        [WANGGE, "map", "heat", "--out", str(out), "--from", PERIOD[0], "--to", PERIOD[1], "--step", "week"],
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def _peer(url: str, out: Path) -> tuple[float, float]:
    """Seconds to read the points and write HeatMap's page, and of those, seconds to read the points."""
    engine = create_engine(url)
    started = time.perf_counter()
    with engine.connect() as c:
        points = pd.read_sql(
            text(
                "SELECT ST_Y(geom) AS lat, ST_X(geom) AS lon FROM incidents "
                "WHERE reported_at >= :a AND reported_at < :b"
            ),
            c,
            params={"a": PERIOD[0], "b": PERIOD[1]},
        )
    read = time.perf_counter() - started
    fmap = folium.Map(location=[points["lat"].mean(), points["lon"].mean()], zoom_start=16, tiles=None)
    plugins.HeatMap(points[["lat", "lon"]].to_numpy().tolist()).add_to(fmap)
    export_page(fmap.get_root().render(), out)  # its Leaflet beside it, as ours: the bench runs offline
    engine.dispose()
    return time.perf_counter() - started, read


def _paint_s(browser, page: Path) -> float:
    tab = browser.new_page(viewport={"width": 1200, "height": 800})
    started = time.perf_counter()
    tab.goto(page.as_uri(), wait_until="load")
    tab.wait_for_selector("canvas.leaflet-heatmap-layer", timeout=120_000)
    tab.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    elapsed = time.perf_counter() - started
    tab.close()
    return elapsed


def run(browser, folder: Path) -> list[str]:
    """The end-to-end rows (one run each: a million rows read twice is already minutes of the machine)."""
    started = time.perf_counter()
    url = bench_database()
    made = time.perf_counter() - started
    stored = _count(url)
    ours_s = _ours(url, folder / "ours.html")
    peer_s, read_s = _peer(url, folder / "peer.html")
    ours_paint, peer_paint = _paint_s(browser, folder / "ours.html"), _paint_s(browser, folder / "peer.html")
    ours_mb, peer_mb = _files_size(folder / "ours.html") / 1e6, _files_size(folder / "peer.html") / 1e6
    return [
        "",
        f"End to end with {stored:,} incidents stored (the bench database, made or checked in {made:.0f} s): "
        "ours is the whole `wangge map heat` command in a fresh process (a year, weekly slider, 1,000 "
        "markers, the page and the files it loads); HeatMap reads the same points with `pandas.read_sql` and "
        "draws them, in process.",
        "",
        "| | end to end | of which reading | page with its files | painted in Chromium |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| ours (cells summed in PostGIS) | {ours_s:.2f} s | – | {ours_mb:.2f} MB | {ours_paint:.2f} s |",
        f"| folium HeatMap of the points | {peer_s:.2f} s | {read_s:.2f} s | {peer_mb:.1f} MB | "
        f"{peer_paint:.2f} s |",
        f"| HeatMap ÷ ours | {peer_s / ours_s:.1f}× | | {peer_mb / ours_mb:.0f}× | {peer_paint / ours_paint:.1f}× |",
        "",
        "Targets (issue #15): at least 5× faster end to end than HeatMap, a page under 2 MB painted in under 2 s.",
    ]
