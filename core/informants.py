"""Informants (网格信息员): residents who tell their grid worker what happens. Seed 004 (Zhenxing) asks for at
least 20 per grid worker (``WANGGE_INFORMANTS_PER_WORKER``); the list says who falls short, and so does
`wangge validate` once an office keeps informants at all.

A grid worker adds their own; admins add anyone's in their area. Phones are sealed like the register's and
shown to the same roles (``core.residents``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from core.access import Principal
from core.errors import Forbidden, NotFound
from core.inputs import InformantIn, normal_phone
from core.resident_keys import resident_key
from core.residents import register_area, reveals
from core.vocabulary import mask_phone
from geo.settings import get_settings
from store import informants as store
from store import residents as register


def _in_area(p: Principal | None, place: dict | None) -> bool:
    area = register_area(p)
    return place is not None and (area is None or place[f"{area[0]}_id"] == area[1])


def add_informant(conn: Connection, p: Principal | None, body: InformantIn, now: datetime) -> dict:
    worker = body.worker or (p.person_id if p is not None else None)
    if p is not None and p.role == "grid_worker" and worker != p.person_id:
        raise Forbidden("a grid worker adds their own informants")
    if worker is None or not _in_area(p, store.worker_place(conn, worker)):
        raise NotFound(f"no grid worker {worker!r}")
    if body.household is not None and not _in_area(p, register.household_place(conn, body.household)):
        raise NotFound(f"no household {body.household}")
    sealed = resident_key().seal("phone", normal_phone(body.phone))
    row = {"worker_id": worker, "name": body.name, "phone_sealed": sealed, "household_id": body.household}
    informant_id = store.insert_informant(conn, {**row, "since": now})
    return next(i for i in list_informants(conn, p, worker)["informants"] if i["id"] == informant_id)


def list_informants(conn: Connection, p: Principal | None, worker: str | None = None) -> dict:
    """The informants of the caller's area (or one worker's), and every worker's count, flagged when short."""
    area = register_area(p)
    rows = store.informant_rows(conn, area, worker)
    key, full = resident_key(), reveals(p)[0]
    for row in rows:
        phone = key.open("phone", row.pop("phone_sealed"))
        row["phone"] = phone if full else mask_phone(phone)
    minimum = get_settings().informants_per_worker
    workers = [
        {**w, "below_minimum": w["informants"] < minimum} for w in store.worker_counts(conn, area, worker)
    ]
    return {"minimum": minimum, "workers": workers, "informants": rows}
