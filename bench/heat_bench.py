"""Heat map benchmark: our binned heat page beside a plain folium HeatMap of the raw points.

Same points, same run: incidents over the demo district (homes weighted by households, 30 %
around ten hot spots), a year of report times, the seeds' tier mix. For each size we time
building the page (frame in, HTML out), its size, and how long Debian's headless Chromium takes
to load it from disk and draw the heat canvas. Ours also carries the weekly time slider and
1,000 clustered markers; the peer has only the heat layer.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import folium
import heat_db_bench
import numpy as np
import pandas as pd
import shapely
from folium import plugins

from boundaries.demo import make_district
from geo.heat import HeatCells, tier_weights, time_keys
from maps.assets import export_page
from maps.basemaps import base_map
from maps.heat import HeatOptions, incident_heat_map

SIZES = (10_000, 100_000, 1_000_000)
TIERS = {"A": 0.85, "B": 0.13, "C": 0.016, "D": 0.004}


def _incidents(n: int, layers: dict, rng: np.random.Generator) -> pd.DataFrame:
    buildings = layers["buildings"]
    homes = shapely.get_coordinates(buildings.geometry.representative_point().values)
    w = buildings["households"].to_numpy(float) + 1
    xy = homes[rng.choice(len(homes), size=n, p=w / w.sum())] + rng.normal(0, 4e-5, (n, 2))
    spots = homes[rng.choice(len(homes), size=10, replace=False)]
    near = rng.random(n) < 0.3
    xy[near] = spots[rng.integers(0, 10, near.sum())] + rng.normal(0, 4e-4, (near.sum(), 2))
    start = pd.Timestamp("2025-11-01", tz="UTC")
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "lon": xy[:, 0],
            "lat": xy[:, 1],
            "tier": rng.choice(list(TIERS), size=n, p=list(TIERS.values())),
            "reported_at": start + pd.to_timedelta(rng.integers(0, 365 * 86400, n), unit="s"),
            "category": "乱扔垃圾",
            "status": "closed",
            "grid": "第1网格",
            "assignee": "网格员",
        }
    )


def _ours(frame: pd.DataFrame, layers: dict) -> str:
    """The page from points in memory: binned here (a stored year is summed in PostGIS instead)."""
    keys = time_keys(frame["reported_at"], "week")
    heat = HeatCells.of_points(frame["lon"], frame["lat"], tier_weights(frame["tier"]), keys)
    fmap = incident_heat_map(
        heat,
        frame.nlargest(1000, "reported_at"),
        layers,
        base_map("none"),
        options=HeatOptions(step="week"),
        source="bench",
        data_time=datetime.now(UTC),
    )
    return fmap.get_root().render()


def _peer(frame: pd.DataFrame) -> str:
    fmap = folium.Map(location=[frame["lat"].mean(), frame["lon"].mean()], zoom_start=16, tiles=None)
    plugins.HeatMap(frame[["lat", "lon"]].assign(w=1.0).to_numpy().tolist()).add_to(fmap)
    return fmap.get_root().render()


def _draw_s(browser, html: str, folder: Path, name: str) -> float:
    out = export_page(html, folder / f"{name}.html")
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    start = time.perf_counter()
    page.goto(out.as_uri(), wait_until="load")
    page.wait_for_selector("canvas.leaflet-heatmap-layer", timeout=120_000)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    elapsed = time.perf_counter() - start
    page.close()
    return elapsed


def run() -> list[str]:
    from tests.browser import chromium

    layers = make_district(seed=7, scale=1)
    rng = np.random.default_rng(7)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, chromium() as browser:
        folder = Path(tmp)
        for n in SIZES:
            frame = _incidents(n, layers, rng)
            t = time.perf_counter()
            ours = _ours(frame, layers)
            ours_s = time.perf_counter() - t
            t = time.perf_counter()
            peer = _peer(frame)
            peer_s = time.perf_counter() - t
            ours_draw = _draw_s(browser, ours, folder, f"ours{n}")
            peer_draw = _draw_s(browser, peer, folder, f"peer{n}")
            rows.append((n, ours_s, len(ours.encode()), ours_draw, peer_s, len(peer.encode()), peer_draw))
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(exist_ok=True)
        stored = heat_db_bench.run(browser, folder)
    lines = [
        "## Incident heat page (maps/heat.py) beside folium.plugins.HeatMap of the raw points",
        "",
        "Build = data frame in, HTML out; draw = Chromium loads the page from disk until the heat canvas is "
        "painted. Ours also carries the weekly time slider and 1,000 clustered markers.",
        "",
        "| incidents | ours: build | ours: page | ours: draw | HeatMap: build | HeatMap: page | HeatMap: draw "
        "| page size ratio |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n, ob, osz, od, pb, psz, pd_ in rows:
        lines.append(
            f"| {n:,} | {ob:.2f} s | {osz / 1e6:.2f} MB | {od:.2f} s | {pb:.2f} s | {psz / 1e6:.1f} MB "
            f"| {pd_:.2f} s | {psz / osz:.0f}× smaller |"
        )
    lines += [
        "",
        "Targets (issue #6): 1,000,000 incidents under 1 s to build, under 2 MB, drawn in under 2 s.",
        *stored,
        "",
    ]
    return lines


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    print("\n".join(run()))
