"""A citizen's or a patroller's report becomes an incident: validated, located, routed, stored with its first
event in one round trip, and safe to retry with the same Idempotency-Key."""

from __future__ import annotations

import hashlib
import json
import math
import time
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from sqlalchemy import Connection

from core.access import Principal, require_channel
from core.errors import Conflict, Forbidden, Invalid, NotFound, Unprocessable, validation_detail
from core.incidents.views import incident_view, shape
from core.incidents.workflow import deadlines, route
from core.inputs import (
    PHONE_PATTERN,
    Body,
    ExternalRef,
    ExternalSource,
    Id,
    Latitude,
    Link,
    Longitude,
    LongText,
    PersonName,
)
from core.locating import require_in_service_area
from core.outbox import assigned, status_push
from core.vocabulary import CHANNELS
from geo.coords import CoordinateError, CoordSystem, to_wgs84
from geo.settings import Settings
from store import incidents as store
from store.locate import locate_point

# Channels where staff take a report on someone's behalf (a call, a visit): the caller's name and phone are
# needed to call back. A citizen's own app or WeChat report is known by its token; patrols and cameras
# have no reporter to call.
CONTACT_CHANNELS = ("hotline_12345", "walk_in")


class Reporter(Body):
    name: PersonName | None = None
    phone: Annotated[str, Field(pattern=PHONE_PATTERN)] | None = None


class IncidentIn(Body):
    """The body of POST /api/v1/incidents."""

    lon: Longitude
    lat: Latitude
    crs: CoordSystem = "wgs84"
    category: Id
    description: LongText = ""
    channel: Literal[CHANNELS] = "app"  # type: ignore[valid-type]
    reporter: Reporter | None = None
    photo_urls: list[Link] = Field(default_factory=list, max_length=9)
    # A case transferred by another system (the 12345 hotline): its ticket number, once per source.
    external_ref: ExternalRef | None = None
    external_source: ExternalSource = "12345"

    @field_validator("photo_urls")
    @classmethod
    def _urls(cls, v: list[str]) -> list[str]:
        bad = [u for u in v if not u.startswith(("http://", "https://"))]
        if bad:
            raise ValueError(f"photo URLs must be http(s): {bad[0][:80]!r}")
        return v


# ---- locating ---------------------------------------------------------------------------------


def _degrees(metres: float, lat: float) -> tuple[float, float]:
    dlat = metres / 110_000.0 * 1.05
    return dlat / max(math.cos(math.radians(min(abs(lat), 89.0))), 1e-6), dlat


def nearby_params(x: float, y: float, category: dict, now: datetime, settings: Settings, srid: int) -> dict:
    """Parameters of the nearby checks: grids and segments within the boundary margin, recent duplicates."""
    near, search, dup = settings.near_boundary_m, settings.segment_search_m, settings.duplicate_radius_m
    (dlon, dlat), (dlon_s, dlat_s), (dlon_d, dlat_d) = (_degrees(m, y) for m in (near, search, dup))
    return {
        "x": x,
        "y": y,
        "srid": srid,
        "near": near,
        "search": search,
        "dup": dup,
        "dlon": dlon,
        "dlat": dlat,
        "dlon_s": dlon_s,
        "dlat_s": dlat_s,
        "dlon_d": dlon_d,
        "dlat_d": dlat_d,
        "category": category["code"],
        "road": bool(category["road_related"]),
        "since": now - timedelta(hours=settings.duplicate_window_h),
        "now": now,
    }


def locate(conn: Connection, lon: float, lat: float, crs: str, settings: Settings, srid: int) -> dict:
    """Where a reported point is (WGS-84 x, y) and who answers for it; 422 outside the service area."""
    require_in_service_area(conn, lon, lat)
    try:
        xs, ys = to_wgs84(lon, lat, crs)
    except CoordinateError as exc:
        raise Invalid(str(exc)) from None
    x, y = float(xs), float(ys)
    located = locate_point(conn, x, y, srid=srid, search_m=settings.segment_search_m)
    if not located["grid_id"]:
        raise Unprocessable(
            f"point {lon}, {lat} ({crs}) is outside the service area: it lies in no grid",
            title="不在服务范围 Outside the service area",
        )
    located.update(x=x, y=y)
    return located


def chief_for(category: dict, located: dict) -> str | None:
    """The street chief an incident counts for: the one it was routed to, else the segment's first."""
    kind, who = route(category, located)
    chiefs = located.get("street_chiefs") or []
    if kind == "person" and any(c["id"] == who for c in chiefs):
        return who
    return chiefs[0]["id"] if chiefs else None


# ---- the catalogue on the hot path ------------------------------------------------------------

_CATEGORY_TTL_S = 10.0
_categories: dict[str, tuple[float, dict | None]] = {}


def forget_categories() -> None:
    """Drop this process's catalogue cache (after an edit); other processes refresh within 10 s."""
    _categories.clear()


def _category(conn: Connection, code: str) -> dict:
    # Every report reads its category; a short per-process cache saves a round trip on the hot path.
    cached = _categories.get(code)
    if cached is not None and time.monotonic() - cached[0] < _CATEGORY_TTL_S:
        row = cached[1]
    else:
        row = store.active_category(conn, code)
        _categories[code] = (time.monotonic(), row)
    if row is None:
        raise Unprocessable(
            f"unknown incident category {code!r}; GET /api/v1/categories lists them",
            title="未知类别 Unknown category",
        )
    return row


# ---- intake -----------------------------------------------------------------------------------


def _checked(p: Principal, body: object, idempotency_key: str | None) -> tuple[IncidentIn, Reporter]:
    """The report as validated, and who reported it (a citizen's token names them)."""
    try:
        data = IncidentIn.model_validate(body)
    except ValidationError as exc:
        raise Invalid(validation_detail(exc)) from None
    if idempotency_key is not None and not (0 < len(idempotency_key) <= 200):
        raise Invalid("Idempotency-Key must be 1 to 200 characters")
    require_channel(p, data.channel)
    if data.external_ref is not None and p.role == "citizen":
        raise Forbidden("external_ref is for staff importing another system's tickets, not for citizens")
    reporter = data.reporter or Reporter()
    if p.role == "citizen":
        reporter = Reporter(name=reporter.name or p.name, phone=reporter.phone or p.phone)
    if data.channel in CONTACT_CHANNELS and not (reporter.name and reporter.phone):
        raise Invalid(
            f"reporter name and phone are required for channel {data.channel}: the caller is called back",
        )
    return data, reporter


def intake(
    conn: Connection,
    p: Principal,
    body: object,
    *,
    idempotency_key: str | None,
    now: datetime,
    settings: Settings,
    srid: int,
) -> tuple[dict, bool]:
    """Create an incident (or return the one an earlier request with the same key created)."""
    data, reporter = _checked(p, body, idempotency_key)
    request_hash = hashlib.sha256(data.model_dump_json().encode()).hexdigest()
    scope = f"token:{p.token_id}"
    if idempotency_key:
        earlier = store.by_idempotency_key(conn, scope, idempotency_key)
        if earlier is not None:
            return _replay(conn, p, earlier, request_hash), False
    if data.external_ref is not None:
        imported = _imported(conn, p, data)
        if imported is not None:
            return imported, False
    category = _category(conn, data.category)
    located = locate(conn, data.lon, data.lat, data.crs, settings, srid)
    row = _new_row(data, reporter, category, located, now, settings)
    params = {
        **{k: row[k] for k in ("description", "channel", "reporter_name", "reporter_phone", "tier")},
        **{k: row[k] for k in ("assignee_kind", "assignee_id", "response_due", "completion_due")},
        **{k: located[f"{k}_id"] for k in ("street", "community", "grid", "building", "segment")},
        "token_id": p.token_id,
        "photos": json.dumps(data.photo_urls),
        "input": json.dumps(row["input_location"]),
        "chief": row["chief_id"],
        "worker": row["worker_id"],
        "scope": scope if idempotency_key else None,
        "key": idempotency_key,
        "hash": request_hash,
        "actor": p.actor,
        "role": p.role,
        "event": json.dumps({"assignee": {"kind": row["assignee_kind"], "id": row["assignee_id"]}}),
        **nearby_params(located["x"], located["y"], category, now, settings, srid),
        "messages": json.dumps(_messages(row, category, now)),
        "external_source": row["external_source"],
        "external_ref": row["external_ref"],
    }
    inserted = store.insert_incident(conn, params)
    if inserted is None:  # a concurrent request with the same key, or the same ticket, won the race
        return _lost_race(conn, p, data, (scope, idempotency_key), request_hash), False
    row.update(
        id=inserted["id"],
        near_boundary=bool(inserted["boundary_candidates"]),
        boundary_candidates=inserted["boundary_candidates"],
        possible_duplicates=inserted["possible_duplicates"],
    )
    return shape(row, p), True


def _new_row(
    data: IncidentIn, reporter: Reporter, category: dict, located: dict, now: datetime, settings: Settings
) -> dict:
    """The new incident as the view would read it back: everything is at hand, saving a round trip."""
    assignee_kind, assignee_id = route(category, located)
    response_due, completion_due = deadlines(
        now, category["response_limit_min"], category["completion_limit_h"], settings
    )
    workers = located.get("grid_workers") or []
    people = {q["id"]: q for q in workers + (located.get("street_chiefs") or [])}
    chief, worker = chief_for(category, located), workers[0]["id"] if workers else None
    names = ("street", "community", "grid", "building", "segment")
    return {
        **{f"{k}_id": located[f"{k}_id"] for k in names},
        **{f"{k}_name": located[f"{k}_name"] for k in names},
        "road_name": located["road_name"],
        "status": "reported",
        "tier": category["tier"],
        "category_code": category["code"],
        "category_name_zh": category["name_zh"],
        "category_name_en": category["name_en"],
        "description": data.description,
        "channel": data.channel,
        "lon": located["x"],
        "lat": located["y"],
        "input_location": {"lon": data.lon, "lat": data.lat, "crs": data.crs},
        "chief_id": chief,
        "worker_id": worker,
        "chief": people.get(chief),
        "worker": people.get(worker),
        "assignee_kind": assignee_kind,
        "assignee_id": assignee_id,
        "assignee_person": people.get(assignee_id) if assignee_kind == "person" else None,
        "response_due": response_due,
        "completion_due": completion_due,
        "due_at": completion_due,
        "reported_at": now,
        **dict.fromkeys(
            ("accepted_at", "resolved_at", "closed_at", "merged_into", "rating", "rated_at", "rated_by")
        ),
        "escalations": 0,
        "reopens": 0,
        "duban": False,
        "external_source": data.external_source if data.external_ref else None,
        "external_ref": data.external_ref,
        "reporter_name": reporter.name,
        "reporter_phone": reporter.phone,
        "photo_urls": data.photo_urls,
        "summons": [],
    }


def _messages(row: dict, category: dict, now: datetime) -> list[dict]:
    """What the new case owes people, queued by the insert itself: its assignee is told, and a transferred
    ticket's system learns it is a case now."""
    person = row["assignee_person"] or {}
    pushed = status_push(row, "reported", now)
    return [assigned(row, category, person.get("phone")), *([pushed] if pushed else [])]


def _lost_race(
    conn: Connection, p: Principal, data: IncidentIn, key: tuple[str, str | None], request_hash: str
) -> dict:
    """The case the winner of a race made: the same ticket's, else the same idempotency key's (the insert
    waited for the row it conflicts with to be committed, so it is there)."""
    if data.external_ref is not None:
        imported = _imported(conn, p, data)
        if imported is not None:
            return imported
    scope, idempotency_key = key
    assert idempotency_key is not None
    earlier = store.by_idempotency_key(conn, scope, idempotency_key)
    assert earlier is not None
    return _replay(conn, p, earlier, request_hash)


def _imported(conn: Connection, p: Principal, data: IncidentIn) -> dict | None:
    """The case an earlier import of the same ticket made, if any: a ticket is one case however often
    it arrives."""
    earlier = store.by_external_ref(conn, data.external_source, data.external_ref or "")
    if earlier is None:
        return None
    try:
        return incident_view(conn, earlier, p)
    except NotFound:
        raise Conflict(
            f"ticket {data.external_source}:{data.external_ref} is already a case you cannot see"
        ) from None


def _replay(conn: Connection, p: Principal, earlier: dict, request_hash: str) -> dict:
    if earlier["request_hash"] != request_hash:
        raise Unprocessable(
            "this Idempotency-Key was already used for a different request body",
            incident_id=earlier["id"],
        )
    return incident_view(conn, earlier["id"], p)
