"""Patrol coverage for a period: which roads, segments and buildings the stored tracks passed, per grid,
worker and chief, the roads nobody walked, and the rule that a street official walks with each grid
worker at least twice a week (seed 004)."""

from __future__ import annotations

from datetime import datetime, timedelta

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer
from sqlalchemy import Connection, text

from api.http.problems import ApiProblem
from core.tokens import Principal
from core.tracks import tracks_between
from geo.heat import key_label, time_keys
from geo.network import build_network
from geo.patrol import required_edges
from geo.tracks import Track, passed, together, walked

UNWALKED_BELOW = 0.1  # an edge less than a tenth walked counts as not walked at all
JOINT_WALKS_PER_WEEK = 2
BEIJING = timedelta(hours=8)


class CoverageError(ApiProblem):
    """A coverage question that cannot be answered as asked (no street, not allowed)."""


def _frame(conn: Connection, sql: str, params: dict) -> gpd.GeoDataFrame:
    return gpd.read_postgis(text(sql), conn, geom_col="geom", params=params)


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
        monday = datetime.fromtimestamp(week * 86400, tz=start.tzinfo) - BEIJING
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
    area = conn.execute(
        text("SELECT ST_AsText(geom) FROM streets WHERE id = :s"), {"s": street_id}
    ).scalar_one()
    roads = _frame(conn, "SELECT name, geom FROM roads WHERE street_id = :s", {"s": street_id})
    network = build_network(roads)
    epsg = network.epsg
    edges = list(network.graph.edges(keys=True, data=True))
    edge_lines = np.array([d["geometry"] for *_, d in edges], dtype=object)
    edge_len = np.array([d["length_m"] for *_, d in edges])
    if tracks is None:
        tracks = tracks_between(conn, start, end, area)
    owners = [p for p, _, _ in tracks]
    metric = _metric_tracks(tracks, epsg)
    # Junctions: where three or more roads meet (a bend in one road is not one).
    junctions = np.array(
        [network.graph.nodes[n]["xy"] for n in network.graph.nodes if network.graph.degree(n) >= 3]
    ).reshape(-1, 2)
    on_edges = walked(edge_lines, metric, owners, within_m=within_m, junctions=junctions)
    zero = np.zeros(len(edges))

    people = (
        conn.execute(
            text(
                "SELECT id, name, role, chief_kind, grid_id, segment_id FROM people "
                "WHERE street_id = :s OR grid_id IN (SELECT g.id FROM grids g JOIN communities c "
                "ON c.id = g.community_id WHERE c.street_id = :s) ORDER BY id"
            ),
            {"s": street_id},
        )
        .mappings()
        .all()
    )
    tracks_of: dict[str, list[Track]] = {}
    for person, _, track in tracks:
        tracks_of.setdefault(person, []).append(track)

    segments = _frame(
        conn, "SELECT id, name, geom FROM road_segments WHERE street_id = :s ORDER BY id", {"s": street_id}
    )
    seg_lines = segments.to_crs(epsg).geometry.to_numpy()
    on_segments = walked(seg_lines, metric, owners, within_m=within_m, junctions=junctions)
    chiefs = [p for p in people if p["role"] == "street_chief"]
    seg_row = {sid: i for i, sid in enumerate(segments["id"])}
    seg_out = []
    for i, row in segments.iterrows():
        seg_out.append(
            {
                "id": row["id"],
                "name": row["name"],
                "length_m": round(seg_lines[i].length, 1),
                "walked_share": round(float(on_segments.share[i]), 3),
                "chiefs": [c["id"] for c in chiefs if c["segment_id"] == row["id"]],
            }
        )
    chief_out = [
        {
            "id": c["id"],
            "name": c["name"],
            "kind": c["chief_kind"],
            "segment_id": c["segment_id"],
            "tracks": len(tracks_of.get(c["id"], [])),
            "own_share": round(float(on_segments.by_owner.get(c["id"], zero)[seg_row[c["segment_id"]]]), 3),
        }
        for c in chiefs
        if c["segment_id"] in seg_row
    ]

    grids = _frame(
        conn,
        "SELECT g.id, g.community_id, g.geom FROM grids g JOIN communities c ON c.id = g.community_id "
        "WHERE c.street_id = :s AND g.valid_to IS NULL ORDER BY g.id",
        {"s": street_id},
    )
    buildings = _frame(
        conn,
        "SELECT b.id, b.grid_id, b.geom FROM buildings b JOIN grids g ON g.id = b.grid_id "
        "JOIN communities c ON c.id = g.community_id WHERE c.street_id = :s ORDER BY b.id",
        {"s": street_id},
    )
    was_passed = passed(buildings.to_crs(epsg).geometry.to_numpy(), metric, within_m=passed_m)
    index = {(min(u, v), max(u, v), k): i for i, (u, v, k, _) in enumerate(edges)}
    workers = {p["grid_id"]: p for p in people if p["role"] == "grid_worker"}
    officials = [t for p in people if p["role"] == "official" for t in tracks_of.get(p["id"], [])]
    weeks = _weeks(start, end)
    grid_out, worker_out = [], []
    grids_of_edge: dict[int, list[str]] = {}
    for _, g in grids.iterrows():
        which = [index[e] for e in required_edges(network, g.geom, margin_m=within_m)]
        for i in which:
            grids_of_edge.setdefault(i, []).append(g["id"])
        mine = buildings["grid_id"] == g["id"]
        worker = workers.get(g["id"])
        own = on_edges.by_owner.get(worker["id"], zero) if worker else zero
        grid_out.append(
            {
                "id": g["id"],
                "community_id": g["community_id"],
                "worker_id": worker and worker["id"],
                "road_length_m": round(float(edge_len[which].sum()), 1),
                "walked_share": _share(edge_len, on_edges.share, which),
                "worker_share": _share(edge_len, own, which),
                "buildings": int(mine.sum()),
                "buildings_passed": int(was_passed[mine.to_numpy()].sum()),
            }
        )
        if worker:
            joint = _joint_days(tracks_of.get(worker["id"], []), officials)
            worker_out.append(
                {
                    "id": worker["id"],
                    "name": worker["name"],
                    "grid_id": g["id"],
                    "tracks": len(tracks_of.get(worker["id"], [])),
                    "own_share": grid_out[-1]["worker_share"],
                    "weeks": [
                        {
                            "week": key_label(w),
                            "joint_days": len(joint.get(w, ())),
                            "complete": complete,
                            "ok": len(joint.get(w, ())) >= JOINT_WALKS_PER_WEEK,
                        }
                        for w, complete in weeks
                    ],
                }
            )

    to_wgs = Transformer.from_crs(epsg, 4326, always_xy=True)
    unwalked = [
        {
            "type": "Feature",
            "properties": {
                "name": edges[i][3]["name"],
                "length_m": round(edge_len[i], 1),
                "walked_share": round(float(on_edges.share[i]), 3),
                "grids": grids_of_edge.get(i, []),
            },
            "geometry": shapely.geometry.mapping(
                shapely.transform(edge_lines[i], lambda xy: np.column_stack(to_wgs.transform(*xy.T)))
            ),
        }
        for i in np.flatnonzero(on_edges.share < UNWALKED_BELOW)
    ]
    total = float(edge_len.sum())
    return {
        "street_id": street_id,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "within_m": within_m,
        "passed_m": passed_m,
        "tracks": len(tracks),
        "roads": {
            "length_m": round(total, 1),
            "walked_share": _share(edge_len, on_edges.share, list(range(len(edges)))),
            "unwalked_length_m": round(float(sum(f["properties"]["length_m"] for f in unwalked)), 1),
        },
        "segments": seg_out,
        "grids": grid_out,
        "workers": worker_out,
        "chiefs": chief_out,
        "unwalked": {"type": "FeatureCollection", "features": unwalked},
        "buildings_not_passed": buildings.loc[~was_passed, ["id", "grid_id"]].to_dict("records"),
        "rule": f"每周至少{JOINT_WALKS_PER_WEEK}天由街道干部陪同巡查 an official walks with each grid worker "
        f"on at least {JOINT_WALKS_PER_WEEK} days a week",
    }


def street_for(conn: Connection, who: Principal | None, street: str | None) -> str:
    """The street to report on: the one asked for, else the caller's own (a district with one street: that one)."""
    if street:
        return street
    own = {
        "street_admin": "SELECT :k",
        "community_admin": "SELECT street_id FROM communities WHERE id = :k",
        "grid_worker": "SELECT c.street_id FROM grids g JOIN communities c ON c.id = g.community_id WHERE g.id = :k",
        "street_chief": "SELECT street_id FROM road_segments WHERE id = :k",
    }.get(who.role if who else "")
    if own:
        return conn.execute(text(own), {"k": who.scope_id}).scalar_one()
    streets = conn.execute(text("SELECT id FROM streets ORDER BY id LIMIT 2")).scalars().all()
    if len(streets) != 1:
        raise CoverageError(400, "say which street: ?street=ID")
    return streets[0]


def visible(report: dict, who: Principal) -> dict:
    """What the caller may see: admins their area; a grid worker their grid; a chief their segment."""
    if who.role in ("district_admin", "street_admin"):
        return report
    if who.role == "community_admin":
        keep = {g["id"] for g in report["grids"] if g["community_id"] == who.scope_id}
    elif who.role == "grid_worker":
        keep = {who.scope_id}
    elif who.role == "street_chief":
        keep = set()
    else:
        raise CoverageError(403, "patrol coverage is for admins, grid workers and street chiefs")
    out = dict(report)
    out["grids"] = [g for g in report["grids"] if g["id"] in keep]
    out["workers"] = [w for w in report["workers"] if w["grid_id"] in keep]
    out["buildings_not_passed"] = [b for b in report["buildings_not_passed"] if b["grid_id"] in keep]
    out["unwalked"] = {
        "type": "FeatureCollection",
        "features": [f for f in report["unwalked"]["features"] if keep & set(f["properties"]["grids"])],
    }
    mine = who.scope_id if who.role == "street_chief" else None
    out["segments"] = [s for s in report["segments"] if who.role == "community_admin" or s["id"] == mine]
    out["chiefs"] = [c for c in report["chiefs"] if who.role == "community_admin" or c["id"] == who.person_id]
    return out
