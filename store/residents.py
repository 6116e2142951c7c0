"""The residents' register in SQL: households, residents and their special groups, visits, the access log.

Sealed columns (``*_sealed``, ``id_number_mac``) travel as bytes the caller sealed; nothing here sees a
plain ID-card number or phone. An area is ``(kind, id)`` with kind ``grid``, ``community`` or ``street``
(None: the whole district); its column name comes from ``_AREA_COLUMNS``, never from a request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection, insert, text

from store import models

Area = tuple[str, str | None] | None
_AREA_COLUMNS = {"grid": "b.grid_id", "community": "g.community_id", "street": "c.street_id"}
_UP = """JOIN buildings b ON b.id = h.building_id JOIN grids g ON g.id = b.grid_id
    JOIN communities c ON c.id = g.community_id"""
_PLACE = f"households h {_UP}"
_RESIDENTS = f"""
    SELECT r.id, r.name, r.sex, r.birth_year, r.relation, r.phone_sealed, r.id_number_sealed,
           r.created_at, r.updated_at, h.id AS household_id, h.unit, h.room, b.id AS building_id,
           b.name AS building_name, b.grid_id, g.community_id, c.street_id,
           COALESCE((SELECT array_agg(rg.group_code ORDER BY rg.group_code) FROM resident_groups rg
                     WHERE rg.resident_id = r.id), '{{}}') AS groups
    FROM residents r JOIN households h ON h.id = r.household_id {_UP}"""  # noqa: S608 (our own joins)


def _area(area: Area, params: dict[str, Any], grid_column: str = "b.grid_id") -> str:
    """The SQL condition of an area; ``grid_column`` where the grid is named other than by a building."""
    if area is None:
        return "TRUE"
    params["area"] = area[1]
    return f"{grid_column if area[0] == 'grid' else _AREA_COLUMNS[area[0]]} = :area"


# ---- places and the catalogue -----------------------------------------------------------------


def building_place(conn: Connection, building_id: str) -> dict | None:
    """A building with its grid, community and street; None if unknown."""
    row = conn.execute(
        text(
            "SELECT b.id, b.name, b.grid_id, g.community_id, c.street_id FROM buildings b "
            "JOIN grids g ON g.id = b.grid_id JOIN communities c ON c.id = g.community_id WHERE b.id = :b"
        ),
        {"b": building_id},
    ).mappings()
    found = row.first()
    return dict(found) if found else None


def grid_buildings(conn: Connection, grid_id: str) -> list[dict]:
    """The buildings of a current grid (id, name), to resolve an imported row's building by id or name."""
    sql = text(
        "SELECT b.id, b.name FROM buildings b JOIN grids g ON g.id = b.grid_id "
        "WHERE b.grid_id = :g AND g.valid_to IS NULL ORDER BY b.id"
    )
    return [dict(r) for r in conn.execute(sql, {"g": grid_id}).mappings()]


def household_place(conn: Connection, household_id: int) -> dict | None:
    row = conn.execute(
        text(
            f"SELECT h.id, h.building_id, b.grid_id, g.community_id, c.street_id FROM {_PLACE} "  # noqa: S608
            "WHERE h.id = :h"
        ),
        {"h": household_id},
    ).mappings()
    found = row.first()
    return dict(found) if found else None


def special_groups(conn: Connection) -> list[dict]:
    sql = text("SELECT code, name_zh, name_en, visit_days, active FROM special_groups ORDER BY code")
    return [dict(r) for r in conn.execute(sql).mappings()]


def put_special_group(conn: Connection, group: dict) -> None:
    conn.execute(
        text("""
        INSERT INTO special_groups (code, name_zh, name_en, visit_days, active)
        VALUES (:code, :name_zh, :name_en, :visit_days, :active)
        ON CONFLICT (code) DO UPDATE SET name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en,
            visit_days = EXCLUDED.visit_days, active = EXCLUDED.active"""),
        group,
    )


# ---- writing the register ---------------------------------------------------------------------


def ensure_households(conn: Connection, rooms: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], int]:
    """The household id of each (building, unit, room), made where missing, in one statement each way."""
    keys = sorted(set(rooms))
    params = {"b": [k[0] for k in keys], "u": [k[1] for k in keys], "r": [k[2] for k in keys]}
    conn.execute(
        text("""
        INSERT INTO households (building_id, unit, room)
        SELECT * FROM unnest(CAST(:b AS text[]), CAST(:u AS text[]), CAST(:r AS text[]))
        ON CONFLICT ON CONSTRAINT households_one_per_room DO NOTHING"""),
        params,
    )
    rows = conn.execute(
        text("""
        SELECT h.building_id, h.unit, h.room, h.id FROM households h
        JOIN unnest(CAST(:b AS text[]), CAST(:u AS text[]), CAST(:r AS text[])) k(b, u, r)
          ON h.building_id = k.b AND h.unit = k.u AND h.room = k.r"""),
        params,
    ).all()
    return {(r[0], r[1], r[2]): r[3] for r in rows}


def insert_residents(conn: Connection, records: list[dict]) -> list[int]:
    """New residents (columns of ``models.Resident``), their ids in the order given."""
    if not records:
        return []
    columns = set().union(*records)  # a row that left a field out stores it empty, as its neighbours do
    stmt = insert(models.Resident).returning(models.Resident.id, sort_by_parameter_order=True)
    return [r[0] for r in conn.execute(stmt, [{c: r.get(c) for c in columns} for r in records])]


def update_resident(conn: Connection, resident_id: int, changes: dict) -> None:
    """Set the given columns (names from ``models.Resident``, checked by the caller's model)."""
    columns = [c for c in changes if c in models.Resident.__table__.columns]
    sets = ", ".join(f"{c} = :{c}" for c in columns)
    conn.execute(
        text(f"UPDATE residents SET {sets} WHERE id = :rid"),  # noqa: S608 (names from the model)
        {**{c: changes[c] for c in columns}, "rid": resident_id},
    )


def set_groups(conn: Connection, resident_id: int, codes: list[str], since: datetime) -> None:
    """The resident's tags become ``codes``; a tag kept keeps its ``since``, so its visits stay due."""
    conn.execute(
        text("DELETE FROM resident_groups WHERE resident_id = :r AND group_code <> ALL(:c)"),
        {"r": resident_id, "c": codes},
    )
    add_groups(conn, [(resident_id, c) for c in codes], since)


def add_groups(conn: Connection, pairs: list[tuple[int, str]], since: datetime) -> None:
    if pairs:
        conn.execute(
            text("""
            INSERT INTO resident_groups (resident_id, group_code, since)
            SELECT r, c, :s FROM unnest(CAST(:r AS bigint[]), CAST(:c AS text[])) AS k(r, c)
            ON CONFLICT DO NOTHING"""),
            {"r": [p[0] for p in pairs], "c": [p[1] for p in pairs], "s": since},
        )


def known_macs(conn: Connection, macs: list[bytes]) -> set[bytes]:
    """Which of these ID-number hashes the register already holds."""
    sql = text("SELECT id_number_mac FROM residents WHERE id_number_mac = ANY(:m)")
    return {bytes(r[0]) for r in conn.execute(sql, {"m": macs})}


# ---- reading the register ---------------------------------------------------------------------


def resident_rows(
    conn: Connection,
    area: Area,
    *,
    resident_id: int | None = None,
    mac: bytes | None = None,
    filters: dict[str, Any] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict]:
    """Residents within ``area`` (sealed columns as stored), by id, by ID-number hash or by filters:
    ``grid``, ``building``, ``household``, ``group``."""
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    where = _resident_where(area, {"rid": resident_id, "mac": mac, **(filters or {})}, params)
    sql = f"{_RESIDENTS} WHERE {where} ORDER BY r.id LIMIT :limit OFFSET :offset"
    return [dict(r) for r in conn.execute(text(sql), params).mappings()]


def count_residents(conn: Connection, area: Area, filters: dict[str, Any]) -> int:
    """How many residents ``resident_rows`` with these filters matches, every page together."""
    params: dict[str, Any] = {}
    where = _resident_where(area, filters, params)
    # Our own joins and clauses; every value is bound.
    sql = f"SELECT count(*) FROM residents r JOIN households h ON h.id = r.household_id {_UP} WHERE {where}"  # noqa: S608
    return conn.execute(text(sql), params).scalar_one()


_RESIDENT_FILTERS = {
    "rid": "r.id = :rid",
    "mac": "r.id_number_mac = :mac",
    "grid": "b.grid_id = :grid",
    "building": "b.id = :building",
    "household": "h.id = :household",
    "group": "EXISTS (SELECT 1 FROM resident_groups x WHERE x.resident_id = r.id AND x.group_code = :group)",
}


def _resident_where(area: Area, wanted: dict[str, Any], params: dict[str, Any]) -> str:
    where = [_area(area, params)]
    for key, value in wanted.items():
        if value is not None:
            where.append(_RESIDENT_FILTERS[key])
            params[key] = value
    return " AND ".join(where)


def log_access(
    conn: Connection,
    ids: list[int],
    action: str,
    *,
    actor: str,
    role: str | None,
    token_id: int | None,
    at: datetime,
) -> None:
    """One access-log row per resident read, in one statement."""
    if ids:
        conn.execute(
            text("""
            INSERT INTO resident_access_log (resident_id, action, actor, role, token_id, at)
            SELECT i, :a, :actor, :role, :tok, :at FROM unnest(CAST(:ids AS bigint[])) AS i"""),
            {"ids": ids, "a": action, "actor": actor, "role": role, "tok": token_id, "at": at},
        )


_ACCESS_WHERE = """
    WHERE at >= :s AND at < :u AND (CAST(:r AS bigint) IS NULL OR resident_id = :r)
      AND (CAST(:actor AS text) IS NULL OR actor = :actor)"""


def access_rows(
    conn: Connection,
    *,
    resident_id: int | None,
    actor: str | None,
    since: datetime,
    until: datetime,
    limit: int,
    offset: int,
) -> tuple[list[dict], int]:
    """A page of the access log in time order, and how many entries the filters match in all."""
    params = {"r": resident_id, "actor": actor, "s": since, "u": until, "l": limit, "o": offset}
    columns = "id, resident_id, action, actor, role, token_id, at"
    page = f"SELECT {columns} FROM resident_access_log {_ACCESS_WHERE} ORDER BY at, id LIMIT :l OFFSET :o"  # noqa: S608
    rows = [dict(r) for r in conn.execute(text(page), params).mappings()]
    total = conn.execute(text(f"SELECT count(*) FROM resident_access_log {_ACCESS_WHERE}"), params)  # noqa: S608
    return rows, total.scalar_one()


# ---- visits -----------------------------------------------------------------------------------


_VISIT = """
    INSERT INTO resident_visits (household_id, person_id, visited_at, note, geom, recorded_by, recorded_at)
    VALUES (:household_id, :person_id, :visited_at, :note,
            CASE WHEN CAST(:lon AS float8) IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) END,
            :recorded_by, :recorded_at)"""


def insert_visit(conn: Connection, visit: dict) -> int:
    """A visit (household_id, person_id, visited_at, note, lon, lat, recorded_by, recorded_at)."""
    return conn.execute(text(_VISIT + " RETURNING id"), visit).scalar_one()


def insert_visits(conn: Connection, visits: list[dict]) -> None:
    """Many visits at once (the demo's year), each as for ``insert_visit``."""
    if visits:
        conn.execute(text(_VISIT), visits)


def visit_counts(conn: Connection, street_id: str, since: datetime, until: datetime) -> dict[str, dict]:
    """Household visits each person recorded in a street's grids in [since, until), and how many of them
    carry the GPS point of where they were made (for the street's patrol report)."""
    sql = text(f"""
        SELECT v.person_id, count(*) AS visits, count(v.geom) AS located
        FROM resident_visits v JOIN households h ON h.id = v.household_id {_UP}
        WHERE c.street_id = :s AND v.visited_at >= :a AND v.visited_at < :b AND v.person_id IS NOT NULL
        GROUP BY v.person_id""")  # noqa: S608 (our own joins)
    rows = conn.execute(sql, {"s": street_id, "a": since, "b": until}).mappings()
    return {r["person_id"]: {"visits": r["visits"], "located": r["located"]} for r in rows}


def unregistered_buildings(conn: Connection, community: str | None) -> pd.DataFrame:
    """Buildings of current grids (of one community, or all) that the register holds no household of, with
    their grid's worker and street: where a demo register may be drawn."""
    sql = text("""
        SELECT b.id, b.households, b.floors, b.units, b.grid_id, c.street_id,
               (SELECT p.id FROM people p WHERE p.grid_id = b.grid_id AND p.role = 'grid_worker'
                ORDER BY p.id LIMIT 1) AS worker_id
        FROM buildings b JOIN grids g ON g.id = b.grid_id AND g.valid_to IS NULL
        JOIN communities c ON c.id = g.community_id
        WHERE (CAST(:c AS text) IS NULL OR g.community_id = :c)
          AND NOT EXISTS (SELECT 1 FROM households h WHERE h.building_id = b.id)
        ORDER BY b.id""")
    return pd.read_sql(sql, conn, params={"c": community})


def overdue_rows(
    conn: Connection, area: Area, now: datetime, *, grid: str | None, worker: str | None
) -> list[dict]:
    """Households whose plan's visit is past due at ``now``: the shortest interval among their members'
    groups, counted from the last visit before ``now`` (or, never visited, from when they were tagged)."""
    sql, params = _overdue_sql(area, now, grid, worker)
    return [dict(r) for r in conn.execute(text(sql), params).mappings()]


def overdue_counts(conn: Connection, now: datetime) -> dict[str, int]:
    """How many households each grid worker has overdue at ``now`` (counted in SQL, for the scores)."""
    sql, params = _overdue_sql(None, now, None, None)
    counted = f"SELECT worker_id, count(*) FROM ({sql}) o WHERE worker_id IS NOT NULL GROUP BY worker_id"  # noqa: S608
    return dict(conn.execute(text(counted), params).all())


def _overdue_sql(area: Area, now: datetime, grid: str | None, worker: str | None) -> tuple[str, dict]:
    params: dict[str, Any] = {"now": now, "grid": grid, "worker": worker}
    sql = f"""
        WITH plan AS (
            SELECT r.household_id, min(sg.visit_days) AS every_days, min(rg.since) AS since,
                   array_agg(DISTINCT sg.code ORDER BY sg.code) AS groups
            FROM resident_groups rg JOIN residents r ON r.id = rg.resident_id
            JOIN special_groups sg ON sg.code = rg.group_code
            WHERE sg.active AND sg.visit_days IS NOT NULL AND rg.since <= :now
            GROUP BY r.household_id
        ), due AS (
            SELECT p.*, v.last_visit,
                   COALESCE(v.last_visit, p.since) + make_interval(days => p.every_days) AS due_at
            FROM plan p LEFT JOIN LATERAL (
                SELECT max(visited_at) AS last_visit FROM resident_visits
                WHERE household_id = p.household_id AND visited_at <= :now) v ON TRUE
        )
        SELECT h.id AS household_id, b.id AS building_id, b.name AS building_name, h.unit, h.room,
               b.grid_id, g.community_id, w.id AS worker_id, w.name AS worker_name, d.groups, d.every_days,
               d.last_visit, d.due_at
        FROM due d JOIN households h ON h.id = d.household_id {_UP}
        LEFT JOIN LATERAL (SELECT id, name FROM people WHERE grid_id = b.grid_id AND role = 'grid_worker'
                           ORDER BY id LIMIT 1) w ON TRUE
        WHERE d.due_at < :now AND {_area(area, params)}
          AND (CAST(:grid AS text) IS NULL OR b.grid_id = :grid)
          AND (CAST(:worker AS text) IS NULL OR w.id = :worker)
        ORDER BY d.due_at, h.id"""  # noqa: S608 (the area's column from _AREA_COLUMNS)
    return sql, params


def area_grids(conn: Connection, area: Area) -> gpd.GeoDataFrame:
    """The current grids of an area (id, name, geom), for a map's outlines."""
    params: dict[str, Any] = {}
    sql = f"""SELECT g.id, g.name, g.geom FROM grids g JOIN communities c ON c.id = g.community_id
        WHERE g.valid_to IS NULL AND {_area(area, params, "g.id")} ORDER BY g.id"""  # noqa: S608 (our columns)
    return gpd.read_postgis(text(sql), conn, geom_col="geom", params=params)


def building_points(conn: Connection, ids: list[str]) -> gpd.GeoDataFrame:
    """A point on each building's footprint (id, geom), where a map marks its households."""
    sql = text("SELECT id, ST_PointOnSurface(geom) AS geom FROM buildings WHERE id = ANY(:ids)")
    return gpd.read_postgis(sql, conn, geom_col="geom", params={"ids": ids})
