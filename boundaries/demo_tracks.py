"""A believable week of patrol logs for the demo district, so the coverage map and report have something real
to show: grid workers walk their grid's route most mornings (some always stop short, leaving roads unwalked),
street chiefs walk their segment out and back morning and evening, and officials walk with each worker on
two days a week, except for a few workers they neglect. Phones drift a few metres and now and then jump."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from sqlalchemy import Connection
from tqdm import tqdm

from core.patrols import depot_node
from core.tracks import store_track
from geo.network import RoadNetwork, build_network
from geo.patrol import PatrolError, coverage_route, required_edges, walk_line
from geo.tracks import clean
from store.track_coverage import cover_tracks

SAMPLE_S = 5.0
DRIFT_M = 4.0
PATROL_M = 2000.0  # about 30 minutes of walking
JUMP_EVERY = 400  # about one point in this many bounces far away


def _walk(
    rng: np.random.Generator,
    line: shapely.LineString,
    t0: float,
    to_wgs: Transformer,
    stop_share: float = 1.0,
    speed: float | None = None,
) -> pd.DataFrame:
    """Points every few seconds along ``line`` (metric) at a walking pace (m/s), with drift and the odd jump."""
    speed = speed or rng.uniform(3.5, 4.8) / 3.6
    distance = np.arange(0.0, line.length * stop_share, speed * SAMPLE_S)
    xy = shapely.get_coordinates(shapely.line_interpolate_point(line, distance))
    xy += rng.normal(0, DRIFT_M, xy.shape)
    jumps = rng.random(len(xy)) < 1 / JUMP_EVERY
    xy[jumps] += rng.choice([-1, 1], (jumps.sum(), 2)) * rng.uniform(200, 400, (jumps.sum(), 2))
    lon, lat = to_wgs.transform(xy[:, 0], xy[:, 1])
    return pd.DataFrame({"t": t0 + np.arange(len(xy)) * SAMPLE_S, "lon": lon, "lat": lat})


def _lap(network: RoadNetwork, area: shapely.Polygon) -> list[tuple[float, float]] | None:
    """One round of the grid's roads (a grid inside a block walks the nearest ones); None if it cannot be walked."""
    required = required_edges(network, area) or required_edges(network, area, margin_m=150)
    try:
        route = coverage_route(network, required, depot_node(network, required))
    except (PatrolError, ValueError):
        return None
    return list(walk_line(network, route).coords)


def make_tracks(
    layers: dict, *, end: datetime, days: int = 7, seed: int = 7
) -> list[tuple[str, pd.DataFrame]]:
    """(person id, raw points) for ``days`` days before ``end``, a Beijing midnight (walks are at Beijing hours)."""
    rng = np.random.default_rng(seed)
    people = layers["people"]
    out: list[tuple[str, pd.DataFrame]] = []
    for street_id, roads in layers["roads"].groupby("street_id"):
        network = build_network(roads)
        to_wgs = Transformer.from_crs(network.epsg, 4326, always_xy=True)
        # Two back roads nobody puts on their route this week: the map's "roads nobody walked".
        skipped = set(
            rng.choice(
                sorted(roads["name"].unique()), size=min(2, roads["name"].nunique() - 1), replace=False
            )
        )
        walkable = build_network(roads[~roads["name"].isin(skipped)])
        staff = people[people["street_id"] == street_id]
        officials = staff.loc[staff["role"] == "official", "id"].tolist()
        grids = layers["grids"][layers["grids"]["street_id"] == street_id]
        workers = people[(people["role"] == "grid_worker") & people["grid_id"].isin(grids["id"])]
        for n, worker in enumerate(workers.itertuples()):
            area = grids.loc[grids["id"] == worker.grid_id, "geometry"].iloc[0]
            lap = _lap(walkable, area) or _lap(network, area)
            # A morning patrol lasts about half an hour: as many laps of the grid's route as that takes.
            laps = max(1, math.ceil(PATROL_M / shapely.LineString(lap).length))
            line = shapely.LineString(lap + lap[1:] * (laps - 1))
            stop_share = 0.7 if rng.random() < 0.25 else 1.0  # a quarter of workers always stop short
            joint = set(rng.choice(days, size=min(days, 1 if rng.random() < 0.2 else 2), replace=False))
            for day in range(days):
                morning = (end - timedelta(days=days - day)).timestamp() + 9 * 3600
                t0, speed = morning + rng.uniform(0, 90 * 60), rng.uniform(3.5, 4.8) / 3.6
                if day in joint or rng.random() < 0.85:
                    out.append((worker.id, _walk(rng, line, t0, to_wgs, stop_share, speed)))
                if day in joint and officials:
                    out.append(
                        (officials[n % len(officials)], _walk(rng, line, t0, to_wgs, stop_share, speed))
                    )
        segments = layers["road_segments"].set_index("id").to_crs(network.epsg)
        for chief in staff[staff["role"] == "street_chief"].itertuples():
            if rng.random() < 0.15 or segments.loc[chief.segment_id, "road_name"] in skipped:
                continue  # away this week: their segment shows up unwalked unless someone else passes
            seg = segments.geometry[chief.segment_id]
            there_and_back = shapely.LineString([*seg.coords, *list(seg.coords)[-2::-1]])
            for day in range(days):
                midnight = (end - timedelta(days=days - day)).timestamp()
                for hour in (7.5, 18.0):
                    if rng.random() < 0.7:
                        t0 = midnight + hour * 3600 + rng.uniform(0, 40 * 60)
                        out.append((chief.id, _walk(rng, there_and_back, t0, to_wgs)))
    return out


def load_tracks(
    conn: Connection, tracks: list[tuple[str, pd.DataFrame]], progress: Callable[[str], None] | None = None
) -> int:
    """Clean and store each demo log as an upload would be, then measure their coverage in one pass
    (``progress`` hears when measuring begins: about 5 s for the demo's week)."""
    ids: list[int] = []
    for person, points in tqdm(
        tracks, desc="巡查轨迹 patrol tracks", unit="track", leave=False, disable=None
    ):
        ids.append(
            store_track(conn, person, clean(points), "demo", "wgs84", uploaded_by="demo", measure=False)["id"]
        )
    if progress:
        progress("测量覆盖 measuring coverage")
    cover_tracks(conn, ids)  # measured together: one pass over the street for the whole week
    return len(tracks)
