"""Patrol logs: a GPS file in, cleaned and stored against a person; tracks out by period.

The statements are ``store.tracks``'s; times are stored in UTC and shown in Beijing time with the offset.
"""

from __future__ import annotations

from datetime import datetime

import shapely
from sqlalchemy import Connection

from core.errors import NotFound, Unprocessable
from core.vocabulary import COORD_SYSTEMS, beijing_iso
from geo.tracks import Track, TrackError, clean, read_points
from store import tracks as stored
from store.hierarchy import person_exists
from store.track_coverage import cover_tracks, tracks_by_id

SERVICE_AREA_MARGIN_M = 200.0
MAX_TRACK_POINTS = 200_000


def import_track(
    conn: Connection, person_id: str, data: bytes, fmt: str, crs: str = "wgs84", *, uploaded_by: str
) -> dict:
    """Read, clean and store one log; refuse an unknown person (404) or a file that cannot be a track here:
    an unknown coordinate system, too many points, a track that never enters the service area (422)."""
    if crs not in COORD_SYSTEMS:
        raise Unprocessable(f"crs must be one of {', '.join(COORD_SYSTEMS)}, got {crs!r}")
    if not person_exists(conn, person_id):
        raise NotFound(f"no person {person_id!r}")
    try:
        points = read_points(data, fmt)
        if len(points) > MAX_TRACK_POINTS:
            raise Unprocessable(
                f"a track may hold at most {MAX_TRACK_POINTS:,} points, this one has {len(points):,}"
            )
        track = clean(points, crs)
    except TrackError as exc:
        raise Unprocessable(str(exc)) from None
    return store_track(conn, person_id, track, fmt, crs, uploaded_by=uploaded_by)


def store_track(
    conn: Connection,
    person_id: str,
    track: Track,
    fmt: str,
    crs: str,
    *,
    uploaded_by: str,
    measure: bool = True,
) -> dict:
    """Store a cleaned log, unless it never comes near the service area (a wrong crs, most likely), and
    measure its coverage once, now, so period reports only union kept rows (``measure=False``: the caller
    measures many logs at once with ``store.track_coverage.cover_tracks``)."""
    wkt = track.geometry().wkt
    if not stored.near_service_area(conn, wkt, SERVICE_AREA_MARGIN_M):
        raise Unprocessable(
            "the track never comes within the service area: check its coordinate system (crs)"
        )
    row = stored.insert_track(conn, person_id, track, wkt=wkt, fmt=fmt, crs=crs, uploaded_by=uploaded_by)
    if measure:
        cover_tracks(conn, [row.id])
    return {
        "id": row.id,
        "person_id": person_id,
        "started_at": beijing_iso(stored.utc(track.started_at)),
        "ended_at": beijing_iso(stored.utc(track.ended_at)),
        "uploaded_at": beijing_iso(row.uploaded_at),
        "cleaning": track.report,
    }


def tracks_between(
    conn: Connection, start: datetime, end: datetime, area_wkt: str
) -> list[tuple[str, str, Track]]:
    """(person id, role, track clipped to [start, end)) for every log that touches the area in the period."""
    out = []
    for r in stored.tracks_touching(conn, start, end, area_wkt):
        track = Track.stored(shapely.from_wkb(r.geom), r.times).clipped(start.timestamp(), end.timestamp())
        if track is not None:
            out.append((r.person_id, r.role, track))
    return out


def recent_tracks(
    conn: Connection, start: datetime, end: datetime, area_wkt: str, n: int
) -> list[tuple[str, str, Track]]:
    """The last ``n`` of ``tracks_between``'s answer, reading only those logs (a page draws no more)."""
    rows = stored.period_tracks(conn, start, end, area_wkt)
    cut = sum(1 for r in rows if r.started_at < start or r.ended_at >= end)  # a cut log may have nothing left
    wanted = rows[-(n + cut) :] if n + cut else []
    read = {t[0]: t[1:] for t in tracks_by_id(conn, [r.id for r in wanted])}
    out = []
    for r in wanted:
        person, role, track = read[r.id]
        clipped = track.clipped(start.timestamp(), end.timestamp())
        if clipped is not None:
            out.append((person, role, clipped))
    return out[-n:] if n else []
