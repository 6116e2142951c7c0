"""Patrol logs in the database: a GPS file in, cleaned and stored against a person; tracks out by period."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import shapely
from sqlalchemy import Connection, text

from geo.coords import COORD_SYSTEMS
from geo.tracks import Track, TrackError, clean, read_points

SERVICE_AREA_MARGIN_M = 200.0
MAX_TRACK_POINTS = 200_000


def _stamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def import_track(
    conn: Connection, person_id: str, data: bytes, fmt: str, crs: str = "wgs84", *, uploaded_by: str
) -> dict:
    """Read, clean and store one log; refuse an unknown person or a track that never enters the service area."""
    if crs not in COORD_SYSTEMS:
        raise TrackError(f"crs must be one of {', '.join(COORD_SYSTEMS)}, got {crs!r}")
    if conn.execute(text("SELECT 1 FROM people WHERE id = :p"), {"p": person_id}).first() is None:
        raise TrackError(f"no person {person_id!r}")
    points = read_points(data, fmt)
    if len(points) > MAX_TRACK_POINTS:
        raise TrackError(
            f"a track may hold at most {MAX_TRACK_POINTS:,} points, this one has {len(points):,}"
        )
    return store_track(conn, person_id, clean(points, crs), fmt, crs, uploaded_by=uploaded_by)


def store_track(
    conn: Connection, person_id: str, track: Track, fmt: str, crs: str, *, uploaded_by: str
) -> dict:
    """Store a cleaned log, unless it never comes near the service area (a wrong crs, most likely)."""
    wkt = track.geometry().wkt
    inside = conn.execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM streets WHERE ST_DWithin(geom::geography, "
            "ST_GeomFromText(:g, 4326)::geography, :m))"
        ),
        {"g": wkt, "m": SERVICE_AREA_MARGIN_M},
    ).scalar_one()
    if not inside:
        raise TrackError("the track never comes within the service area: check its coordinate system (crs)")
    row = conn.execute(
        text(
            "INSERT INTO patrol_tracks (person_id, started_at, ended_at, source_format, source_crs, geom, times, "
            "report, uploaded_by) VALUES (:p, :s, :e, :f, :c, ST_GeomFromText(:g, 4326), :t, CAST(:r AS jsonb), :u) "
            "RETURNING id, uploaded_at"
        ),
        {
            "p": person_id,
            "s": _stamp(track.started_at),
            "e": _stamp(track.ended_at),
            "f": fmt,
            "c": crs,
            "g": wkt,
            "t": track.times(),
            "r": json.dumps(track.report),
            "u": uploaded_by,
        },
    ).one()
    return {
        "id": row.id,
        "person_id": person_id,
        "started_at": _stamp(track.started_at).isoformat(),
        "ended_at": _stamp(track.ended_at).isoformat(),
        "uploaded_at": row.uploaded_at.isoformat(),
        "cleaning": track.report,
    }


def tracks_between(
    conn: Connection, start: datetime, end: datetime, area_wkt: str
) -> list[tuple[str, str, Track]]:
    """(person id, role, track clipped to [start, end)) for every log that touches the area in the period."""
    rows = conn.execute(
        text(
            "SELECT t.person_id, p.role, ST_AsBinary(t.geom) AS geom, t.times FROM patrol_tracks t "
            "JOIN people p ON p.id = t.person_id "
            "WHERE t.started_at < :e AND t.ended_at >= :s AND ST_Intersects(t.geom, ST_GeomFromText(:a, 4326)) "
            "ORDER BY t.started_at, t.id"
        ),
        {"s": start, "e": end, "a": area_wkt},
    )
    out = []
    for r in rows:
        track = Track.stored(shapely.from_wkb(r.geom), r.times).clipped(start.timestamp(), end.timestamp())
        if track is not None:
            out.append((r.person_id, r.role, track))
    return out
