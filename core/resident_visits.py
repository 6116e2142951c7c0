"""Visits (走访): each special group has a plan (独居老人 every 7 days, 低保 every 30 …); a household is due
one plan's interval after its last visit, or after it was first tagged, and overdue once that passes.

A household with members in several groups follows the shortest interval among them. "Now" is the caller's
clock (the app's ``CLOCK``, the CLI's ``--now``), so a test moves time instead of waiting. Visits are kept as
recorded; the overdue list names the household's place, its groups and the grid worker, never a person.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import geopandas as gpd
from sqlalchemy import Connection

from core.access import Principal
from core.errors import Forbidden, Invalid, NotFound, Unprocessable
from core.inputs import VisitIn
from core.locating import require_in_service_area
from core.periods import parse_time
from core.residents import MAX_ROW_ID, register_area
from core.vocabulary import beijing_text
from geo.coords import CoordinateError, to_wgs84
from store import residents as store
from store.hierarchy import person_exists

FUTURE_SLACK = timedelta(minutes=5)  # a phone's clock a little ahead is not a visit in the future


def _visitor(p: Principal | None, named: str | None, conn: Connection) -> str | None:
    """Who visited: a grid worker records their own visits; admins and the operator name the worker."""
    if p is not None and p.role == "grid_worker":
        if named not in (None, p.person_id):
            raise Forbidden("a grid worker records their own visits")
        return p.person_id
    if named is not None and not person_exists(conn, named):
        raise Unprocessable(f"unknown worker {named!r}")
    return named


def _point(conn: Connection, body: VisitIn) -> tuple[float | None, float | None]:
    if (body.lon is None) != (body.lat is None):
        raise Invalid("a visit's GPS point needs both lon and lat, or neither")
    if body.lon is None or body.lat is None:
        return None, None
    require_in_service_area(conn, body.lon, body.lat)
    try:
        xs, ys = to_wgs84(body.lon, body.lat, body.crs)
    except CoordinateError as exc:
        raise Invalid(str(exc)) from None
    return float(xs), float(ys)


def record_visit(conn: Connection, p: Principal | None, body: VisitIn, now: datetime) -> dict:
    """A visit to a household of the caller's area (time default now; a time in the future is refused)."""
    area = register_area(p)
    place = None if body.household > MAX_ROW_ID else store.household_place(conn, body.household)
    if place is None or (area is not None and place[f"{area[0]}_id"] != area[1]):
        raise NotFound(f"no household {body.household}")
    visited_at = parse_time("visited_at", body.visited_at) or now
    if visited_at > now + FUTURE_SLACK:
        raise Unprocessable(f"visited_at {body.visited_at} is in the future")
    lon, lat = _point(conn, body)
    visit = {
        "household_id": body.household,
        "person_id": _visitor(p, body.worker, conn),
        "visited_at": visited_at,
        "note": body.note,
        "lon": lon,
        "lat": lat,
        "recorded_by": p.actor if p else "operator",
        "recorded_at": now,
    }
    visit["id"] = store.insert_visit(conn, visit)
    return visit


def overdue_visits(
    conn: Connection,
    p: Principal | None,
    now: datetime,
    *,
    grid: str | None = None,
    worker: str | None = None,
) -> dict:
    """Households whose visit is overdue at ``now`` in the caller's area (one grid or one worker's, if
    asked), most overdue first, and how many each grid worker has."""
    rows = store.overdue_rows(conn, register_area(p), now, grid=grid, worker=worker)
    names = {g["code"]: g["name_zh"] for g in store.special_groups(conn)}
    for row in rows:
        row["groups"] = [{"code": c, "name": names.get(c, c)} for c in row["groups"]]
        row["days_overdue"] = round((now - row["due_at"]).total_seconds() / 86400, 1)
    count = Counter((r["grid_id"], r["worker_id"], r["worker_name"]) for r in rows)
    by_worker = [
        {"grid_id": g, "worker_id": w, "worker_name": n, "overdue": k}
        for (g, w, n), k in sorted(count.items())
    ]
    return {"now": now, "households": rows, "by_worker": by_worker}


def overdue_map_frames(
    conn: Connection, p: Principal | None, now: datetime, *, grid: str | None = None
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """What the overdue-visits map draws: the grids of the caller's area, and each overdue household at a
    point of its building with its card's text (times in Beijing time). Staff with the register only."""
    area = register_area(p)
    found = overdue_visits(conn, p, now, grid=grid)["households"]
    points = store.building_points(conn, sorted({h["building_id"] for h in found}))
    at = dict(zip(points["id"], points.geometry, strict=True))
    rows = [
        {
            "building_name": h["building_name"],
            "unit": h["unit"],
            "room": h["room"],
            "groups": "、".join(g["name"] for g in h["groups"]),
            "worker_name": h["worker_name"],
            "last_visit": beijing_text(h["last_visit"]),
            "due_at": beijing_text(h["due_at"]),
            "days_overdue": h["days_overdue"],
            "geometry": at[h["building_id"]],
        }
        for h in found
    ]
    households = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326) if rows else _no_households()
    grids = store.area_grids(conn, area).rename_geometry("geometry").set_crs(4326, allow_override=True)
    return grids, households


def _no_households() -> gpd.GeoDataFrame:
    columns = [
        "building_name",
        "unit",
        "room",
        "groups",
        "worker_name",
        "last_visit",
        "due_at",
        "days_overdue",
    ]
    return gpd.GeoDataFrame({c: [] for c in columns}, geometry=gpd.GeoSeries([], crs=4326))
