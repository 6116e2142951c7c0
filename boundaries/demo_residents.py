"""The demo register: every household of the demo's buildings with its members, special groups at the rates
a Chinese urban street shows, a year of visits (some workers falling behind), and two volunteer teams.

Rates (per person unless said): about 2.44 people per household (seed 004: 68,000 people in 28,000
households); aged 60+ about a quarter (Liaoning in the 2020 census: 25.7 %), 80+ about 1.5 %; one household
in six a single person, one in five of them an elder, so elders living alone are about 3.4 % of
households; disabled 2 % (6.3 % nationally, fewer registered); minimum allowance 1.4 % of households
(urban dibao about 1.2 %); left-behind children 4 % of children; 重点关注 0.3 %. Seeded, so the
same seed gives the same register. ID-card numbers are well formed (region 211103, Xinglongtai, Panjin).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from boundaries.demo_people import person_name, phone_number
from core.inputs import ResidentIn
from core.resident_keys import resident_key
from core.residents import stored_fields
from store import informants, volunteers
from store import residents as register

REGION = "211103"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
FALLING_BEHIND = 0.1  # share of planned households whose visits stopped a while ago (the overdue ones)
TEAMS = (
    ("平安巡逻队 Safety patrol", "patrol", ["巡逻", "劝导"]),
    ("为老服务队 Elder care", "service", ["购物", "陪护", "维修"]),
)


def id_number(rng: np.random.Generator, born: int, sex: str, taken: set[str]) -> str:
    """A well-formed number not in ``taken``: region, birth date, a serial whose last digit is odd for men,
    the check character."""
    while True:
        day = datetime(born, 1, 1) + timedelta(days=int(rng.integers(0, 365)))
        serial = int(rng.integers(0, 100)) * 10 + int(
            rng.choice([1, 3, 5, 7, 9] if sex == "M" else [0, 2, 4, 6, 8])
        )
        body = f"{REGION}{day:%Y%m%d}{serial:03d}"
        number = body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]
        if number not in taken:
            taken.add(number)
            return number


def rooms(households: int, floors: int | None, units: int | None) -> Iterator[tuple[str, str]]:
    """(unit, room) for each household of a building: rooms ``{floor}{nn}`` up each unit's stairwell."""
    units = max(units or 1, 1)
    floors = max(floors or 1, 1)
    per_floor = max(math.ceil(households / (floors * units)), 1)
    made = 0
    for unit in range(1, units + 1):
        for floor in range(1, floors + 1):
            for k in range(1, per_floor + 1):
                if made == households:
                    return
                made += 1
                yield str(unit), f"{floor}{k:02d}"


def _members(rng: np.random.Generator, year: int, taken: set[str]) -> list[dict]:
    """One household's people: a head, maybe a spouse, children, a parent; with their groups."""
    size = int(rng.choice([1, 2, 3, 4, 5], p=[0.17, 0.40, 0.28, 0.11, 0.04]))
    if size == 1:  # a person alone: an elder one time in five, else a young or working adult
        head_age = int(rng.integers(65, 92)) if rng.random() < 0.2 else int(rng.integers(22, 60))
    else:
        head_age = int(rng.integers(25, 80))
    ages = [head_age]
    relations = ["head"]
    if size >= 2:
        ages.append(max(head_age + int(rng.integers(-5, 6)), 20))
        relations.append("spouse")
    for _ in range(size - len(ages)):
        young = head_age > 45 and rng.random() < 0.5
        ages.append(int(rng.integers(0, 18)) if head_age < 50 or not young else int(rng.integers(18, 30)))
        relations.append("child" if len(relations) < 4 or rng.random() < 0.7 else "parent")
    low_income = rng.random() < 0.015
    people = []
    for age, relation in zip(ages, relations, strict=True):
        sex = "M" if rng.random() < 0.5 else "F"
        groups = {"very_old"} if age >= 80 else set()
        groups |= {"lonely_elder"} if size == 1 and age >= 65 else set()
        groups |= {"disabled"} if rng.random() < 0.02 else set()
        groups |= {"low_income"} if low_income and relation == "head" else set()
        groups |= {"left_behind_child"} if age < 16 and rng.random() < 0.04 else set()
        groups |= {"watch"} if rng.random() < 0.003 else set()
        born = year - age
        people.append(
            {
                "name": person_name(rng),
                "sex": sex,
                "birth_year": born,
                "relation": relation,
                "phone": phone_number(rng) if age >= 16 else None,
                "id_number": id_number(rng, born, sex, taken),
                "groups": sorted(groups),
            }
        )
    return people


def make_register(buildings: pd.DataFrame, *, now: datetime, seed: int = 7) -> list[ResidentIn]:
    """The people of ``buildings`` (id, households, floors, units), each a request as the API takes it."""
    rng = np.random.default_rng(seed)
    out, taken = [], set()
    for b in buildings.sort_values("id").itertuples():
        for unit, room in rooms(int(b.households), _count(b.floors), _count(b.units)):
            for person in _members(rng, now.year, taken):
                out.append(ResidentIn(building=b.id, unit=unit, room=room, **person))
    return out


def _count(value: object) -> int | None:
    return int(value) if pd.notna(value) else None  # type: ignore[call-overload]


def _visits(
    rng: np.random.Generator, plans: dict[int, int], workers: dict[int, str | None], now: datetime, days: int
) -> list[dict]:
    """A year of visits per planned household, every plan's interval with a day or two of slack; one in ten
    stopped one to three intervals ago, so they are overdue now."""
    out = []
    for household, every in plans.items():
        stop = (
            now - timedelta(days=every * float(rng.uniform(1.2, 3))) if rng.random() < FALLING_BEHIND else now
        )
        at = now - timedelta(days=days) + timedelta(days=float(rng.uniform(0, every)))
        while at <= stop:
            out.append(
                {
                    "household_id": household,
                    "person_id": workers[household],
                    "visited_at": at,
                    "note": "入户走访，情况正常",
                    "lon": None,
                    "lat": None,
                    "recorded_by": "demo",
                    "recorded_at": at,
                }
            )
            at += timedelta(days=every - float(rng.uniform(0, 2)))
    return out


def load_register(
    conn: Connection, buildings: pd.DataFrame, *, now: datetime, seed: int = 7, days: int = 365
) -> dict:
    """Write the demo register, its year of visits and two volunteer teams per street; returns counts."""
    people = make_register(buildings, now=now, seed=seed)
    since = now - timedelta(days=days)
    key = resident_key()
    households = register.ensure_households(conn, [(p.building, p.unit, p.room) for p in people])
    records = []
    for p in people:
        place = households[(p.building, p.unit, p.room)]
        records.append(
            {**stored_fields(p, key), "household_id": place, "created_by": "demo", "created_at": since}
        )
    ids = register.insert_residents(conn, records)
    register.add_groups(
        conn, [(i, g) for i, p in zip(ids, people, strict=True) for g in p.groups or []], since
    )
    plan_days = {g["code"]: g["visit_days"] for g in register.special_groups(conn) if g["visit_days"]}
    plans: dict[int, int] = {}
    for p in people:
        for g in p.groups or []:
            h = households[(p.building, p.unit, p.room)]
            plans[h] = min(plans.get(h, 10**6), plan_days.get(g, 10**6))
    plans = {h: d for h, d in plans.items() if d < 10**6}
    workers = dict(zip(buildings["id"], buildings["worker_id"], strict=True))
    by_household = {h: workers.get(b) for (b, _u, _r), h in households.items()}
    visits = _visits(np.random.default_rng(seed + 1), plans, by_household, now, days)
    register.insert_visits(conn, visits)
    teams = _teams(conn, np.random.default_rng(seed + 2), sorted(set(buildings["street_id"])), since)
    informants = _informants(conn, np.random.default_rng(seed + 3), by_household, people, households, since)
    return {
        "households": len(households),
        "residents": len(ids),
        "visits": len(visits),
        "teams": teams,
        "informants": informants,
    }


def _informants(
    conn: Connection,
    rng: np.random.Generator,
    workers: dict[int, str | None],
    people: list[ResidentIn],
    households: dict[tuple[str, str, str], int],
    since: datetime,
) -> int:
    """17 to 26 adults of each worker's households as their informants: most workers meet seed 004's 20."""
    adults: dict[str, list[ResidentIn]] = {}
    for p in people:
        worker = workers[households[(p.building, p.unit, p.room)]]
        if worker is not None and p.phone:
            adults.setdefault(worker, []).append(p)
    key, made = resident_key(), 0
    for worker, candidates in sorted(adults.items()):
        for i in rng.choice(
            len(candidates), size=min(int(rng.integers(17, 27)), len(candidates)), replace=False
        ):
            p = candidates[int(i)]
            row = {"worker_id": worker, "name": p.name, "phone_sealed": key.seal("phone", p.phone)}
            informants.insert_informant(
                conn, {**row, "household_id": households[(p.building, p.unit, p.room)], "since": since}
            )
            made += 1
    return made


def _teams(conn: Connection, rng: np.random.Generator, streets: list[str], since: datetime) -> int:
    made = 0
    for street in streets:
        for name, kind, skills in TEAMS:
            members = [
                {
                    "name": person_name(rng),
                    "skills": [str(x) for x in rng.choice(skills, size=2, replace=False)],
                }
                for _ in range(12)
            ]
            volunteers.insert_team(
                conn, {"name": name, "kind": kind, "street_id": street, "created_at": since}, members
            )
            made += 1
    return made
