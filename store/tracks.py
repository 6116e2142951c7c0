"""Patrol logs in the database: whose a log may be, whether it comes near the service area, storing one,
and reading those that touch an area in a period."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, Row, text

from geo.tracks import Track


def utc(seconds: float) -> datetime:
    """A track's time (seconds since the epoch) as the UTC instant it is stored as."""
    return datetime.fromtimestamp(seconds, tz=UTC)


def near_service_area(conn: Connection, wkt: str, margin_m: float) -> bool:
    """Whether a WGS-84 geometry comes within ``margin_m`` metres of any street."""
    sql = text(
        "SELECT EXISTS (SELECT 1 FROM streets WHERE ST_DWithin(geom::geography, "
        "ST_GeomFromText(:g, 4326)::geography, :m))"
    )
    return bool(conn.execute(sql, {"g": wkt, "m": margin_m}).scalar_one())


def insert_track(
    conn: Connection, person_id: str, track: Track, *, wkt: str, fmt: str, crs: str, uploaded_by: str
) -> Row:
    """Store one cleaned log (``wkt``: its geometry, already written out); its id and upload time."""
    sql = text(
        "INSERT INTO patrol_tracks (person_id, started_at, ended_at, source_format, source_crs, geom, times, "
        "report, uploaded_by) VALUES (:p, :s, :e, :f, :c, ST_GeomFromText(:g, 4326), :t, CAST(:r AS jsonb), :u) "
        "RETURNING id, uploaded_at"
    )
    params = {
        "p": person_id,
        "s": utc(track.started_at),
        "e": utc(track.ended_at),
        "f": fmt,
        "c": crs,
        "g": wkt,
        "t": track.times(),
        "r": json.dumps(track.report),
        "u": uploaded_by,
    }
    return conn.execute(sql, params).one()


def tracks_touching(conn: Connection, start: datetime, end: datetime, area_wkt: str) -> Sequence[Row]:
    """(person_id, role, geom as WKB, times) of every log overlapping [start, end) that touches the area,
    oldest first."""
    sql = text(
        "SELECT t.person_id, p.role, ST_AsBinary(t.geom) AS geom, t.times FROM patrol_tracks t "
        "JOIN people p ON p.id = t.person_id "
        "WHERE t.started_at < :e AND t.ended_at >= :s AND ST_Intersects(t.geom, ST_GeomFromText(:a, 4326)) "
        "ORDER BY t.started_at, t.id"
    )
    return conn.execute(sql, {"s": start, "e": end, "a": area_wkt}).all()


def any_track(conn: Connection) -> bool:
    """Whether any patrol log is stored at all (the demo loads its week once)."""
    return conn.execute(text("SELECT EXISTS (SELECT 1 FROM patrol_tracks)")).scalar_one()


def period_tracks(conn: Connection, start: datetime, end: datetime, area_wkt: str) -> Sequence[Row]:
    """(id, person_id, role, started_at, ended_at) of every log overlapping [start, end) that touches the
    area, oldest first: ``tracks_touching`` without the geometry, for a report that reads kept coverage."""
    sql = text(
        "SELECT t.id, t.person_id, p.role, t.started_at, t.ended_at FROM patrol_tracks t "
        "JOIN people p ON p.id = t.person_id "
        "WHERE t.started_at < :e AND t.ended_at >= :s AND ST_Intersects(t.geom, ST_GeomFromText(:a, 4326)) "
        "ORDER BY t.started_at, t.id"
    )
    return conn.execute(sql, {"s": start, "e": end, "a": area_wkt}).all()
