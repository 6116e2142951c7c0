"""The vocabulary is written once, in core.vocabulary; the database's CHECK constraints must allow exactly
those codes, or a value the API accepts would fail on insert (or one it refuses would be storable)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from core.vocabulary import CHANNELS, CHIEF_KINDS, ROLES, STATUSES, TIERS, TOKEN_ROLES


def _allowed(conn, name: str) -> set[str]:
    definition = conn.execute(
        text("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :n"), {"n": name}
    ).scalar_one()
    return set(re.findall(r"'([^']+)'", definition))


@pytest.mark.parametrize(
    ("constraint", "codes"),
    [
        ("incidents_tier", TIERS),
        ("categories_tier", TIERS),
        ("incidents_status", STATUSES),
        ("incidents_channel", CHANNELS),
        ("api_tokens_role", TOKEN_ROLES),
        ("people_role", ROLES),
        ("people_chief_kind", CHIEF_KINDS),
    ],
)
def test_the_database_allows_exactly_the_vocabulary(conn, constraint, codes):
    assert _allowed(conn, constraint) == set(codes)
