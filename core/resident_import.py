"""The register from the sheets grid workers already keep, and back: rows of text in, rows of text out.

An import is all or nothing: every row is checked first (the same model the API uses, the ID-card number's
check character, known groups, a building of the grid, no ID number twice), every refusal named by its row
as a spreadsheet numbers it (the header is row 1), and only a file with no refusal is written. Columns are
found by our field names or the Chinese headers of an export (``COLUMNS``); ``mapping`` names others.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from core.errors import Invalid, NotFound
from core.inputs import ResidentIn, parse
from core.resident_keys import resident_key
from core.residents import check_groups, check_id_number, log_reads, shape, stored_fields
from core.vocabulary import RELATION_LABELS, SEX_LABELS
from store import residents as store

# Our field → the header an export writes (and an import reads, as well as the field's own name).
COLUMNS = {
    "building": "楼栋",
    "unit": "单元",
    "room": "房号",
    "name": "姓名",
    "sex": "性别",
    "birth_year": "出生年份",
    "relation": "与户主关系",
    "phone": "电话",
    "id_number": "身份证号",
    "groups": "特殊群体",
}
MAX_LISTED = 50  # refusals listed one by one; the rest are counted
_SEPARATORS = re.compile(r"[、,，;；/\s]+")
# What people write in a sheet for a code: the code, its Chinese word, or (sex) the English word.
_SEX_WORDS = {"male": "M", "female": "F"} | {v.split()[0]: k for k, v in SEX_LABELS.items()}
_RELATION_WORDS = {v.split()[0]: k for k, v in RELATION_LABELS.items()}


def _headers(found: list[str], mapping: Mapping[str, str]) -> dict[str, str]:
    """File column → our field, from ``mapping`` (column=field) first, then our names and headers."""
    unknown = sorted(set(mapping.values()) - set(COLUMNS))
    if unknown:
        raise Invalid(f"--map names unknown field {', '.join(unknown)}: one of {', '.join(COLUMNS)}")
    known = {name: field for field, header in COLUMNS.items() for name in (field, header)}
    out = {col: mapping.get(col) or known[col] for col in found if col in mapping or col in known}
    missing = [f for f in ("room", "name") if f not in out.values()]
    if missing:
        raise Invalid(
            f"the file has no column for {', '.join(missing)} (found {', '.join(found)}); use --map COL=FIELD"
        )
    return out


def _value(field: str, raw: str, groups: Mapping[str, str]) -> Any:
    """One cell as the request model takes it (a number as a number, words as codes)."""
    if field == "birth_year":
        return int(raw) if raw.isdigit() else raw
    if field == "sex":
        return _SEX_WORDS.get(raw.lower(), _SEX_WORDS.get(raw, raw))
    if field == "relation":
        return _RELATION_WORDS.get(raw, raw)
    if field == "groups":
        return [groups.get(word, word) for word in _SEPARATORS.split(raw) if word]
    return raw


def _row(
    raw: Mapping[str, Any],
    headers: Mapping[str, str],
    buildings: Mapping[str, str],
    groups: Mapping[str, str],
) -> ResidentIn:
    data = {
        f: _value(f, str(raw[c]).strip(), groups) for c, f in headers.items() if str(raw.get(c) or "").strip()
    }
    named = data.get("building")
    if named is None and len(set(buildings.values())) == 1:
        named = next(iter(buildings.values()))
    elif named is None:
        raise Invalid("楼栋 building: missing, and the grid has several")
    elif named not in buildings:
        raise Invalid(f"楼栋 building {named!r} is not one of this import's buildings")
    data["building"] = buildings[named]
    body = parse(ResidentIn, data)
    if body.id_number:
        body.id_number = check_id_number(body.id_number)
    return body


def _buildings(conn: Connection, grid: str | None, building: str | None) -> dict[str, str]:
    """The buildings an import may name, by id and by name."""
    if building is not None:
        place = store.building_place(conn, building)
        if place is None or (grid is not None and place["grid_id"] != grid):
            raise NotFound(f"no building {building!r}" + (f" in grid {grid}" if grid else ""))
        rows = [{"id": place["id"], "name": place["name"]}]
    elif grid is not None:
        rows = store.grid_buildings(conn, grid)
        if not rows:
            raise NotFound(f"no current grid {grid!r} with buildings")
    else:
        raise Invalid("say where the file's households are: --grid ID or --building ID")
    return {r["name"]: r["id"] for r in rows} | {r["id"]: r["id"] for r in rows}


def _checked(
    conn: Connection, rows: list[Mapping[str, Any]], headers: dict, buildings: dict
) -> list[ResidentIn]:
    """Every row as a request, or Invalid listing every refused row by number."""
    groups = {g["name_zh"]: g["code"] for g in store.special_groups(conn)}
    bodies: list[ResidentIn] = []
    errors: list[tuple[int, str]] = []
    seen: dict[bytes, int] = {}
    key = resident_key()
    for number, raw in enumerate(rows, start=2):
        try:
            body = _row(raw, headers, buildings, groups)
            check_groups(conn, body.groups or [])
        except (Invalid, NotFound) as exc:
            errors.append((number, exc.detail))
            continue
        mac = key.lookup(body.id_number)
        if mac is not None and mac in seen:
            errors.append((number, f"身份证号与第{seen[mac]}行重复 same ID-card number as row {seen[mac]}"))
        elif mac is not None:
            seen[mac] = number
        bodies.append(body)
    errors += [
        (seen[m], "身份证号已登记 this ID-card number is already in the register")
        for m in store.known_macs(conn, list(seen))
    ]
    if errors:
        listed = [f"第{n}行 row {n}: {why}" for n, why in sorted(errors)]
        more = f"\n… and {len(listed) - MAX_LISTED} more" if len(listed) > MAX_LISTED else ""
        raise Invalid(
            f"未导入任何记录 nothing imported: {len(errors)} refusals in {len(rows)} rows\n"
            + "\n".join(listed[:MAX_LISTED])
            + more
        )
    return bodies


def import_register(
    conn: Connection,
    rows: list[Mapping[str, Any]],
    *,
    grid: str | None,
    building: str | None,
    mapping: Mapping[str, str],
    actor: str,
    now: datetime,
) -> dict:
    """Add the file's people (and their households) to the register, all or none."""
    if not rows:
        raise Invalid("the file has no rows under its header")
    bodies = _checked(conn, rows, _headers(list(rows[0]), mapping), _buildings(conn, grid, building))
    households = store.ensure_households(conn, [(b.building, b.unit, b.room) for b in bodies])
    key = resident_key()
    records = [
        {
            **stored_fields(b, key),
            "household_id": households[(b.building, b.unit, b.room)],
            "created_by": actor,
            "created_at": now,
        }
        for b in bodies
    ]
    ids = store.insert_residents(conn, records)
    store.add_groups(
        conn, [(i, g) for i, b in zip(ids, bodies, strict=True) for g in sorted(set(b.groups or []))], now
    )
    return {"residents": len(ids), "households": len(households)}


def export_register(conn: Connection, *, grid: str | None, actor: str, now: datetime) -> list[dict[str, str]]:
    """The register (one grid's, or all) as rows under the import's Chinese headers, in full: the operator's
    copy. Each person exported is logged."""
    rows = store.resident_rows(conn, None, filters={"grid": grid})
    log_reads(conn, None, [r["id"] for r in rows], "export", now, actor=actor)
    key = resident_key()
    names = {g["code"]: g["name_zh"] for g in store.special_groups(conn)}
    out = []
    for row in rows:
        person = shape(row, None, key)
        place = person["household"]
        values = {
            "building": place["building_id"],
            "unit": place["unit"],
            "room": place["room"],
            "name": person["name"],
            "sex": (person["sex_label"] or "").split(" ")[0],
            "birth_year": person["birth_year"],
            "relation": (person["relation_label"] or "").split(" ")[0],
            "phone": person["phone"],
            "id_number": person["id_number"],
            "groups": "、".join(names.get(c, c) for c in person["groups"]),
        }
        out.append({COLUMNS[f]: "" if v is None else str(v) for f, v in values.items()})
    return out
