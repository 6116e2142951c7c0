"""API tokens in the database: looked up by hash on every request, created, listed and revoked.

Only the SHA-256 of a token is stored; the token itself is shown once, when it is made.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, text

from store.engine import driver_rows

_PRINCIPAL_SQL = text(
    "SELECT id AS token_id, name, role, scope_id, person_id, phone FROM api_tokens "
    "WHERE token_hash = :h AND revoked_at IS NULL"
)
# Where each kind of scope lives: (table, key column). Names are ours, never a caller's.
SCOPE_TABLES = {
    "grid": ("grids", "id"),
    "segment": ("road_segments", "id"),
    "community": ("communities", "id"),
    "street": ("streets", "id"),
    "department": ("departments", "code"),
}


def live_token(conn: Connection, token_hash: str) -> dict | None:
    """The live (not revoked) token row with this hash; every request asks, so on the driver's lean path."""
    rows = driver_rows(conn, _PRINCIPAL_SQL, {"h": token_hash})
    return rows[0] if rows else None


def scope_exists(conn: Connection, kind: str, scope_id: str) -> bool:
    table, key = SCOPE_TABLES[kind]
    sql = text(f"SELECT 1 FROM {table} WHERE {key} = :i")  # noqa: S608 (names from SCOPE_TABLES)
    return conn.execute(sql, {"i": scope_id}).first() is not None


def person_scope(conn: Connection, person_id: str) -> dict | None:
    """A person's role and the grid and segment they answer for."""
    row = conn.execute(
        text("SELECT role, grid_id, segment_id FROM people WHERE id = :i"), {"i": person_id}
    ).mappings()
    found = row.first()
    return dict(found) if found else None


def insert_token(
    conn: Connection,
    *,
    name: str,
    role: str,
    scope_id: str | None,
    person_id: str | None,
    phone: str | None,
    token_hash: str,
) -> int:
    return conn.execute(
        text("""
        INSERT INTO api_tokens (name, role, scope_id, person_id, phone, token_hash)
        VALUES (:name, :role, :scope, :person, :phone, :hash) RETURNING id"""),
        {
            "name": name,
            "role": role,
            "scope": scope_id,
            "person": person_id,
            "phone": phone,
            "hash": token_hash,
        },
    ).scalar_one()


def token_rows(conn: Connection) -> list[dict]:
    sql = "SELECT id, name, role, scope_id, person_id, created_at, revoked_at FROM api_tokens ORDER BY id"
    return [dict(r) for r in conn.execute(text(sql)).mappings()]


def revoke_token(conn: Connection, token_id: int, now: datetime) -> bool:
    done = conn.execute(
        text("UPDATE api_tokens SET revoked_at = :now WHERE id = :i AND revoked_at IS NULL"),
        {"i": token_id, "now": now},
    ).rowcount
    return bool(done)
