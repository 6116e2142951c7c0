"""The residents' register: who lives in which room, with their special groups; private by design.

* **Who sees it**: a grid worker their grid's register, community and street admins their area, the district
  everything; no other role, and nothing in any public read. A person outside the caller's area is 404,
  so existence does not leak.
* **What they see**: phones in full for the grid worker (who calls on them) and admins; ID-card numbers in
  full for admins only; masked otherwise (``core.vocabulary.mask_phone``, ``mask_id_number``).
* **What is kept**: ID-card numbers and phones sealed with the office's key (``core.resident_keys``), never
  plain in the database; every staff read of a record (a list, a search, one record, a change, an export)
  is a row of the append-only access log, which the district command centre reads.

Households are the source of truth for grid sizes: a trigger (migration 0007) keeps a building's
``households`` equal to the register's households for every building the register holds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from core.access import Principal
from core.errors import Conflict, Forbidden, Invalid, NotFound, Unprocessable
from core.inputs import (
    AccessLogQuery,
    ResidentFieldsIn,
    ResidentIn,
    ResidentListQuery,
    SpecialGroupIn,
    normal_phone,
)
from core.periods import period
from core.resident_keys import ResidentKey, resident_key
from core.vocabulary import RELATION_LABELS, SEX_LABELS, label, mask_id_number, mask_phone
from store import residents as store
from store.residents import Area

MAX_ROW_ID = 2**63 - 1  # a larger id cannot name a row: answered as unknown, never sent to PostgreSQL
_CHECK_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"


# ---- who may see what ---------------------------------------------------------------------------


def register_area(p: Principal | None) -> Area:
    """The part of the register a caller reads (None: all of it; the operator at the command line too)."""
    if p is None:
        return None
    if p.role == "grid_worker":
        return ("grid", p.scope_id)
    if p.is_admin:
        return p.area
    raise Forbidden("居民登记册仅限网格员和管理员 the register is for grid workers and admins")


def reveals(p: Principal | None) -> tuple[bool, bool]:
    """(phone, ID-card number) shown in full: phones to whoever visits and their admins, ID numbers to
    admins (low-income and disability files need them); the operator's export shows both."""
    if p is None:
        return True, True
    return p.role == "grid_worker" or p.is_admin, p.is_admin


def _in_area(area: Area, place: dict) -> bool:
    return area is None or place[f"{area[0]}_id"] == area[1]


def _actor(p: Principal | None, actor: str | None) -> dict[str, Any]:
    if p is None:
        return {"actor": actor or "operator", "role": None, "token_id": None}
    return {"actor": p.actor, "role": p.role, "token_id": p.token_id}


def log_reads(
    conn: Connection,
    p: Principal | None,
    ids: list[int],
    action: str,
    now: datetime,
    *,
    actor: str | None = None,
) -> None:
    """Write the access-log rows for a staff read of these residents' records."""
    store.log_access(conn, ids, action, **_actor(p, actor), at=now)


# ---- values as stored and as shown ---------------------------------------------------------------


def check_id_number(number: str) -> str:
    """An 18-character ID-card number (GB 11643) with its check character right, upper case; else 400."""
    number = number.upper()
    total = sum(int(d) * w for d, w in zip(number[:17], _CHECK_WEIGHTS, strict=True))
    if _CHECK_CHARS[total % 11] != number[17]:
        raise Invalid(
            f"身份证号校验位不符 ID-card number {mask_id_number(number)}: the check character is wrong"
        )
    return number


def stored_fields(fields: ResidentFieldsIn, key: ResidentKey) -> dict[str, Any]:
    """The columns a body sets (only the fields it sent), sealed where private."""
    sent = fields.model_fields_set
    out: dict[str, Any] = {
        f: getattr(fields, f) for f in ("name", "sex", "birth_year", "relation") if f in sent
    }
    if "phone" in sent:
        out["phone_sealed"] = key.seal("phone", normal_phone(fields.phone))
    if "id_number" in sent:
        number = check_id_number(fields.id_number) if fields.id_number else None
        out["id_number_sealed"] = key.seal("id_number", number)
        out["id_number_mac"] = key.lookup(number)
    return out


def shape(row: dict, p: Principal | None, key: ResidentKey) -> dict:
    """A resident as the caller may see them."""
    phone, id_number = key.open("phone", row["phone_sealed"]), key.open("id_number", row["id_number_sealed"])
    full_phone, full_id = reveals(p)
    return {
        "id": row["id"],
        "name": row["name"],
        "sex": row["sex"],
        "sex_label": label(SEX_LABELS, row["sex"]) or None,
        "birth_year": row["birth_year"],
        "relation": row["relation"],
        "relation_label": label(RELATION_LABELS, row["relation"]) or None,
        "phone": phone if full_phone else mask_phone(phone),
        "id_number": id_number if full_id else mask_id_number(id_number),
        "groups": list(row["groups"]),
        "household": {
            "id": row["household_id"],
            "building_id": row["building_id"],
            "building_name": row["building_name"],
            "unit": row["unit"],
            "room": row["room"],
            "grid_id": row["grid_id"],
            "community_id": row["community_id"],
        },
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


# ---- the catalogue of special groups --------------------------------------------------------------


def list_groups(conn: Connection, p: Principal | None) -> list[dict]:
    register_area(p)  # staff who keep a register only
    return store.special_groups(conn)


def put_group(conn: Connection, p: Principal | None, body: SpecialGroupIn) -> dict:
    """Add or change a special group and its visit plan (the district command centre's catalogue)."""
    if p is not None and p.role != "district_admin":
        raise Forbidden("只有区指挥中心可修改特殊群体目录 only the district command centre edits the groups")
    store.put_special_group(conn, body.model_dump())
    return body.model_dump()


def check_groups(conn: Connection, codes: list[str]) -> list[str]:
    """The codes, each an active group of the catalogue (422 naming the unknown ones)."""
    active = {g["code"] for g in store.special_groups(conn) if g["active"]}
    unknown = sorted(set(codes) - active)
    if unknown:
        raise Unprocessable(
            f"未知的特殊群体 unknown special group {', '.join(unknown)}: one of {', '.join(sorted(active))}"
        )
    return sorted(set(codes))


# ---- reading ------------------------------------------------------------------------------------------


def row_id(raw: str, what: str = "resident") -> int:
    """A row's id as a path names it; anything that cannot be one is an unknown one (404), the same answer
    as an id outside the caller's area."""
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= MAX_ROW_ID:
        raise NotFound(f"no {what} {raw[:40]!r}")
    return int(raw)


def _one(conn: Connection, p: Principal | None, resident_id: int) -> dict:
    rows = store.resident_rows(conn, register_area(p), resident_id=resident_id)
    if not rows:
        raise NotFound(f"no resident {resident_id}")
    return rows[0]


def get_resident(conn: Connection, p: Principal | None, resident_id: int, now: datetime) -> dict:
    """One person's record; the read is logged."""
    row = _one(conn, p, resident_id)
    log_reads(conn, p, [row["id"]], "read", now)
    return shape(row, p, resident_key())


def list_residents(conn: Connection, p: Principal | None, query: ResidentListQuery, now: datetime) -> dict:
    """A page of the register as the caller may see it; each person listed is logged."""
    filters = {
        "grid": query.grid,
        "building": query.building,
        "household": query.household,
        "group": query.group,
    }
    rows = store.resident_rows(
        conn, register_area(p), filters=filters, limit=query.limit, offset=query.offset
    )
    log_reads(conn, p, [r["id"] for r in rows], "list", now)
    key = resident_key()
    return {
        "residents": [shape(r, p, key) for r in rows],
        "total": store.count_residents(conn, register_area(p), filters),
        "limit": query.limit,
        "offset": query.offset,
    }


def find_by_id_number(conn: Connection, p: Principal | None, id_number: str, now: datetime) -> dict:
    """The person with this ID-card number, found by its keyed hash (no record is opened to look)."""
    key = resident_key()
    rows = store.resident_rows(conn, register_area(p), mac=key.lookup(check_id_number(id_number)))
    if not rows:
        raise NotFound(f"no resident with ID-card number {mask_id_number(id_number.upper())}")
    log_reads(conn, p, [rows[0]["id"]], "search", now)
    return shape(rows[0], p, key)


def access_log(conn: Connection, p: Principal | None, query: AccessLogQuery, now: datetime) -> dict:
    """Who read whose record in the period (default: the last 90 days): for the district command centre."""
    if p is not None and p.role != "district_admin":
        raise Forbidden("只有区指挥中心可查阅访问日志 only the district command centre reads the access log")
    asked = period(query.from_, query.to, now=now)
    rows, total = store.access_rows(
        conn,
        resident_id=query.resident,
        actor=query.actor,
        since=asked.since,
        until=asked.until,
        limit=query.limit,
        offset=query.offset,
    )
    return {
        "from": asked.since,
        "to": asked.until,
        "entries": rows,
        "total": total,
        "limit": query.limit,
        "offset": query.offset,
    }


# ---- writing -------------------------------------------------------------------------------------------


def _refuse_known_id(conn: Connection, columns: dict[str, Any]) -> None:
    mac = columns.get("id_number_mac")
    if mac is not None and store.known_macs(conn, [mac]):
        raise Conflict("该身份证号已登记 this ID-card number is already in the register")


def add_resident(conn: Connection, p: Principal | None, body: ResidentIn, now: datetime) -> dict:
    """A person at a building, unit and room of the caller's area (the household made if new)."""
    area = register_area(p)
    place = store.building_place(conn, body.building)
    if place is None or not _in_area(area, place):
        raise NotFound(f"no building {body.building!r}")
    groups = check_groups(conn, body.groups or [])
    columns = stored_fields(body, resident_key())
    _refuse_known_id(conn, columns)
    household = store.ensure_households(conn, [(body.building, body.unit, body.room)])
    columns.update(
        household_id=next(iter(household.values())), created_by=_actor(p, None)["actor"], created_at=now
    )
    (resident_id,) = store.insert_residents(conn, [columns])
    store.add_groups(conn, [(resident_id, g) for g in groups], now)
    return _written(conn, p, resident_id, now)


def change_resident(
    conn: Connection, p: Principal | None, resident_id: int, body: ResidentFieldsIn, now: datetime
) -> dict:
    """Change the fields sent (null clears one; ``groups`` replaces the tags, keeping when each began)."""
    row = _one(conn, p, resident_id)
    if "name" in body.model_fields_set and not body.name:
        raise Invalid("name: a resident keeps a name; it cannot be cleared")
    groups = check_groups(conn, body.groups or []) if "groups" in body.model_fields_set else None
    columns = stored_fields(body, resident_key())
    if columns.get("id_number_mac") is not None and store.known_macs(conn, [columns["id_number_mac"]]):
        mine = store.resident_rows(conn, None, mac=columns["id_number_mac"])
        if mine and mine[0]["id"] != row["id"]:
            raise Conflict("该身份证号已登记 this ID-card number is already in the register")
    store.update_resident(conn, row["id"], {**columns, "updated_at": now})
    if groups is not None:
        store.set_groups(conn, row["id"], groups, now)
    return _written(conn, p, row["id"], now)


def _written(conn: Connection, p: Principal | None, resident_id: int, now: datetime) -> dict:
    """The record as stored after a write, which the answer shows: logged as a read."""
    (row,) = store.resident_rows(conn, None, resident_id=resident_id)
    log_reads(conn, p, [resident_id], "write", now)
    return shape(row, p, resident_key())
