"""The older path of patrol coverage, kept as the oracle of the kept-rows report (issue 15): every log of
the period matched at once. Copied from core/coverage.py as it stood before coverage was kept per log.

Patrol coverage for a period: which roads, segments and buildings the stored tracks passed, per grid,
worker and chief, the roads nobody walked, and the rule that a street official walks with each grid
worker at least twice a week (seed 004). What a caller may see of the report is ``core.access``'s."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer
from sqlalchemy import Connection

from core.access import Principal
from core.errors import Invalid
from core.tracks import tracks_between
from core.vocabulary import BEIJING, beijing_iso
from geo.heat import key_label, time_keys
from geo.network import RoadNetwork, build_network
from geo.patrol import required_edges
from geo.tracks import Track, Walked, passed, together, walked
from store import coverage as stored
from store.hierarchy import street_outline, street_roads

UNWALKED_BELOW = 0.1  # an edge less than a tenth walked counts as not walked at all
JOINT_WALKS_PER_WEEK = 2


def _metric_tracks(tracks: list[tuple[str, str, Track]], epsg: int) -> np.ndarray:
    """Every track as one metric MultiLineString."""
    if not tracks:
        return np.array([], dtype=object)
    pieces = [p for _, _, t in tracks for p in t.pieces]
    owner = np.repeat(np.arange(len(tracks)), [len(t.pieces) for _, _, t in tracks])
    xy = np.concatenate([p[:, 1:3] for p in pieces])
    x, y = Transformer.from_crs(4326, epsg, always_xy=True).transform(xy[:, 0], xy[:, 1])
    lines = shapely.linestrings(
        np.column_stack([x, y]), indices=np.repeat(np.arange(len(pieces)), [len(p) for p in pieces])
    )
    return shapely.multilinestrings(lines, indices=owner)


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


def _joint_days(worker: list[Track], officials: list[Track]) -> dict[int, set[int]]:
    """Week → the Beijing days on which an official walked with the worker."""
    out: dict[int, set[int]] = {}
    if not worker or not officials:
        return out
    starts = np.array([t.started_at for t in officials])
    ends = np.array([t.ended_at for t in officials])
    for mine in worker:
        # Only the officials' logs that overlap this one in time can have walked with it.
        for i in np.flatnonzero((starts < mine.ended_at) & (ends > mine.started_at)):
            for begin, _end in together(mine, officials[i]):
                stamp = np.array([np.datetime64(int(begin), "s")])
                out.setdefault(int(time_keys(stamp, "week")[0]), set()).add(int(time_keys(stamp, "day")[0]))
    return out


@dataclass(frozen=True)
class _Walks:
    """A street's road network and the period's tracks over it, in the network's metric CRS."""

    network: RoadNetwork
    edges: list[Any]  # (u, v, key, data) of every edge
    lines: np.ndarray  # each edge's metric line
    lengths: np.ndarray  # each edge's length, metres
    metric: np.ndarray  # each track as one metric MultiLineString
    owners: list[str]  # whose each track is
    junctions: np.ndarray  # where three or more roads meet (a bend in one road is not one)
    within_m: float
    tracks_of: dict[str, list[Track]]
    on_edges: Walked

    @property
    def epsg(self) -> int:
        return self.network.epsg

    def walked(self, lines: np.ndarray) -> Walked:
        """How much of each metric line the tracks walked (crossing at a junction is not walking)."""
        return walked(lines, self.metric, self.owners, within_m=self.within_m, junctions=self.junctions)


def _walks(roads: gpd.GeoDataFrame, tracks: list[tuple[str, str, Track]], within_m: float) -> _Walks:
    """The street's network, its tracks made metric, and how much of each edge they walked."""
    network = build_network(roads)
    graph = network.graph
    edges = list(graph.edges(keys=True, data=True))
    lines = np.array([d["geometry"] for *_, d in edges], dtype=object)
    metric = _metric_tracks(tracks, network.epsg)
    owners = [p for p, _, _ in tracks]
    junctions = np.array([graph.nodes[n]["xy"] for n in graph.nodes if graph.degree(n) >= 3]).reshape(-1, 2)
    tracks_of: dict[str, list[Track]] = {}
    for person, _, track in tracks:
        tracks_of.setdefault(person, []).append(track)
    return _Walks(
        network=network,
        edges=edges,
        lines=lines,
        lengths=np.array([d["length_m"] for *_, d in edges]),
        metric=metric,
        owners=owners,
        junctions=junctions,
        within_m=within_m,
        tracks_of=tracks_of,
        on_edges=walked(lines, metric, owners, within_m=within_m, junctions=junctions),
    )


def _segments_and_chiefs(
    segments: gpd.GeoDataFrame, people: list[dict], w: _Walks
) -> tuple[list[dict], list[dict]]:
    """Each responsible segment's walked share and its chiefs; each chief's share of their own segment."""
    seg_lines = segments.to_crs(w.epsg).geometry.to_numpy()
    on_segments = w.walked(seg_lines)
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
            "tracks": len(w.tracks_of.get(c["id"], [])),
            "own_share": round(float(on_segments.by_owner.get(c["id"], zero)[seg_row[c["segment_id"]]]), 3),
        }
        for c in chiefs
        if c["segment_id"] in seg_row
    ]
    return seg_out, chief_out


def _worker_row(
    worker: dict, grid: dict, w: _Walks, officials: list[Track], weeks: list[tuple[int, bool]]
) -> dict:
    """A grid worker's logs, share of their grid's roads, and the weeks an official walked with them."""
    joint = _joint_days(w.tracks_of.get(worker["id"], []), officials)
    return {
        "id": worker["id"],
        "name": worker["name"],
        "grid_id": grid["id"],
        "tracks": len(w.tracks_of.get(worker["id"], [])),
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
    w: _Walks,
    weeks: list[tuple[int, bool]],
) -> tuple[list[dict], list[dict], dict[int, list[str]]]:
    """Each grid's roads walked (by anyone, by its worker) and buildings passed; each worker's row; and
    which grids each edge serves."""
    index = {(min(u, v), max(u, v), k): i for i, (u, v, k, _) in enumerate(w.edges)}
    workers = {p["grid_id"]: p for p in people if p["role"] == "grid_worker"}
    officials = [t for p in people if p["role"] == "official" for t in w.tracks_of.get(p["id"], [])]
    zero = np.zeros(len(w.edges))
    grid_out, worker_out = [], []
    grids_of_edge: dict[int, list[str]] = {}
    for _, g in grids.iterrows():
        which = [index[e] for e in required_edges(w.network, g.geom, margin_m=w.within_m)]
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
            worker_out.append(_worker_row(worker, grid_out[-1], w, officials, weeks))
    return grid_out, worker_out, grids_of_edge


def _unwalked(w: _Walks, grids_of_edge: dict[int, list[str]]) -> list[dict]:
    """The edges (nearly) nobody walked, as WGS-84 GeoJSON features with the grids they serve."""
    to_wgs = Transformer.from_crs(w.epsg, 4326, always_xy=True)
    lines, share = w.lines, w.on_edges.share
    return [
        {
            "type": "Feature",
            "properties": {
                "name": w.edges[i][3]["name"],
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
    tracks: list[tuple[str, str, Track]] | None = None,
) -> dict:
    """Everything the command centre asks of one street's patrols in [start, end) (``tracks``: the logs of
    that period on the street, when the caller has already read them)."""
    area = street_outline(conn, street_id).geometry.iloc[0].wkt
    roads = street_roads(conn, street_id)
    if tracks is None:
        tracks = tracks_between(conn, start, end, area)
    head = {
        "street_id": street_id,
        "from": beijing_iso(start),
        "to": beijing_iso(end),
        "within_m": within_m,
        "passed_m": passed_m,
        "tracks": len(tracks),
    }
    if roads.empty:  # a street drawn before its roads are imported: nothing to walk yet, nothing walked
        return {**head, **_nothing_to_walk()}
    w = _walks(roads, tracks, within_m)
    people = stored.street_people(conn, street_id)
    seg_out, chief_out = _segments_and_chiefs(stored.street_layer(conn, street_id, "segments"), people, w)
    buildings = stored.street_layer(conn, street_id, "buildings")
    was_passed = passed(buildings.to_crs(w.epsg).geometry.to_numpy(), w.metric, within_m=passed_m)
    grid_out, worker_out, grids_of_edge = _grids_and_workers(
        stored.street_layer(conn, street_id, "grids"), buildings, was_passed, people, w, _weeks(start, end)
    )
    unwalked = _unwalked(w, grids_of_edge)
    return {
        **head,
        "roads": {
            "length_m": round(float(w.lengths.sum()), 1),
            "walked_share": _share(w.lengths, w.on_edges.share, list(range(len(w.edges)))),
            "unwalked_length_m": round(float(sum(f["properties"]["length_m"] for f in unwalked)), 1),
        },
        "segments": seg_out,
        "grids": grid_out,
        "workers": worker_out,
        "chiefs": chief_out,
        "unwalked": {"type": "FeatureCollection", "features": unwalked},
        "buildings_not_passed": buildings.loc[~was_passed, ["id", "grid_id"]].to_dict("records"),
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


def walked_part(report: dict) -> dict:
    """A report without the household visits joined to each worker's row: those come from the register,
    not from the logs, and this older path never had them. The walks are what the two paths share."""
    drop = ("visits", "visits_located")
    return {**report, "workers": [{k: v for k, v in w.items() if k not in drop} for w in report["workers"]]}
