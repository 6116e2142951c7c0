"""What the register's tests share: valid ID-card numbers, a key of the test's own, a building per grid."""

from __future__ import annotations

import pytest

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(serial: int, born: str = "19450301") -> str:
    """A well-formed 18-character ID-card number (Panjin's region code, a birth date, a serial, its check)."""
    body = f"211103{born}{serial:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


@pytest.fixture(autouse=True)
def resident_key_file(tmp_path, monkeypatch):
    """Each test seals with a key file of its own, made on first use."""
    path = tmp_path / "keys" / "residents.key"
    monkeypatch.setenv("WANGGE_RESIDENT_KEY_FILE", str(path))
    return path


def building_of(world, grid_id: str) -> str:
    return world.sql("SELECT id FROM buildings WHERE grid_id = :g ORDER BY id LIMIT 1", g=grid_id)[0][0]
