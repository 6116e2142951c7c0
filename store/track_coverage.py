"""Coverage kept per patrol log (migration 0011): each log measured once, at upload, against the streets it
touches, and the kept rows unioned in SQL for a period's report.

Measuring is ``geo.coverage``'s; this module reads what it needs, writes the rows once (a log measured
again against the same basis writes nothing) and reads their unions. The migration's backfill and the
demo load measure many logs in one pass; an upload measures its one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import Connection, text

from geo.coverage import Basis, Measured, basis, basis_key, hits, metric_tracks, passed_by
from geo.tracks import Track, together
from store.coverage import street_layer
from store.hierarchy import street_roads

WITHIN_M = 20.0  # what uploads are measured at: the report's defaults
PASSED_M = 30.0
WORKER, OFFICIAL = "grid_worker", "official"
_JOINT_LOCK = 15_0011  # one joint check at a time, so two logs uploaded at once still meet each other
_BASES: dict[tuple[str, str], Basis] = {}  # a street's network is built once per process and basis
CHUNK = 2_000  # logs measured at a time: a city's year of logs need not be in memory at once
_RUN = re.compile(r"\[(\d+),\s*(\d+)\)")


def street_inputs(conn: Connection, street_id: str) -> tuple[gpd.GeoDataFrame, ...]:
    """The street's roads, segments and buildings, as coverage is measured against them."""
    return (
        street_roads(conn, street_id),
        street_layer(conn, street_id, "segments"),
        street_layer(conn, street_id, "buildings"),
    )


def street_basis(
    street_id: str, inputs: tuple[gpd.GeoDataFrame, ...], within_m: float, passed_m: float
) -> Basis | None:
    """The street's basis on these inputs (None when it has no roads yet), built once per process for each."""
    roads, segments, buildings = inputs
    if roads.empty:
        return None
    key = (street_id, basis_key(roads, segments, buildings, within_m, passed_m))
    if key not in _BASES:
        if len(_BASES) >= 8:
            _BASES.pop(next(iter(_BASES)))
        _BASES[key] = basis(roads, segments, buildings, within_m=within_m, passed_m=passed_m)
    return _BASES[key]


def tracks_by_id(conn: Connection, ids: Sequence[int]) -> list[tuple[int, str, str, Track]]:
    """(id, person id, role, track) of the stored logs, oldest first."""
    sql = text(
        "SELECT t.id, t.person_id, p.role, ST_AsBinary(t.geom) AS geom, t.times FROM patrol_tracks t "
        "JOIN people p ON p.id = t.person_id WHERE t.id = ANY(:ids) ORDER BY t.started_at, t.id"
    )
    rows = conn.execute(sql, {"ids": list(ids)}).all()
    return [(r.id, r.person_id, r.role, Track.stored(shapely.from_wkb(r.geom), r.times)) for r in rows]


def _streets_of(conn: Connection, ids: Sequence[int]) -> dict[str, list[int]]:
    """Street → the logs among ``ids`` that touch it (as the report finds a period's logs)."""
    sql = text(
        "SELECT s.id AS street, t.id FROM patrol_tracks t JOIN streets s ON ST_Intersects(t.geom, s.geom) "
        "WHERE t.id = ANY(:ids) ORDER BY s.id, t.id"
    )
    out: dict[str, list[int]] = {}
    for r in conn.execute(sql, {"ids": list(ids)}):
        out.setdefault(r.street, []).append(r.id)
    return out


def _multirange(runs: Iterable[tuple[int, int]]) -> str:
    return "{" + ",".join(f"[{lo},{hi})" for lo, hi in runs) + "}"


def _line_rows(b: Basis, kind: str, on: Measured, owner_hits: dict, person_of: dict) -> list[dict]:
    names = b.segment_ids if kind == "segment" else None
    rows = []
    for track_id, mask in owner_hits.items():
        for line, runs in on.runs(mask).items():
            covered = sum(
                float(on.samples.length[on.first[line] + lo : on.first[line] + hi].sum()) for lo, hi in runs
            )
            rows.append(
                {
                    "t": track_id,
                    "k": kind,
                    "l": names[line] if names else str(line),
                    "p": person_of[track_id],
                    "h": _multirange(runs),
                    "m": round(covered, 1),
                }
            )
    return rows


def measure(conn: Connection, street_id: str, b: Basis, tracks: list[tuple[int, str, str, Track]]) -> int:
    """Measure the logs not yet measured on this street and basis, and write their rows; how many were."""
    done = measured_ids(conn, street_id, b.key, [t[0] for t in tracks])
    todo = [t for t in tracks if t[0] not in done]
    if not todo:
        return 0
    ids = [t[0] for t in todo]
    person_of = {t[0]: t[1] for t in todo}
    metric = metric_tracks([t[3] for t in todo], b.epsg)
    rows = _line_rows(b, "edge", b.on_edges, hits(b.on_edges, metric, ids, b.within_m), person_of)
    rows += _line_rows(b, "segment", b.on_segments, hits(b.on_segments, metric, ids, b.within_m), person_of)
    passed = [
        {"t": t, "g": b.building_ids[i]}
        for t, near in passed_by(b, metric, ids).items()
        for i in sorted(near)
    ]
    key = {"s": street_id, "b": b.key}
    now = datetime.now(UTC)
    conn.execute(
        text("INSERT INTO track_coverage_runs VALUES (:t, :s, :b, :c) ON CONFLICT DO NOTHING"),
        [{"t": t, "c": now, **key} for t in ids],
    )
    if rows:
        conn.execute(
            text(
                "INSERT INTO track_coverage (track_id, street_id, basis, kind, line, person_id, hits, covered_m) "
                "VALUES (:t, :s, :b, :k, :l, :p, CAST(:h AS int4multirange), :m) ON CONFLICT DO NOTHING"
            ),
            [{**r, **key} for r in rows],
        )
    if passed:
        conn.execute(
            text("INSERT INTO track_passed VALUES (:t, :s, :b, :g) ON CONFLICT DO NOTHING"),
            [{**r, **key} for r in passed],
        )
    return len(todo)


def check_joint(conn: Connection, tracks: list[tuple[int, str, str, Track]]) -> None:
    """Find when each new worker's log and official's log stayed together, against each other and against
    the logs checked before, and mark the new ones checked in their role."""
    new = [t for t in tracks if t[2] in (WORKER, OFFICIAL)]
    if not new:
        return  # a chief's log walks with no one: no need to wait for the lock
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _JOINT_LOCK})
    known = set(
        conn.execute(
            text("SELECT track_id FROM track_joint_checked WHERE track_id = ANY(:ids)"),
            {"ids": [t[0] for t in new]},
        ).scalars()
    )
    new = [t for t in new if t[0] not in known]
    if not new:
        return
    lo, hi = min(t[3].started_at for t in new), max(t[3].ended_at for t in new)
    sql = text(
        "SELECT c.track_id FROM track_joint_checked c JOIN patrol_tracks t ON t.id = c.track_id "
        "WHERE c.role IN (:w, :o) AND t.started_at < :hi AND t.ended_at > :lo"
    )
    old_ids = conn.execute(sql, {"w": WORKER, "o": OFFICIAL, "lo": _utc(lo), "hi": _utc(hi)}).scalars().all()
    old = [t for t in tracks_by_id(conn, old_ids) if t[2] in (WORKER, OFFICIAL)]
    rows = _joint_rows(new, old)
    if rows:
        conn.execute(text("INSERT INTO track_joint VALUES (:w, :o, :b, :e) ON CONFLICT DO NOTHING"), rows)
    conn.execute(
        text("INSERT INTO track_joint_checked VALUES (:t, :r) ON CONFLICT DO NOTHING"),
        [{"t": t[0], "r": t[2]} for t in new],
    )


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _joint_rows(new: list, old: list) -> list[dict]:
    """Every worker × official pair with at least one new log that overlaps in time, with its stretches."""
    new_ids = {t[0] for t in new}
    every = new + [t for t in old if t[0] not in new_ids]
    officials = [t for t in every if t[2] == OFFICIAL]
    starts = np.array([t[3].started_at for t in officials])
    ends = np.array([t[3].ended_at for t in officials])
    rows = []
    for w in (t for t in every if t[2] == WORKER):
        mine = w[3]
        for i in (
            np.flatnonzero((starts < mine.ended_at) & (ends > mine.started_at)) if len(officials) else []
        ):
            o = officials[i]
            if w[0] not in new_ids and o[0] not in new_ids:
                continue  # checked when the later of the two came
            for begin, end in together(mine, o[3]):
                rows.append({"w": w[0], "o": o[0], "b": _utc(begin), "e": _utc(end)})
    return rows


def cover_tracks(conn: Connection, ids: Sequence[int], progress: Callable[[int], None] | None = None) -> None:
    """Measure stored logs on every street they touch and check them for joint walks (upload, backfill), a
    chunk of logs at a time so that memory stays bounded; ``progress`` hears each chunk's count when done."""
    inputs: dict[str, tuple[gpd.GeoDataFrame, ...]] = {}
    for at in range(0, len(ids), CHUNK):
        part = ids[at : at + CHUNK]
        tracks = {t[0]: t for t in tracks_by_id(conn, part)}
        for street_id, mine in _streets_of(conn, part).items():
            if street_id not in inputs:
                inputs[street_id] = street_inputs(conn, street_id)
            b = street_basis(street_id, inputs[street_id], WITHIN_M, PASSED_M)
            if b is not None:
                measure(conn, street_id, b, [tracks[i] for i in mine])
        check_joint(conn, list(tracks.values()))
        if progress:
            progress(len(part))


def backfill(conn: Connection, progress: Callable[[int], None] | None = None) -> int:
    """Measure every stored log (the migration that brought these tables in), oldest first so that each
    chunk's joint check reads few logs before it; how many there were."""
    ids = conn.execute(text("SELECT id FROM patrol_tracks ORDER BY started_at, id")).scalars().all()
    cover_tracks(conn, ids, progress)
    return len(ids)


# -- reading for a period ------------------------------------------------------------------------------


def measured_ids(conn: Connection, street_id: str, key: str, ids: Sequence[int]) -> set[int]:
    """Which of the logs were measured on the street against this basis."""
    sql = text(
        "SELECT track_id FROM track_coverage_runs WHERE street_id = :s AND basis = :b AND track_id = ANY(:ids)"
    )
    return set(conn.execute(sql, {"s": street_id, "b": key, "ids": list(ids)}).scalars())


def union_runs(
    conn: Connection, street_id: str, key: str, ids: Sequence[int]
) -> list[tuple[str, str, str | None, list[tuple[int, int]]]]:
    """(kind, line, person or None for everyone, runs) of the union of the logs' kept samples."""
    sql = text(
        "SELECT kind, line, person_id, CAST(range_agg(hits) AS text) AS runs FROM track_coverage "
        "WHERE street_id = :s AND basis = :b AND track_id = ANY(:ids) "
        "GROUP BY GROUPING SETS ((kind, line), (kind, line, person_id))"
    )
    rows = conn.execute(sql, {"s": street_id, "b": key, "ids": list(ids)}).all()
    return [(r.kind, r.line, r.person_id, [(int(a), int(z)) for a, z in _RUN.findall(r.runs)]) for r in rows]


def passed_buildings(conn: Connection, street_id: str, key: str, ids: Sequence[int]) -> set[str]:
    """The buildings any of the logs came near."""
    sql = text(
        "SELECT DISTINCT building_id FROM track_passed WHERE street_id = :s AND basis = :b AND track_id = ANY(:ids)"
    )
    return set(conn.execute(sql, {"s": street_id, "b": key, "ids": list(ids)}).scalars())


def joint_checked(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    """Log → the role it was checked for joint walks in."""
    sql = text("SELECT track_id, role FROM track_joint_checked WHERE track_id = ANY(:ids)")
    return {r.track_id: r.role for r in conn.execute(sql, {"ids": list(ids)})}


def joint_stretches(conn: Connection, ids: Sequence[int]) -> list[tuple[int, int, float]]:
    """(worker's log, official's log, when they met in epoch seconds) among the logs."""
    sql = text(
        "SELECT worker_track_id, official_track_id, began_at FROM track_joint "
        "WHERE worker_track_id = ANY(:ids) AND official_track_id = ANY(:ids)"
    )
    return [(r[0], r[1], r[2].timestamp()) for r in conn.execute(sql, {"ids": list(ids)})]
