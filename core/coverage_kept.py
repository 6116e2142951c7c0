"""What a period's logs walked on a street, from the coverage kept per log at upload (``store.track_coverage``)
with only the rest matched now: a log cut by the period's ends, one not yet measured against the street's
current basis (roads or buildings changed, other distances asked), and joint walks not yet checked.

Kept runs and fresh matches are unions of samples, so mixing them gives exactly what matching every log
of the period at once gives (``tests/core/coverage_oracle.py`` is that older path, kept as the test's oracle).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Connection

from geo.coverage import Basis, Measured, hits, metric_tracks, passed_by
from geo.heat import time_keys
from geo.tracks import Track, Walked, together
from store import track_coverage as kept
from store.tracks import period_tracks

EDGE_MARGIN = timedelta(seconds=1)  # a log this close to the period's ends is cut here, not trusted whole


@dataclass
class Log:
    """One log of the period: whose, their role, and the log cut to the period when it was read."""

    id: int
    person: str
    role: str
    started_at: datetime
    ended_at: datetime
    track: Track | None = None


@dataclass(frozen=True)
class Walks:
    """A street's period: its basis, the shares walked, the buildings passed and the joint walks."""

    basis: Basis
    on_edges: Walked
    on_segments: Walked
    was_passed: np.ndarray  # per building of the basis, in its order
    tracks_of: dict[str, int]  # logs per person
    joint: dict[str, dict[int, set[int]]]  # worker → week → Beijing days an official walked with them

    @property
    def lengths(self) -> np.ndarray:
        return self.basis.lengths


def period_logs(
    conn: Connection, start: datetime, end: datetime, area_wkt: str, key: str | None, street_id: str
) -> tuple[list[Log], list[Log]]:
    """The period's logs on the street: those kept whole (measured on ``key``) and those read and cut now."""
    rows = [
        Log(r.id, r.person_id, r.role, r.started_at, r.ended_at)
        for r in period_tracks(conn, start, end, area_wkt)
    ]
    whole = [r for r in rows if r.started_at >= start + EDGE_MARGIN and r.ended_at < end - EDGE_MARGIN]
    done = kept.measured_ids(conn, street_id, key, [r.id for r in whole]) if key else set()
    kept_logs = [r for r in whole if r.id in done]
    live = [r for r in rows if r.id not in done]
    read = {t[0]: t[3] for t in kept.tracks_by_id(conn, [r.id for r in live])}
    for r in live:
        r.track = read[r.id].clipped(start.timestamp(), end.timestamp())
    return kept_logs, [r for r in live if r.track is not None]


def _walked(
    on: Measured,
    kind: str,
    line_of: dict[str, int],
    runs: list,
    live: list[Log],
    metric: np.ndarray,
    within_m: float,
) -> Walked:
    """Kept runs of one kind of line unioned with the live logs' hits: the share by anyone and by person."""
    everyone: dict[int, Sequence[tuple[int, int]]] = {}
    by_person: dict[str, dict[int, Sequence[tuple[int, int]]]] = {}
    for k, line, person, pairs in runs:
        if k == kind:
            (everyone if person is None else by_person.setdefault(person, {}))[line_of[line]] = pairs
    masks = {p: on.mask(r) for p, r in by_person.items()}
    for person, hit in hits(on, metric, [r.person for r in live], within_m).items():
        masks[person] = masks[person] | hit if person in masks else hit
    anyone = on.mask(everyone)
    for hit in masks.values():
        anyone |= hit
    return Walked(on.share(anyone), {p: on.share(m) for p, m in masks.items()})


def walks(
    conn: Connection,
    b: Basis,
    street_id: str,
    logs: tuple[list[Log], list[Log]],
    officials: set[str],
    workers: set[str],
) -> Walks:
    """Everything the report needs of the period's logs, from kept rows and fresh matches."""
    kept_logs, live = logs
    ids = [r.id for r in kept_logs]
    runs = kept.union_runs(conn, street_id, b.key, ids)
    metric = metric_tracks([r.track for r in live if r.track is not None], b.epsg)
    edge_of = {str(i): i for i in range(len(b.edges))}
    seg_of = {s: i for i, s in enumerate(b.segment_ids)}
    passed = kept.passed_buildings(conn, street_id, b.key, ids)
    index = {g: i for i, g in enumerate(b.building_ids)}
    was_passed = np.zeros(len(b.building_ids), dtype=bool)
    was_passed[[index[g] for g in passed if g in index]] = True
    for near in passed_by(b, metric, list(range(len(live)))).values():
        was_passed[list(near)] = True
    tracks_of: dict[str, int] = {}
    for r in kept_logs + live:
        tracks_of[r.person] = tracks_of.get(r.person, 0) + 1
    return Walks(
        basis=b,
        on_edges=_walked(b.on_edges, "edge", edge_of, runs, live, metric, b.within_m),
        on_segments=_walked(b.on_segments, "segment", seg_of, runs, live, metric, b.within_m),
        was_passed=was_passed,
        tracks_of=tracks_of,
        joint=_joint(conn, kept_logs, live, officials, workers),
    )


def _joint(
    conn: Connection, kept_logs: list[Log], live: list[Log], officials: set[str], workers: set[str]
) -> dict[str, dict[int, set[int]]]:
    """Worker → week → days an official walked with them: kept pairs where both logs were checked in the role
    they hold now, the other pairs matched now."""
    mine = [r for r in kept_logs + live if r.person in workers]
    theirs = [r for r in kept_logs + live if r.person in officials]
    checked = kept.joint_checked(conn, [r.id for r in kept_logs])
    trusted = {r.id for r in mine if checked.get(r.id) == kept.WORKER}
    trusted |= {r.id for r in theirs if checked.get(r.id) == kept.OFFICIAL}
    met = [(w, b) for w, o, b in kept.joint_stretches(conn, sorted(trusted)) if o in trusted]
    person = {r.id: r.person for r in mine}
    fresh = [(w, o) for w in mine for o in theirs if (w.id not in trusted or o.id not in trusted)]
    fresh = [
        (w, o)
        for w, o in fresh
        if w.started_at < o.ended_at + EDGE_MARGIN and o.started_at < w.ended_at + EDGE_MARGIN
    ]
    if fresh:
        need = {r.id for pair in fresh for r in pair if r.track is None}
        read = {t[0]: t[3] for t in kept.tracks_by_id(conn, sorted(need))}
        for w, o in fresh:
            for begin, _end in together(w.track or read[w.id], o.track or read[o.id]):
                met.append((w.id, begin))
    out: dict[str, dict[int, set[int]]] = {}
    if met:
        stamps = np.array([int(b) for _, b in met], dtype="datetime64[s]")
        weeks, days = time_keys(stamps, "week"), time_keys(stamps, "day")
        for (track_id, _), week, day in zip(met, weeks, days, strict=True):
            out.setdefault(person[track_id], {}).setdefault(int(week), set()).add(int(day))
    return out
