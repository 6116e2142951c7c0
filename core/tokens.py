"""API tokens and roles: who is asking, and what they may see.

Tokens are random (256 bits) and stored as SHA-256 only: a stolen database yields
no usable token, and a slow password hash buys nothing for secrets this long.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

from core.vocabulary import ADMIN_ROLES, TOKEN_ROLES
from store.engine import driver_rows

# What a role's scope_id names; person roles also carry person_id.
SCOPE_OF = {
    "grid_worker": "grid",
    "street_chief": "segment",
    "community_admin": "community",
    "street_admin": "street",
    "department": "department",
}


class AuthError(ValueError):
    """A user could not be created or found."""


@dataclass(frozen=True)
class Principal:
    """The caller behind a token."""

    token_id: int
    name: str
    role: str
    scope_id: str | None
    person_id: str | None
    phone: str | None

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES

    @property
    def area(self) -> tuple[str, str | None] | None:
        """An admin's area as (street|community, id); None for the district, which sees all."""
        return None if self.role == "district_admin" else (self.role.removesuffix("_admin"), self.scope_id)

    @property
    def actor(self) -> str:
        return self.person_id or f"token:{self.token_id}:{self.name}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


_PRINCIPAL_SQL = text(
    "SELECT id AS token_id, name, role, scope_id, person_id, phone FROM api_tokens "
    "WHERE token_hash = :h AND revoked_at IS NULL"
)


def principal_for(conn: Connection, token: str | None) -> Principal | None:
    """The live (not revoked) principal for a presented token, or None."""
    if not token:
        return None
    rows = driver_rows(conn, _PRINCIPAL_SQL, {"h": hash_token(token)})  # every request: the lean path
    return Principal(**rows[0]) if rows else None


def _scope_exists(conn: Connection, role: str, scope_id: str | None, person_id: str | None) -> None:
    kind = SCOPE_OF.get(role)
    if kind and not scope_id and not person_id:
        raise AuthError(f"role {role} needs --scope (a {kind} id) or --person")
    table = {
        "grid": "grids",
        "segment": "road_segments",
        "community": "communities",
        "street": "streets",
        "department": "departments",
    }.get(kind or "")
    key = "code" if table == "departments" else "id"
    if (
        table
        and scope_id
        and not conn.execute(
            text(f"SELECT 1 FROM {table} WHERE {key} = :i"),  # noqa: S608
            {"i": scope_id},
        ).first()
    ):
        raise AuthError(f"unknown {kind} {scope_id!r}")


def add_user(
    conn: Connection,
    name: str,
    role: str,
    *,
    scope_id: str | None = None,
    person_id: str | None = None,
    phone: str | None = None,
) -> tuple[int, str]:
    """Create a token; returns (id, token). The token is shown once and never stored."""
    if role not in TOKEN_ROLES:
        raise AuthError(f"role {role!r} is not one of {', '.join(TOKEN_ROLES)}")
    if person_id:
        person = conn.execute(
            text("SELECT role, grid_id, segment_id FROM people WHERE id = :i"), {"i": person_id}
        ).first()
        if person is None:
            raise AuthError(f"unknown person {person_id!r}")
        # A worker's or chief's scope follows from who they are.
        if role == "grid_worker":
            scope_id = scope_id or person.grid_id
        elif role == "street_chief":
            scope_id = scope_id or person.segment_id
    _scope_exists(conn, role, scope_id, person_id)
    token = "wg_" + secrets.token_urlsafe(32)
    token_id = conn.execute(
        text("""
        INSERT INTO api_tokens (name, role, scope_id, person_id, phone, token_hash)
        VALUES (:name, :role, :scope, :person, :phone, :hash) RETURNING id"""),
        {
            "name": name,
            "role": role,
            "scope": scope_id,
            "person": person_id,
            "phone": phone,
            "hash": hash_token(token),
        },
    ).scalar_one()
    return token_id, token


def list_users(conn: Connection) -> list[dict]:
    return [
        dict(r)
        for r in conn.execute(
            text(
                "SELECT id, name, role, scope_id, person_id, created_at, revoked_at FROM api_tokens ORDER BY id"
            )
        ).mappings()
    ]


def revoke_user(conn: Connection, token_id: int, now: datetime) -> None:
    done = conn.execute(
        text("UPDATE api_tokens SET revoked_at = :now WHERE id = :i AND revoked_at IS NULL"),
        {"i": token_id, "now": now},
    ).rowcount
    if not done:
        raise AuthError(f"no live token with id {token_id}")
