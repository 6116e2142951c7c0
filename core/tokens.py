"""API tokens: who is asking. Random (256 bits) and stored as SHA-256 only: a stolen database yields no
usable token, and a slow password hash buys nothing for secrets this long."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import Connection

from core.access import SCOPE_OF, Principal
from core.errors import Invalid, NotFound
from core.inputs import normal_phone
from core.vocabulary import TOKEN_ROLES
from store import tokens as store


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def principal_for(conn: Connection, token: str | None) -> Principal | None:
    """The live (not revoked) principal for a presented token, or None."""
    if not token:
        return None
    row = store.live_token(conn, hash_token(token))
    return Principal(**row) if row else None


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
        raise Invalid(f"role {role!r} is not one of {', '.join(TOKEN_ROLES)}")
    phone = normal_phone(phone)
    if person_id:
        person = store.person_scope(conn, person_id)
        if person is None:
            raise NotFound(f"unknown person {person_id!r}")
        # A worker's or chief's scope follows from who they are.
        if role == "grid_worker":
            scope_id = scope_id or person["grid_id"]
        elif role == "street_chief":
            scope_id = scope_id or person["segment_id"]
    kind = SCOPE_OF.get(role)
    if kind and not scope_id and not person_id:
        raise Invalid(f"role {role} needs --scope (a {kind} id) or --person")
    if kind and scope_id and not store.scope_exists(conn, kind, scope_id):
        raise NotFound(f"unknown {kind} {scope_id!r}")
    token = "wg_" + secrets.token_urlsafe(32)
    token_id = store.insert_token(
        conn,
        name=name,
        role=role,
        scope_id=scope_id,
        person_id=person_id,
        phone=phone,
        token_hash=hash_token(token),
    )
    return token_id, token


def list_users(conn: Connection) -> list[dict]:
    return store.token_rows(conn)


def revoke_user(conn: Connection, token_id: int, now: datetime) -> None:
    if not store.revoke_token(conn, token_id, now):
        raise NotFound(f"no live token with id {token_id}")
