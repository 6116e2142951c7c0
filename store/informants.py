"""Informants in SQL: each linked to a grid worker, counted per worker. Phones arrive sealed."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, text

from store.residents import Area

_AREA = {"grid": "p.grid_id", "community": "g.community_id", "street": "c.street_id"}


def insert_informant(conn: Connection, informant: dict) -> int:
    """An informant (worker_id, name, phone_sealed, household_id, since)."""
    return conn.execute(
        text("""INSERT INTO informants (worker_id, name, phone_sealed, household_id, since)
                VALUES (:worker_id, :name, :phone_sealed, :household_id, :since) RETURNING id"""),
        informant,
    ).scalar_one()


def worker_place(conn: Connection, worker_id: str) -> dict | None:
    """A grid worker's grid, community and street; None if no such grid worker."""
    row = conn.execute(
        text("""SELECT p.id, p.grid_id, g.community_id, c.street_id FROM people p
                JOIN grids g ON g.id = p.grid_id JOIN communities c ON c.id = g.community_id
                WHERE p.id = :w AND p.role = 'grid_worker'"""),
        {"w": worker_id},
    ).mappings()
    found = row.first()
    return dict(found) if found else None


def informant_rows(conn: Connection, area: Area, worker_id: str | None) -> list[dict]:
    """Informants of the grid workers of an area (or one worker), phones sealed."""
    where, params = "TRUE", {"w": worker_id}
    if area is not None:
        where, params["a"] = f"{_AREA[area[0]]} = :a", area[1]
    sql = f"""SELECT i.id, i.worker_id, p.name AS worker_name, p.grid_id, i.name, i.phone_sealed, i.household_id,
                     i.since
              FROM informants i JOIN people p ON p.id = i.worker_id JOIN grids g ON g.id = p.grid_id
              JOIN communities c ON c.id = g.community_id
              WHERE {where} AND (CAST(:w AS text) IS NULL OR i.worker_id = :w) ORDER BY i.worker_id, i.id"""  # noqa: S608
    return [dict(r) for r in conn.execute(text(sql), params).mappings()]


def informant_counts(conn: Connection) -> pd.DataFrame:
    """Informants per grid worker who has any (``id``, the worker's, as every layer keys its rows, and
    ``informants``); empty when none are kept."""
    sql = text("SELECT worker_id AS id, count(*) AS informants FROM informants GROUP BY worker_id ORDER BY 1")
    return pd.read_sql(sql, conn)


def worker_counts(conn: Connection, area: Area, worker_id: str | None) -> list[dict]:
    """Every grid worker of an area (or one) with how many informants they have, none included."""
    where, params = "TRUE", {"w": worker_id}
    if area is not None:
        where, params["a"] = f"{_AREA[area[0]]} = :a", area[1]
    sql = f"""SELECT p.id AS worker_id, p.name AS worker_name, p.grid_id,
                     (SELECT count(*) FROM informants i WHERE i.worker_id = p.id) AS informants
              FROM people p JOIN grids g ON g.id = p.grid_id JOIN communities c ON c.id = g.community_id
              WHERE p.role = 'grid_worker' AND {where} AND (CAST(:w AS text) IS NULL OR p.id = :w)
              ORDER BY p.id"""  # noqa: S608
    return [dict(r) for r in conn.execute(text(sql), params).mappings()]
