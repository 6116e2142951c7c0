"""Patrol coverage for a period: which roads, segments and buildings the stored tracks passed, per grid,
worker and chief, the roads nobody walked, and the rule that a street official walks with each grid
worker at least twice a week (seed 004). What a caller may see of the report is ``core.access``'s."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer
from sqlalchemy import Connection

from core.access import Principal
from core.coverage_kept import Walks, period_logs, walks
from core.errors import Invalid
from core.vocabulary import BEIJING, beijing_iso
from geo.heat import key_label, time_keys
from geo.patrol import required_edges
from store import coverage as stored
from store.hierarchy import street_outline
from store.residents import visit_counts
from store.track_coverage import street_basis, street_inputs

UNWALKED_BELOW = 0.1  # an edge less than a tenth walked counts as not walked at all
JOINT_WALKS_PER_WEEK = 2


def _share(lengths: np.ndarray, share: np.ndarray, which: list[int]) -> float | None:
    total = float(lengths[which].sum())
    return round(float((lengths[which] * share[which]).sum()) / total, 3) if total else None


def _weeks(start: datetime, end: datetime) -> list[tuple[int, bool]]:
    """Beijing Monday-started weeks touching [start, end), each with whether it lies wholly inside."""
    first = int(time_keys([start], "week")[0])
    last = int(time_keys([end - timedelta(seconds=1)], "week")[0])
    out = []
    for week in range(first, last + 1, 7):
        # The key counts Beijing days since 1970-01-01: that day's midnight on Beijing's clock.
        monday = datetime.fromtimestamp(week * 86400, tz=UTC).replace(tzinfo=BEIJING)
        out.append((week, monday >= start and monday + timedelta(days=7) <= end))
    return out


def _segments_and_chiefs(
    segments: gpd.GeoDataFrame, people: list[dict], w: Walks
) -> tuple[list[dict], list[dict]]:
    """Each responsible segment's walked share and its chiefs; each chief's share of their own segment."""
    seg_lines = w.basis.on_segments.lines
    on_segments = w.on_segments
    chiefs = [p for p in people if p["role"] == "street_chief"]
    seg_row = {sid: i for i, sid in enumerate(segments["id"])}
    zero = np.zeros(len(segments))
    seg_out = [
        {
            "id": row["id"],
            "name": row["name"],
            "length_m": round(seg_lines[i].length, 1),
            "walked_share": round(float(on_segments.share[i]), 3),
            "chiefs": [c["id"] for c in chiefs if c["segment_id"] == row["id"]],
        }
        for i, row in segments.iterrows()
    ]
    chief_out = [
        {
            "id": c["id"],
            "name": c["name"],
            "kind": c["chief_kind"],
            "segment_id": c["segment_id"],
            "tracks": w.tracks_of.get(c["id"], 0),
            "own_share": round(float(on_segments.by_owner.get(c["id"], zero)[seg_row[c["segment_id"]]]), 3),
        }
        for c in chiefs
        if c["segment_id"] in seg_row
    ]
    return seg_out, chief_out


def _worker_row(worker: dict, grid: dict, w: Walks, weeks: list[tuple[int, bool]]) -> dict:
    """A grid worker's logs, share of their grid's roads, and the weeks an official walked with them."""
    joint = w.joint.get(worker["id"], {})
    return {
        "id": worker["id"],
        "name": worker["name"],
        "grid_id": grid["id"],
        "tracks": w.tracks_of.get(worker["id"], 0),
        "own_share": grid["worker_share"],
        "weeks": [
            {
                "week": key_label(week),
                "joint_days": len(joint.get(week, ())),
                "complete": complete,
                "ok": len(joint.get(week, ())) >= JOINT_WALKS_PER_WEEK,
            }
            for week, complete in weeks
        ],
    }


def _grids_and_workers(
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    was_passed: np.ndarray,
    people: list[dict],
    w: Walks,
    weeks: list[tuple[int, bool]],
) -> tuple[list[dict], list[dict], dict[int, list[str]]]:
    """Each grid's roads walked (by anyone, by its worker) and buildings passed; each worker's row; and
    which grids each edge serves."""
    b = w.basis
    index = {(min(u, v), max(u, v), k): i for i, (u, v, k, _) in enumerate(b.edges)}
    workers = {p["grid_id"]: p for p in people if p["role"] == "grid_worker"}
    zero = np.zeros(len(b.edges))
    grid_out, worker_out = [], []
    grids_of_edge: dict[int, list[str]] = {}
    for _, g in grids.iterrows():
        which = [index[e] for e in required_edges(b.network, g.geom, margin_m=b.within_m)]
        for i in which:
            grids_of_edge.setdefault(i, []).append(g["id"])
        mine = buildings["grid_id"] == g["id"]
        worker = workers.get(g["id"])
        own = w.on_edges.by_owner.get(worker["id"], zero) if worker else zero
        grid_out.append(
            {
                "id": g["id"],
                "community_id": g["community_id"],
                "worker_id": worker and worker["id"],
                "road_length_m": round(float(w.lengths[which].sum()), 1),
                "walked_share": _share(w.lengths, w.on_edges.share, which),
                "worker_share": _share(w.lengths, own, which),
                "buildings": int(mine.sum()),
                "buildings_passed": int(was_passed[mine.to_numpy()].sum()),
            }
        )
        if worker:
            worker_out.append(_worker_row(worker, grid_out[-1], w, weeks))
    return grid_out, worker_out, grids_of_edge


def _unwalked(w: Walks, grids_of_edge: dict[int, list[str]]) -> list[dict]:
    """The edges (nearly) nobody walked, as WGS-84 GeoJSON features with the grids they serve."""
    to_wgs = Transformer.from_crs(w.basis.epsg, 4326, always_xy=True)
    lines, share = w.basis.on_edges.lines, w.on_edges.share
    return [
        {
            "type": "Feature",
            "properties": {
                "name": w.basis.edges[i][3]["name"],
                "length_m": round(w.lengths[i], 1),
                "walked_share": round(float(share[i]), 3),
                "grids": grids_of_edge.get(int(i), []),
            },
            "geometry": shapely.geometry.mapping(
                shapely.transform(lines[i], lambda xy: np.column_stack(to_wgs.transform(*xy.T)))
            ),
        }
        for i in np.flatnonzero(share < UNWALKED_BELOW)
    ]


def street_coverage(
    conn: Connection,
    street_id: str,
    start: datetime,
    end: datetime,
    *,
    within_m: float = 20.0,
    passed_m: float = 30.0,
) -> dict:
    """Everything the command centre asks of one street's patrols in [start, end), from the coverage each
    log kept at upload (``core.coverage_kept``)."""
    area = street_outline(conn, street_id).geometry.iloc[0].wkt
    roads, segments, buildings = inputs = street_inputs(conn, street_id)
    b = street_basis(street_id, inputs, within_m, passed_m)
    logs = period_logs(conn, start, end, area, b.key if b else None, street_id)
    head = {
        "street_id": street_id,
        "from": beijing_iso(start),
        "to": beijing_iso(end),
        "within_m": within_m,
        "passed_m": passed_m,
        "tracks": len(logs[0]) + len(logs[1]),
    }
    if b is None:  # a street drawn before its roads are imported: nothing to walk yet, nothing walked
        return {**head, **_nothing_to_walk()}
    people = stored.street_people(conn, street_id)
    roles = {role: {p["id"] for p in people if p["role"] == role} for role in ("official", "grid_worker")}
    w = walks(conn, b, street_id, logs, roles["official"], roles["grid_worker"])
    seg_out, chief_out = _segments_and_chiefs(segments, people, w)
    grid_out, worker_out, grids_of_edge = _grids_and_workers(
        stored.street_layer(conn, street_id, "grids"), buildings, w.was_passed, people, w, _weeks(start, end)
    )
    unwalked = _unwalked(w, grids_of_edge)
    # The household visits each worker recorded in the period join their patrol record.
    visits = visit_counts(conn, street_id, start, end)
    for row in worker_out:
        made = visits.get(row["id"], {"visits": 0, "located": 0})
        row["visits"], row["visits_located"] = made["visits"], made["located"]
    return {
        **head,
        "roads": {
            "length_m": round(float(w.lengths.sum()), 1),
            "walked_share": _share(w.lengths, w.on_edges.share, list(range(len(b.edges)))),
            "unwalked_length_m": round(float(sum(f["properties"]["length_m"] for f in unwalked)), 1),
        },
        "segments": seg_out,
        "grids": grid_out,
        "workers": worker_out,
        "chiefs": chief_out,
        "unwalked": {"type": "FeatureCollection", "features": unwalked},
        "buildings_not_passed": buildings.loc[~w.was_passed, ["id", "grid_id"]].to_dict("records"),
        "rule": RULE,
    }


RULE = (
    f"每周至少{JOINT_WALKS_PER_WEEK}天由街道干部陪同巡查 an official walks with each grid worker "
    f"on at least {JOINT_WALKS_PER_WEEK} days a week"
)


def _nothing_to_walk() -> dict:
    """The report's body for a street with no roads: every list empty, every share undefined."""
    return {
        "roads": {"length_m": 0.0, "walked_share": None, "unwalked_length_m": 0.0},
        "segments": [],
        "grids": [],
        "workers": [],
        "chiefs": [],
        "unwalked": {"type": "FeatureCollection", "features": []},
        "buildings_not_passed": [],
        "rule": RULE,
        "note": "该街道没有道路 no roads on this street yet",
    }


def street_for(conn: Connection, who: Principal | None, street: str | None) -> str:
    """The street to report on: the one asked for, else the caller's own (a district with one street: that one)."""
    if street:
        return street
    if who is not None and who.role in stored.SCOPED_ROLES:
        return stored.street_of_scope(conn, who.role, who.scope_id)
    streets = stored.first_streets(conn, 2)
    if len(streets) != 1:
        raise Invalid("say which street: ?street=ID")
    return streets[0]
