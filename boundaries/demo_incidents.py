"""A year of believable incidents for the demo district, with their whole lifecycles.

Shaped on the seeds: most reports are A-tier grid matters (seed 001: 59,710 A against 1,982 B),
a few go to the district or the city; reports rise in summer and fall at weekends, cluster at
markets, schools and busy roads; A-tier matters are answered within minutes and finished in a
few hours (seed 003: about 2 hours), satisfaction is about 99.5 % for A and 88.7 % for B; some
B matters summon departments, a few incidents miss their deadline and are escalated by the clock.
The last days' reports are still open, in every state, so a live board has something to show.
"""

from __future__ import annotations

import json
from datetime import datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection

from boundaries.demo import person_name, phone_number
from core.incidents.workflow import level_assignee, next_tier, route
from core.vocabulary import LEVEL_OF_TIER
from geo.locate import Hierarchy, Locator
from geo.settings import Settings
from store import history as store

TIER_SHARE = {"A": 0.85, "B": 0.13, "C": 0.016, "D": 0.004}
CHANNEL_SHARE = {
    "app": 0.35,
    "wechat": 0.25,
    "hotline_12345": 0.2,
    "patrol": 0.15,
    "camera": 0.03,
    "walk_in": 0.02,
}
SATISFIED = {"A": 0.995, "B": 0.887, "C": 0.8, "D": 0.7}
# Median minutes to accept and hours to finish, per tier.
ACCEPT_MIN = {"A": 9, "B": 20, "C": 45, "D": 120}
FINISH_H = {"A": 2.5, "B": 7, "C": 48, "D": 150}
SEASONAL = {"B08": (11, 12, 1, 2, 3), "D02": (6, 7, 8)}  # heating cuts in winter, waterlogging in the rains
HOURS = np.array([1, 1, 1, 1, 1, 2, 4, 8, 12, 12, 11, 9, 7, 8, 10, 11, 11, 10, 8, 7, 5, 4, 2, 1], float)


def _hot_spots(rng: np.random.Generator, layers: dict, metric: int) -> np.ndarray:
    """Markets on main roads, schools among the buildings: (x, y) in metres."""
    roads = layers["roads"].to_crs(metric)
    main = roads[roads["kind"] == "main"] if (roads["kind"] == "main").any() else roads
    lines = main.geometry.sample(n=6, replace=True, random_state=int(rng.integers(1 << 31))).values
    markets = shapely.line_interpolate_point(lines, rng.uniform(0.2, 0.8, len(lines)), normalized=True)
    schools = (
        layers["buildings"]
        .to_crs(metric)
        .geometry.sample(n=4, random_state=int(rng.integers(1 << 31)))
        .centroid.values
    )
    pts = np.concatenate([markets, np.asarray(schools)])
    return shapely.get_coordinates(pts)


def _points(rng: np.random.Generator, layers: dict, metric: int, road: np.ndarray) -> np.ndarray:
    """Report points in metres: road matters along segments, others at homes or near hot spots."""
    n = len(road)
    spots = _hot_spots(rng, layers, metric)
    buildings = layers["buildings"].to_crs(metric)
    weights = buildings["households"].to_numpy(float) + 1
    homes = shapely.get_coordinates(buildings.geometry.representative_point().values)
    pick = rng.choice(len(homes), size=n, p=weights / weights.sum())
    xy = homes[pick] + rng.normal(0, 4, (n, 2))
    near = rng.random(n) < 0.35
    spot = spots[rng.integers(0, len(spots), n)]
    xy[near] = spot[near] + rng.normal(0, 45, (near.sum(), 2))
    segments = layers["road_segments"].to_crs(metric).geometry.values
    on_road = road & (rng.random(n) < 0.8)
    lines = segments[rng.integers(0, len(segments), on_road.sum())]
    xy[on_road] = shapely.get_coordinates(
        shapely.line_interpolate_point(lines, rng.uniform(0, 1, on_road.sum()), normalized=True)
    ) + rng.normal(0, 4, (on_road.sum(), 2))
    return xy


def _times(rng: np.random.Generator, n: int, end: datetime, days: int) -> np.ndarray:
    """Report times: a summer peak, quieter weekends, busy mornings and afternoons (Beijing time)."""
    # Local (Beijing) calendar days up to and including today, so today's reports are still open.
    today = (pd.Timestamp(end) + pd.Timedelta(hours=8)).tz_localize(None).normalize()
    dates = today - pd.to_timedelta(days - 1 - np.arange(days), unit="D")
    season = 1 + 0.25 * np.sin(2 * np.pi * (dates.day_of_year.to_numpy() - 110) / 365)
    weekday = np.where(dates.day_of_week.to_numpy() >= 5, 0.8, 1.0)
    p = season * weekday
    chosen = rng.choice(days, size=n, p=p / p.sum())
    hour = rng.choice(24, size=n, p=HOURS / HOURS.sum())
    local = (
        dates[chosen] + pd.to_timedelta(hour, unit="h") + pd.to_timedelta(rng.integers(0, 3600, n), unit="s")
    )
    utc = (local - pd.Timedelta(hours=8)).tz_localize("UTC")
    return utc[utc <= pd.Timestamp(end)].sort_values()


def make_history(
    layers: dict,
    categories: list[dict],
    *,
    end: datetime,
    n: int = 12_000,
    days: int = 365,
    seed: int = 7,
    settings: Settings | None = None,
) -> tuple[pd.DataFrame, list[dict]]:
    """Incidents (one row each, WGS-84 ``lon``/``lat``) and their events, reported over ``days`` before ``end``."""
    settings = settings or Settings()
    rng = np.random.default_rng(seed)
    hierarchy = Hierarchy.from_layers(layers)
    metric = hierarchy.metric_epsg()
    times = _times(rng, n, end, days)
    n = len(times)
    tiers = rng.choice(list(TIER_SHARE), size=n, p=list(TIER_SHARE.values()))
    channels = rng.choice(list(CHANNEL_SHARE), size=n, p=list(CHANNEL_SHARE.values()))
    codes = _category_codes(rng, pd.DataFrame(categories), tiers, times.month.to_numpy())
    by_code = {c["code"]: c for c in categories}
    road = np.array([by_code[c]["road_related"] for c in codes])
    xy = _points(rng, layers, metric, road)
    pts = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=metric).to_crs(4326)
    lon, lat = pts.x.to_numpy(), pts.y.to_numpy()
    located = Locator(hierarchy, settings.segment_search_m).locate_arrays(lon, lat)
    keep = (located["status"] == "ok").to_numpy()
    workers, chiefs = _staff(layers["people"])
    incidents, events = [], []
    now = pd.Timestamp(end)
    rows = located.astype(object).where(located.notna(), None).to_dict("records")
    for i in np.flatnonzero(keep):
        row = rows[i]
        cat = by_code[codes[i]]
        place = _place(row, workers, chiefs)
        kind, who = route(cat, place)
        inc = _lifecycle(rng, len(incidents), cat, place, kind, who, times[i], now, settings)
        inc.update(_report(rng, cat, row, place, channels[i], lon[i], lat[i]))
        events += inc.pop("events")
        incidents.append(inc)
    return pd.DataFrame(incidents), events


def _category_codes(
    rng: np.random.Generator, cats: pd.DataFrame, tiers: np.ndarray, months: np.ndarray
) -> np.ndarray:
    """A category for each report, of its tier, seasonal ones only in their months."""
    codes = np.empty(len(tiers), dtype=object)
    for tier in TIER_SHARE:
        pool = cats[cats["tier"] == tier]
        for i in np.flatnonzero(tiers == tier):
            ok = [c for c in pool["code"] if c not in SEASONAL or months[i] in SEASONAL[c]]
            codes[i] = ok[int(rng.integers(len(ok)))]
    return codes


def _staff(people: pd.DataFrame) -> tuple[dict, dict]:
    """Each grid's first grid worker, and each road segment's street chiefs."""
    workers = people[people["role"] == "grid_worker"].groupby("grid_id")["id"].first().to_dict()
    chiefs = {
        seg: frame[["id", "chief_kind"]].to_dict("records")
        for seg, frame in people[people["role"] == "street_chief"].groupby("segment_id")
    }
    return workers, chiefs


def _place(row: dict, workers: dict, chiefs: dict) -> dict:
    """Where a located report lies and who looks after that place, as ``route`` reads it."""
    return {
        "street_id": row["street_id"],
        "community_id": row["community_id"],
        "grid_id": row["grid_id"],
        "grid_workers": [{"id": workers[row["grid_id"]]}] if row["grid_id"] in workers else [],
        "street_chiefs": chiefs.get(row["segment_id"], []),
    }


def _report(
    rng: np.random.Generator, cat: dict, row: dict, place: dict, channel: str, lon: float, lat: float
) -> dict:
    """What the report itself says: category, channel, place and (unless a patrol or camera) reporter."""
    anonymous = channel in ("patrol", "camera")
    return dict(
        category_code=cat["code"],
        channel=channel,
        lon=lon,
        lat=lat,
        street_id=row["street_id"],
        community_id=row["community_id"],
        grid_id=row["grid_id"],
        building_id=row["building_id"],
        segment_id=row["segment_id"],
        chief_id=(place["street_chiefs"][0]["id"] if place["street_chiefs"] else None),
        worker_id=place["grid_workers"][0]["id"] if place["grid_workers"] else None,
        reporter_name=None if anonymous else person_name(rng),
        reporter_phone=None if anonymous else phone_number(rng),
        description=f"{cat['name_zh']}（示范数据 demo）",
    )


def _lifecycle(
    rng,
    index: int,
    cat: dict,
    place: dict,
    kind: str,
    who: str | None,
    t0: pd.Timestamp,
    now: pd.Timestamp,
    settings: Settings,
) -> dict:
    """Walk one incident from report to close (or to wherever it stands at ``now``)."""
    tier = cat["tier"]
    inc = _reported(cat, kind, who, t0)
    steps, finish = _work_steps(rng, inc, cat, place, kind, t0, settings)
    after, rating = _closing_steps(rng, finish, tier)
    steps += sorted(after, key=lambda s: s[0])
    role = "grid_worker" if LEVEL_OF_TIER[tier] == "grid" else "street_admin"
    events = [(t0, "report", None, "reported", "citizen", None)]
    inc["status"] = _walk(inc, steps, events, now, role, rating)
    _summon(rng, inc, cat, now)
    actor = who or f"{kind}-centre"
    inc["events"] = [
        {
            "incident": index,
            "at": at,
            "action": a,
            "from_status": f,
            "to_status": t,
            "role": r,
            "actor": actor if r != "citizen" else "reporter",
            "data": d,
        }
        for at, a, f, t, r, d in events
    ]
    return inc


def _reported(cat: dict, kind: str, who: str | None, t0: pd.Timestamp) -> dict:
    """The incident the moment it is reported: its tier, assignee and deadlines, nothing done yet."""
    completion_due = t0 + pd.Timedelta(hours=cat["completion_limit_h"])
    return {
        "tier": cat["tier"],
        "status": "reported",
        "assignee_kind": kind,
        "assignee_id": who,
        "reported_at": t0,
        "response_due": t0 + pd.Timedelta(minutes=cat["response_limit_min"]),
        "completion_due": completion_due,
        "due_at": completion_due,
        "accepted_at": None,
        "resolved_at": None,
        "closed_at": None,
        "rating": None,
        "rated_at": None,
        "rated_by": None,
        "escalations": 0,
        "summons": [],
    }


def _work_steps(
    rng, inc: dict, cat: dict, place: dict, kind: str, t0: pd.Timestamp, settings: Settings
) -> tuple[list[tuple], pd.Timestamp]:
    """Accept, dispatch (unless a person has it), start; and when the work is finished, escalated first
    if it misses its deadline."""
    tier = cat["tier"]
    completion_due = inc["completion_due"]
    accept = _after(t0, minutes=rng.lognormal(np.log(ACCEPT_MIN[tier]), 0.6))
    steps = [(accept, "accept", "accepted")]
    if kind != "person":
        steps.append((_after(accept, minutes=5), "dispatch", "dispatched"))
    steps.append((_after(accept, minutes=15), "start", "in_progress"))
    finish = _after(steps[-1][0], hours=rng.lognormal(np.log(FINISH_H[tier]), 0.7))
    if finish > completion_due > steps[-1][0] and tier != "D" and rng.random() < 0.6:
        finish = _escalate(rng, inc, place, steps, settings)
    return steps, finish


def _escalate(rng, inc: dict, place: dict, steps: list[tuple], settings: Settings) -> pd.Timestamp:
    """Missed by this level: the clock sends it up, and the next level finishes it (returns when)."""
    completion_due = inc["completion_due"]
    up = next_tier(inc["tier"])
    k2, w2 = level_assignee(up, place)
    steps.append((completion_due, "escalate", "escalated"))
    steps.append((_after(completion_due, minutes=30), "accept", "accepted"))
    steps.append((_after(completion_due, minutes=40), "start", "in_progress"))
    finish = _after(completion_due, hours=rng.lognormal(np.log(FINISH_H[up]), 0.5))
    inc.update(
        tier=up,
        assignee_kind=k2,
        assignee_id=w2,
        escalations=1,
        due_at=completion_due + pd.Timedelta(hours=settings.tier_limits[up][1]),
    )
    return finish


def _closing_steps(rng, finish: pd.Timestamp, tier: str) -> tuple[list[tuple], int | None]:
    """Resolve, verify, close, and (four in five reporters, within two days) a rating, with that rating."""
    after = [
        (finish, "resolve", "resolved"),
        (_after(finish, hours=2), "verify", "verified"),
        (_after(finish, hours=3), "close", "closed"),
    ]
    rating = None
    if rng.random() < 0.8:
        satisfied = rng.random() < SATISFIED[tier]
        rating = int(rng.choice([4, 5], p=[0.2, 0.8]) if satisfied else rng.choice([1, 2, 3]))
        after.append((_after(finish, hours=rng.uniform(1, 48)), "rate", None))
    return after, rating


def _walk(
    inc: dict, steps: list[tuple], events: list[tuple], now: pd.Timestamp, role: str, rating: int | None
) -> str:
    """Take the steps due by ``now``, each an event and a time on ``inc``; returns the status reached."""
    status = "reported"
    for at, action, to in steps:
        if at > now:
            break
        data = None
        if action == "rate":
            to, data = status, {"rating": rating, "by": "reporter"}
            inc.update(rating=rating, rated_at=at, rated_by="reporter")
        events.append((at, action, status, to, "citizen" if action == "rate" else role, data))
        status = to
        if action == "accept" and inc["accepted_at"] is None:
            inc["accepted_at"] = at
        elif action == "resolve":
            inc["resolved_at"] = at
        elif action == "close":
            inc["closed_at"] = at
    return status


def _summon(rng, inc: dict, cat: dict, now: pd.Timestamp) -> None:
    """Beyond A tier, an accepted matter summons its category's departments, who report within the hour."""
    if cat["departments"] and cat["tier"] != "A" and inc["accepted_at"] is not None:
        for d in cat["departments"]:
            reported = _after(inc["accepted_at"], minutes=rng.uniform(10, 50))
            inc["summons"].append(
                {
                    "department_code": d,
                    "summoned_at": inc["accepted_at"],
                    "reported_at": reported if reported <= now else None,
                }
            )


def _after(t: pd.Timestamp, **delta: float) -> pd.Timestamp:
    """``t`` plus a duration, to the second (PostgreSQL keeps microseconds, numpy draws nanoseconds)."""
    return (t + pd.Timedelta(**{k: float(v) for k, v in delta.items()})).floor("s")


def load_history(
    conn: Connection, incidents: pd.DataFrame, events: list[dict], departments: dict[str, int]
) -> int:
    """Store generated incidents, events and summons in a few set-based statements; returns the count."""
    if incidents.empty:
        return 0
    ids = store.reserve_incident_ids(conn, len(incidents))
    frame = incidents.assign(id=ids)
    columns = {c: _column(frame, c) for c in store.INCIDENT_COLUMNS}
    store.insert_incidents(conn, columns, frame["lon"].tolist(), frame["lat"].tolist())
    store.insert_events(conn, _event_columns(events, ids))
    _insert_summons(conn, frame, ids, departments)
    return len(frame)


def _column(frame: pd.DataFrame, name: str) -> list:
    """A column as the database driver takes it: missing values as None, timestamps as datetimes."""
    return [
        None
        if (v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT)
        else (v.to_pydatetime() if isinstance(v, pd.Timestamp) else v)
        for v in frame[name]
    ]


def _event_columns(events: list[dict], ids: list[int]) -> dict[str, list]:
    columns: dict[str, list] = {"incident": [ids[e["incident"]] for e in events]}
    columns["at"] = [e["at"].to_pydatetime() for e in events]
    for name in ("actor", "role", "action", "from_status", "to_status"):
        columns[name] = [e[name] for e in events]
    columns["data"] = [json.dumps(e["data"]) if e["data"] else None for e in events]
    return columns


def _insert_summons(
    conn: Connection, frame: pd.DataFrame, ids: list[int], departments: dict[str, int]
) -> None:
    """Each summons falls due after its department's report limit (``departments``: code to minutes)."""
    summons = [(ids[k], s) for k, row in enumerate(frame["summons"]) for s in row]
    if not summons:
        return
    store.insert_summons(
        conn,
        [i for i, _ in summons],
        [s["department_code"] for _, s in summons],
        [s["summoned_at"].to_pydatetime() for _, s in summons],
        [departments[s["department_code"]] for _, s in summons],
        [s["reported_at"].to_pydatetime() if s["reported_at"] is not None else None for _, s in summons],
    )
