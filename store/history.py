"""Incident history in bulk: a year of demo cases (and, in time, a hotline's archive) stored in a few set-based
statements instead of one round trip per incident, event and summons."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, text

_TIMES = "reported_at accepted_at resolved_at closed_at response_due completion_due due_at rated_at".split()
# The incident columns a history carries, in order, and the array type each travels as.
INCIDENT_COLUMNS = (
    "id category_code description channel reporter_name reporter_phone street_id community_id grid_id"
    " building_id segment_id chief_id worker_id tier status assignee_kind assignee_id reported_at accepted_at"
    " resolved_at closed_at response_due completion_due due_at escalations rating rated_at rated_by"
).split()
_TYPES = {"id": "bigint", "escalations": "int", "rating": "smallint", **dict.fromkeys(_TIMES, "timestamptz")}


def reserve_incident_ids(conn: Connection, n: int) -> list[int]:
    """``n`` new incident ids from the table's own sequence, so live reports never collide with them."""
    sql = text("SELECT nextval('incidents_id_seq') FROM generate_series(1, :n)")
    return list(conn.execute(sql, {"n": n}).scalars())


def insert_incidents(conn: Connection, columns: dict[str, list], lon: list[float], lat: list[float]) -> None:
    """One row per position of the ``INCIDENT_COLUMNS`` lists, at WGS-84 (lon, lat)."""
    unnest = ", ".join(f"CAST(:{c} AS {_TYPES.get(c, 'text')}[])" for c in INCIDENT_COLUMNS)
    names = ", ".join(INCIDENT_COLUMNS)
    conn.execute(
        text(f"""
        INSERT INTO incidents ({names}, input_location, geom)
        SELECT {", ".join(f"u.{c}" for c in INCIDENT_COLUMNS)},
               jsonb_build_object('lon', u.lon, 'lat', u.lat, 'crs', 'wgs84'),
               ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326)
        FROM unnest({unnest}, CAST(:lon AS float8[]), CAST(:lat AS float8[])) AS u({names}, lon, lat)
    """),  # noqa: S608 (column names are ours; values bound)
        {**columns, "lon": lon, "lat": lat},
    )


def insert_events(conn: Connection, events: dict[str, list]) -> None:
    """Events as columns: incident ids, times, actors, roles, actions, from and to statuses, JSON data."""
    conn.execute(
        text("""
        INSERT INTO incident_events (incident_id, at, actor, role, action, from_status, to_status, data)
        SELECT * FROM unnest(CAST(:incident AS bigint[]), CAST(:at AS timestamptz[]), CAST(:actor AS text[]),
                             CAST(:role AS text[]), CAST(:action AS text[]), CAST(:from_status AS text[]),
                             CAST(:to_status AS text[]), CAST(:data AS jsonb[]))"""),
        events,
    )


def insert_summons(
    conn: Connection,
    incident: list[int],
    department: list[str],
    summoned_at: list[datetime],
    limit_min: list[int],
    reported_at: list[datetime | None],
) -> None:
    """Summons as columns; each falls due its department's report limit after it was made."""
    conn.execute(
        text("""
        INSERT INTO summons (incident_id, department_code, summoned_at, due_at, reported_at, reported_by)
        SELECT i, d, s, s + make_interval(mins => m), r, d FROM unnest(CAST(:i AS bigint[]), CAST(:d AS text[]),
            CAST(:s AS timestamptz[]), CAST(:m AS int[]), CAST(:r AS timestamptz[])) AS u(i, d, s, m, r)"""),
        {"i": incident, "d": department, "s": summoned_at, "m": limit_min, "r": reported_at},
    )
