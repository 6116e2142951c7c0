"""The incident workflow over the database: intake, the lifecycle, the clock's sweep.

Framework-free so the API, the CLI and the demo share it: every function takes a
connection inside the caller's transaction, the caller's principal and ``now``
(the injectable clock), and raises ``IncidentError`` (a problem with its HTTP status).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Connection, text

from api.http.problems import ApiProblem
from core.incidents.workflow import (
    ACTIONS,
    TransitionRefused,
    check_transition,
    deadlines,
    level_assignee,
    next_tier,
    route,
)
from core.people import public_person
from core.tokens import Principal
from core.vocabulary import CHANNELS, LEVEL_OF_TIER, STATUS_LABELS, mask_phone
from geo.coords import CoordinateError, to_wgs84
from geo.settings import Settings
from store.engine import driver_rows
from store.locate import locate_point


class IncidentError(ApiProblem):
    """A refusal with the HTTP status that says why (400, 403, 404, 409, 422)."""


# Channels a citizen's own token may report through; the others are staff channels.
CITIZEN_CHANNELS = ("app", "wechat")
ANONYMOUS_CHANNELS = ("patrol", "camera")


class Reporter(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(default=None, max_length=50)
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9-]{5,20}$")


class IncidentIn(BaseModel):
    """The body of POST /api/v1/incidents."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    lon: float
    lat: float
    crs: Literal["wgs84", "cgcs2000", "gcj02", "bd09"] = "wgs84"
    category: str = Field(min_length=1, max_length=32)
    description: str = Field(default="", max_length=2000)
    channel: Literal[CHANNELS] = "app"  # type: ignore[valid-type]
    reporter: Reporter | None = None
    photo_urls: list[str] = Field(default_factory=list, max_length=9)

    @field_validator("lon", "lat")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError(f"{v} is not a finite number")
        return v

    @field_validator("photo_urls")
    @classmethod
    def _urls(cls, v: list[str]) -> list[str]:
        bad = [u for u in v if not u.startswith(("http://", "https://")) or len(u) > 500]
        if bad:
            raise ValueError(f"photo URLs must be http(s) and at most 500 characters: {bad[0][:80]!r}")
        return v


def validation_detail(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors())


# ---- who sees what ----------------------------------------------------------------------------


def visibility(p: Principal, alias: str = "i") -> tuple[str, dict]:
    """SQL condition (with its parameters) for the incidents a principal may see."""
    a = alias
    person = f"({a}.assignee_kind = 'person' AND {a}.assignee_id = :v_person)"
    params = {"v_scope": p.scope_id, "v_person": p.person_id, "v_token": p.token_id}
    rules = {
        "district_admin": "true",
        "street_admin": f"{a}.street_id = :v_scope",
        "community_admin": f"{a}.community_id = :v_scope",
        "grid_worker": f"({a}.grid_id = :v_scope OR {person})",
        "street_chief": f"({a}.segment_id = :v_scope OR {person})",
        "citizen": f"{a}.reporter_token_id = :v_token",
        "department": f"EXISTS (SELECT 1 FROM summons sm WHERE sm.incident_id = {a}.id "  # noqa: S608
        "AND sm.department_code = :v_scope)",
    }
    return rules[p.role], params


def _dispatcher(p: Principal, inc: dict) -> bool:
    """The command centre responsible for the incident's place and level."""
    if p.role == "district_admin":
        return True
    if inc["tier"] in ("C", "D"):
        return False
    return (p.role == "street_admin" and p.scope_id == inc["street_id"]) or (
        p.role == "community_admin" and p.scope_id == inc["community_id"] and inc["tier"] == "A"
    )


def _assignee(p: Principal, inc: dict) -> bool:
    kind, who = inc["assignee_kind"], inc["assignee_id"]
    if kind == "person":
        return p.person_id is not None and p.person_id == who
    return (
        {"community": "community_admin", "street": "street_admin"}.get(kind) == p.role
        and p.scope_id == who
        or (kind in ("district", "city") and p.role == "district_admin")
    )


def _roles_of(p: Principal, inc: dict) -> set[str]:
    roles = set()
    if _assignee(p, inc):
        roles.add("assignee")
    if _dispatcher(p, inc):
        roles.add("dispatcher")
    if p.role == "citizen" and inc["reporter_token_id"] == p.token_id:
        roles.add("reporter")
    if p.role == "department":
        roles.add("department")
    return roles


# ---- locating ---------------------------------------------------------------------------------

# Degree boxes and planar degree distances (cheap, conservative) narrow each list before the exact
# metric test, which needs a transform of the candidate polygon; OFFSET 0 keeps the planner from
# reordering that. Duplicates are points (cheap to transform), read by category and time (the last
# 48 hours), never by place: a busy market has years of reports; the newest 20 are enough to show.
# The same CTEs serve a move (alone) and intake (inside the insert, saving a round trip).
_NEARBY_CTES = """
box AS (SELECT p.g, ST_Expand(p.g, :dlon, :dlat) AS b, ST_Transform(p.g, :srid) AS m
        FROM (SELECT ST_SetSRID(ST_MakePoint(:x, :y), 4326) AS g) p),
near AS (
  SELECT jsonb_strip_nulls(jsonb_build_object(
           'grids', CASE WHEN jsonb_array_length(ng.ids) > 1 THEN ng.ids END,
           'segments', CASE WHEN jsonb_array_length(ns.ids) > 1 THEN ns.ids END)) AS candidates,
         nd.ids AS duplicates
  FROM
  (SELECT coalesce(jsonb_agg(g.id ORDER BY g.id), '[]') AS ids
    FROM (SELECT g.id, g.geom FROM grids g, box WHERE g.valid_to IS NULL AND g.geom && box.b
          AND ST_DWithin(g.geom, box.g, :dlon) OFFSET 0) g, box
    WHERE ST_DWithin(ST_Transform(g.geom, :srid), box.m, :near)) ng,
  (SELECT CASE WHEN :road THEN (
     SELECT coalesce(jsonb_agg(s.id ORDER BY s.d, s.id), '[]') FROM (
       SELECT s.id, s.d, min(s.d) OVER () AS dmin FROM (
         SELECT s.id, ST_Distance(ST_Transform(s.geom, :srid), box.m) AS d
         FROM road_segments s, box WHERE s.geom && ST_Expand(box.g, :dlon_s, :dlat_s)
           AND ST_DWithin(s.geom, box.g, :dlon_s)) s
       WHERE s.d <= :search) s WHERE s.d <= s.dmin + :near)
   ELSE '[]' END AS ids) ns,
  (SELECT coalesce(jsonb_agg(d.id ORDER BY d.id), '[]') AS ids FROM (
    SELECT i.id FROM incidents i, box
    WHERE i.category_code = :category AND i.status <> 'merged' AND i.reported_at BETWEEN :since AND :now
      -- a box test before the metric one, in plain numbers so that no plan turns it into a scan by place
      AND abs(ST_X(i.geom) - :x) <= :dlon_d AND abs(ST_Y(i.geom) - :y) <= :dlat_d
      AND ST_DWithin(ST_Transform(i.geom, :srid), box.m, :dup)  -- by time first: see migration 0004
    ORDER BY i.reported_at DESC LIMIT 20) d) nd)
"""
_NEARBY_SQL = text(f"WITH {_NEARBY_CTES} SELECT candidates, duplicates FROM near")  # noqa: S608 (our SQL)


def _degrees(metres: float, lat: float) -> tuple[float, float]:
    dlat = metres / 110_000.0 * 1.05
    return dlat / max(math.cos(math.radians(min(abs(lat), 89.0))), 1e-6), dlat


def _nearby_params(x: float, y: float, category: dict, now: datetime, settings: Settings, srid: int) -> dict:
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
    try:
        x, y = to_wgs84(lon, lat, crs)
    except CoordinateError as exc:
        raise IncidentError(400, str(exc)) from None
    x, y = float(x), float(y)
    located = locate_point(conn, x, y, srid=srid, search_m=settings.segment_search_m)
    if not located["grid_id"]:
        raise IncidentError(
            422,
            f"point {lon}, {lat} ({crs}) is outside the service area: it lies in no grid",
            title="不在服务范围 Outside the service area",
        )
    located.update(x=x, y=y)
    return located


# ---- intake -----------------------------------------------------------------------------------

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
        found = conn.execute(
            text("SELECT * FROM categories WHERE code = :c AND active"), {"c": code}
        ).mappings()
        row = dict(found.first() or {}) or None
        _categories[code] = (time.monotonic(), row)
    if row is None:
        raise IncidentError(
            422,
            f"unknown incident category {code!r}; GET /api/v1/categories lists them",
            title="未知类别 Unknown category",
        )
    return row


def _chief_for(category: dict, located: dict) -> str | None:
    kind, who = route(category, located)
    if kind == "person" and any(c["id"] == who for c in located.get("street_chiefs") or []):
        return who
    chiefs = located.get("street_chiefs") or []
    return chiefs[0]["id"] if chiefs else None


_INSERT_SQL = text(f"""  -- one round trip: nearby checks, the incident, its first event
WITH {_NEARBY_CTES},
ins AS (
  INSERT INTO incidents (category_code, description, channel, reporter_name, reporter_phone, reporter_token_id,
      photo_urls, input_location, street_id, community_id, grid_id, building_id, segment_id, chief_id, worker_id,
      tier, status, assignee_kind, assignee_id, near_boundary, boundary_candidates, possible_duplicates,
      reported_at, response_due, completion_due, due_at, idempotency_scope, idempotency_key, request_hash, geom)
  SELECT :category, :description, :channel, :reporter_name, :reporter_phone, :token_id,
      CAST(:photos AS jsonb), CAST(:input AS jsonb), :street, :community, :grid, :building, :segment, :chief,
      :worker, :tier, 'reported', :assignee_kind, :assignee_id, near.candidates <> '{{}}',
      NULLIF(near.candidates, '{{}}'), NULLIF(near.duplicates, '[]'), :now, :response_due, :completion_due,
      :completion_due, :scope, :key, :hash, box.g
  FROM near, box
  ON CONFLICT ON CONSTRAINT incidents_idempotency DO NOTHING
  RETURNING id, boundary_candidates, possible_duplicates),
ev AS (
  INSERT INTO incident_events (incident_id, at, actor, role, action, from_status, to_status, data)
  SELECT id, :now, :actor, :role, 'report', NULL, 'reported', CAST(:event AS jsonb) FROM ins)
SELECT id, boundary_candidates, possible_duplicates FROM ins
""")  # noqa: S608 (composed of our SQL only)


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
    try:
        data = IncidentIn.model_validate(body)
    except ValidationError as exc:
        raise IncidentError(400, validation_detail(exc)) from None
    if idempotency_key is not None and not (0 < len(idempotency_key) <= 200):
        raise IncidentError(400, "Idempotency-Key must be 1 to 200 characters")
    if p.role == "citizen" and data.channel not in CITIZEN_CHANNELS:
        raise IncidentError(
            403, f"citizens report through {' or '.join(CITIZEN_CHANNELS)}, not {data.channel}"
        )
    reporter = data.reporter or Reporter()
    if p.role == "citizen":
        reporter = Reporter(name=reporter.name or p.name, phone=reporter.phone or p.phone)
    if data.channel not in ANONYMOUS_CHANNELS and not (reporter.name and reporter.phone):
        raise IncidentError(
            400,
            f"reporter name and phone are required for channel {data.channel} "
            f"(optional only for {', '.join(ANONYMOUS_CHANNELS)})",
        )
    request_hash = hashlib.sha256(data.model_dump_json().encode()).hexdigest()
    scope = f"token:{p.token_id}"
    if idempotency_key:
        earlier = _by_key(conn, scope, idempotency_key)
        if earlier is not None:
            return _replay(conn, p, earlier, request_hash), False
    category = _category(conn, data.category)
    located = locate(conn, data.lon, data.lat, data.crs, settings, srid)
    assignee_kind, assignee_id = route(category, located)
    response_due, completion_due = deadlines(
        now, category["response_limit_min"], category["completion_limit_h"]
    )
    workers = located.get("grid_workers") or []
    params = {
        "category": category["code"],
        "description": data.description,
        "channel": data.channel,
        "reporter_name": reporter.name,
        "reporter_phone": reporter.phone,
        "token_id": p.token_id,
        "photos": json.dumps(data.photo_urls),
        "input": json.dumps({"lon": data.lon, "lat": data.lat, "crs": data.crs}),
        "street": located["street_id"],
        "community": located["community_id"],
        "grid": located["grid_id"],
        "building": located["building_id"],
        "segment": located["segment_id"],
        "chief": _chief_for(category, located),
        "worker": workers[0]["id"] if workers else None,
        "tier": category["tier"],
        "assignee_kind": assignee_kind,
        "assignee_id": assignee_id,
        "response_due": response_due,
        "completion_due": completion_due,
        "scope": scope if idempotency_key else None,
        "key": idempotency_key,
        "hash": request_hash,
        "actor": p.actor,
        "role": p.role,
        "event": json.dumps({"assignee": {"kind": assignee_kind, "id": assignee_id}}),
        **_nearby_params(located["x"], located["y"], category, now, settings, srid),
    }
    rows = driver_rows(conn, _INSERT_SQL, params)
    if not rows:  # a concurrent retry with the same key won the race
        return _replay(conn, p, _by_key(conn, scope, idempotency_key), request_hash), False
    inserted = rows[0]
    # Everything the view would join is at hand: shape it here and save a round trip on the hot path.
    people = {q["id"]: q for q in (located.get("grid_workers") or []) + (located.get("street_chiefs") or [])}
    row = {
        **{
            k: located[k]
            for k in (
                "street_id",
                "street_name",
                "community_id",
                "community_name",
                "grid_id",
                "grid_name",
                "building_id",
                "building_name",
                "segment_id",
                "segment_name",
                "road_name",
            )
        },
        "id": inserted["id"],
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
        "chief": people.get(params["chief"]),
        "worker": people.get(params["worker"]),
        "assignee_kind": assignee_kind,
        "assignee_id": assignee_id,
        "assignee_person": people.get(assignee_id) if assignee_kind == "person" else None,
        "response_due": response_due,
        "completion_due": completion_due,
        "due_at": completion_due,
        "reported_at": now,
        "accepted_at": None,
        "resolved_at": None,
        "closed_at": None,
        "escalations": 0,
        "near_boundary": bool(inserted["boundary_candidates"]),
        "boundary_candidates": inserted["boundary_candidates"],
        "possible_duplicates": inserted["possible_duplicates"],
        "merged_into": None,
        "reporter_name": reporter.name,
        "reporter_phone": reporter.phone,
        "photo_urls": data.photo_urls,
        "rating": None,
        "rated_at": None,
        "summons": [],
    }
    return shape(row, p), True


def _by_key(conn: Connection, scope: str, key: str) -> dict | None:
    row = (
        conn.execute(
            text(
                "SELECT id, request_hash FROM incidents WHERE idempotency_scope = :s AND idempotency_key = :k"
            ),
            {"s": scope, "k": key},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def _replay(conn: Connection, p: Principal, earlier: dict, request_hash: str) -> dict:
    if earlier["request_hash"] != request_hash:
        raise IncidentError(
            422,
            "this Idempotency-Key was already used for a different request body",
            incident_id=earlier["id"],
        )
    return incident_view(conn, earlier["id"], p)


# ---- reading ----------------------------------------------------------------------------------

_VIEW_SQL = """
SELECT i.*, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat,
       c.name_zh AS category_name_zh, c.name_en AS category_name_en, c.road_related,
       st.name AS street_name, cm.name AS community_name, gr.name AS grid_name, b.name AS building_name,
       seg.name AS segment_name, seg.road_name,
       row_to_json(ch) AS chief, row_to_json(wk) AS worker, row_to_json(ap) AS assignee_person,
       (SELECT coalesce(json_agg(json_build_object('department', s.department_code, 'name', d.name_zh,
                        'summoned_at', s.summoned_at, 'due_at', s.due_at, 'reported_at', s.reported_at)
                        ORDER BY s.department_code), '[]')
          FROM summons s JOIN departments d ON d.code = s.department_code WHERE s.incident_id = i.id) AS summons
FROM incidents i
JOIN categories c ON c.code = i.category_code
LEFT JOIN streets st ON st.id = i.street_id
LEFT JOIN communities cm ON cm.id = i.community_id
LEFT JOIN grids gr ON gr.id = i.grid_id
LEFT JOIN buildings b ON b.id = i.building_id
LEFT JOIN road_segments seg ON seg.id = i.segment_id
LEFT JOIN (SELECT id, name, role, chief_kind, phone FROM people) ch ON ch.id = i.chief_id
LEFT JOIN (SELECT id, name, role, chief_kind, phone FROM people) wk ON wk.id = i.worker_id
LEFT JOIN (SELECT id, name, role, chief_kind, phone FROM people) ap
       ON i.assignee_kind = 'person' AND ap.id = i.assignee_id
"""


def _iso(v: datetime | None) -> str | None:
    return v.isoformat() if v else None


def shape(row: dict, p: Principal | None) -> dict:
    """An incident as the API shows it; the reporter's phone is masked for everyone but admins."""

    def level(prefix: str) -> dict | None:
        return {"id": row[f"{prefix}_id"], "name": row[f"{prefix}_name"]} if row[f"{prefix}_id"] else None

    assignee = {"kind": row["assignee_kind"], "id": row["assignee_id"]}
    if row["assignee_person"]:
        assignee["person"] = public_person(row["assignee_person"])
    phone = row["reporter_phone"]
    return {
        "id": row["id"],
        "status": row["status"],
        "status_label": STATUS_LABELS[row["status"]],
        "tier": row["tier"],
        "category": {
            "code": row["category_code"],
            "name_zh": row["category_name_zh"],
            "name_en": row["category_name_en"],
        },
        "description": row["description"],
        "channel": row["channel"],
        "location": {
            "lon": round(row["lon"], 8),
            "lat": round(row["lat"], 8),
            "input": row["input_location"],
        },
        "street": level("street"),
        "community": level("community"),
        "grid": level("grid"),
        "building": level("building"),
        "segment": {"id": row["segment_id"], "name": row["segment_name"], "road_name": row["road_name"]}
        if row["segment_id"]
        else None,
        "chief": public_person(row["chief"]) if row["chief"] else None,
        "worker": public_person(row["worker"]) if row["worker"] else None,
        "assignee": assignee,
        "deadlines": {
            "response_due": _iso(row["response_due"]),
            "completion_due": _iso(row["completion_due"]),
            "due_at": _iso(row["due_at"]),
        },
        "times": {
            "reported_at": _iso(row["reported_at"]),
            "accepted_at": _iso(row["accepted_at"]),
            "resolved_at": _iso(row["resolved_at"]),
            "closed_at": _iso(row["closed_at"]),
        },
        "escalations": row["escalations"],
        "near_boundary": row["near_boundary"],
        "boundary_candidates": row["boundary_candidates"] or {},
        "possible_duplicates": row["possible_duplicates"] or [],
        "merged_into": row["merged_into"],
        "reporter": {
            "name": row["reporter_name"],
            "phone": phone if p is not None and p.is_admin else mask_phone(phone),
        },
        "photo_urls": row["photo_urls"] or [],
        "rating": row["rating"],
        "rated_at": _iso(row["rated_at"]),
        "summons": row["summons"],
    }


def _fetch(conn: Connection, incident_id: int, p: Principal | None, *, lock: bool = False) -> dict:
    where, params = visibility(p) if p is not None else ("true", {})
    # ``where`` comes from visibility(): fixed SQL with bound parameters.
    sql = f"SELECT * FROM incidents i WHERE i.id = :id AND {where}{' FOR UPDATE' if lock else ''}"  # noqa: S608
    row = conn.execute(text(sql), {"id": incident_id, **params}).mappings().first()
    if row is None:
        raise IncidentError(404, f"no incident {incident_id} that you can see")
    return dict(row)


def incident_view(conn: Connection, incident_id: int, p: Principal | None) -> dict:
    """One incident, shaped, if the principal may see it (404 otherwise: existence is not leaked)."""
    where, params = visibility(p) if p is not None else ("true", {})
    row = (
        conn.execute(
            text(_VIEW_SQL + f" WHERE i.id = :id AND {where}"),  # noqa: S608
            {"id": incident_id, **params},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise IncidentError(404, f"no incident {incident_id} that you can see")
    return shape(dict(row), p)


LIST_FILTERS = ("status", "tier", "category", "channel", "grid", "community", "street")


def list_incidents(
    conn: Connection,
    p: Principal | None,
    *,
    filters: dict[str, str],
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
    statuses: tuple[str, ...] | None = None,
) -> list[dict]:
    """Incidents the principal may see, newest first, filtered by the named fields and report time."""
    where, params = visibility(p) if p is not None else ("true", {})
    clauses = [where]
    if statuses is not None:
        clauses.append("i.status = ANY(:statuses)")
        params["statuses"] = list(statuses)
    column = {
        "category": "category_code",
        "grid": "grid_id",
        "community": "community_id",
        "street": "street_id",
    }
    for name, value in filters.items():
        if name == "grid":
            # Reported in this grid, or (after a re-split) lying inside it now: old incidents stay findable.
            clauses.append(
                "(i.grid_id = :f_grid OR EXISTS (SELECT 1 FROM grids ng WHERE ng.id = :f_grid "
                "AND ng.valid_to IS NULL AND ST_Covers(ng.geom, i.geom)))"
            )
        else:
            clauses.append(f"i.{column.get(name, name)} = :f_{name}")
        params[f"f_{name}"] = value
    if since is not None:
        clauses.append("i.reported_at >= :since")
        params["since"] = since
    if until is not None:
        clauses.append("i.reported_at < :until")
        params["until"] = until
    sql = (
        _VIEW_SQL + " WHERE " + " AND ".join(clauses) + " ORDER BY i.reported_at DESC, i.id DESC "
        "LIMIT :limit OFFSET :offset"
    )
    rows = conn.execute(text(sql), {**params, "limit": limit, "offset": offset}).mappings()
    return [shape(dict(r), p) for r in rows]


def incident_events(conn: Connection, incident_id: int, p: Principal) -> list[dict]:
    _fetch(conn, incident_id, p)
    rows = conn.execute(
        text(
            "SELECT at, actor, role, action, from_status, to_status, note, data "
            "FROM incident_events WHERE incident_id = :i ORDER BY id"
        ),
        {"i": incident_id},
    )
    return [{**dict(r._mapping), "at": r.at.isoformat()} for r in rows]


# ---- the lifecycle ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StepContext:
    principal: Principal | None
    now: datetime
    settings: Settings
    srid: int


class ActionIn(BaseModel):
    """The body of POST /api/v1/incidents/{id}/{action}; which fields matter depends on the action."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    note: str | None = Field(default=None, max_length=2000)
    assignee_id: str | None = Field(default=None, max_length=32)
    departments: list[str] | None = Field(default=None, max_length=20)
    department: str | None = Field(default=None, max_length=32)
    rating: int | None = Field(default=None, ge=1, le=5)
    into: int | None = None
    lon: float | None = None
    lat: float | None = None
    crs: Literal["wgs84", "cgcs2000", "gcj02", "bd09"] = "wgs84"


def act(
    conn: Connection,
    p: Principal | None,
    incident_id: int,
    action: str,
    body: object,
    *,
    now: datetime,
    settings: Settings,
    srid: int,
) -> dict:
    """Take one lifecycle step; ``p`` None is the system clock. Refusals change nothing."""
    if action not in ACTIONS:
        raise IncidentError(404, f"unknown action {action!r}; actions: {', '.join(ACTIONS)}")
    try:
        data = ActionIn.model_validate(body or {})
    except ValidationError as exc:
        raise IncidentError(400, validation_detail(exc)) from None
    inc = _fetch(conn, incident_id, p, lock=True)
    roles = {"system"} if p is None else _roles_of(p, inc)
    try:
        spec = check_transition(action, inc["status"])
    except TransitionRefused as exc:
        raise IncidentError(409, str(exc), status_now=inc["status"]) from None
    if not roles & spec.by:
        raise IncidentError(
            403,
            f"{action} is for the {' or '.join(sorted(spec.by))} of this incident; "
            f"you are {p.role if p else 'system'}",
        )
    changes, event = _STEPS[action](conn, inc, data, StepContext(p, now, settings, srid))
    target = spec.target or changes.pop("status", None) or inc["status"]
    changes["status"] = target
    sets = ", ".join(f"{k} = :c_{k}" for k in changes)
    conn.execute(
        text(f"UPDATE incidents SET {sets} WHERE id = :id"),  # noqa: S608 (keys are ours)
        {"id": incident_id, **{f"c_{k}": v for k, v in changes.items()}},
    )
    conn.execute(
        text("""
        INSERT INTO incident_events (incident_id, at, actor, role, action, from_status, to_status, note, data)
        VALUES (:i, :at, :actor, :role, :action, :from, :to, :note, CAST(:data AS jsonb))"""),
        {
            "i": incident_id,
            "at": now,
            "actor": p.actor if p else "system",
            "role": p.role if p else "system",
            "action": action,
            "from": inc["status"],
            "to": target,
            "note": data.note,
            "data": json.dumps(event, default=str) if event else None,
        },
    )
    return incident_view(conn, incident_id, p) if p is not None else {"id": incident_id, "status": target}


def _require_note(data: ActionIn, why: str) -> None:
    if not data.note:
        raise IncidentError(400, f"a note is required: {why}")


def _unreported_summons(conn: Connection, inc: dict) -> None:
    waiting = (
        conn.execute(
            text(
                "SELECT department_code FROM summons WHERE incident_id = :i AND reported_at IS NULL "
                "ORDER BY department_code"
            ),
            {"i": inc["id"]},
        )
        .scalars()
        .all()
    )
    if waiting:
        raise IncidentError(
            409, f"summoned departments have not reported yet: {', '.join(waiting)}", waiting=list(waiting)
        )


def _step_accept(conn, inc, data, ctx):
    return {"accepted_at": inc["accepted_at"] or ctx.now}, None


def _step_dispatch(conn, inc, data, ctx):
    if data.assignee_id is None:
        if inc["assignee_kind"] != "person":
            raise IncidentError(400, "dispatch needs assignee_id: the incident has no person assigned")
        return {}, {"assignee": inc["assignee_id"]}
    if not conn.execute(text("SELECT 1 FROM people WHERE id = :i"), {"i": data.assignee_id}).first():
        raise IncidentError(422, f"unknown person {data.assignee_id!r}")
    return {"assignee_kind": "person", "assignee_id": data.assignee_id}, {
        "assignee": data.assignee_id,
        "previous": {"kind": inc["assignee_kind"], "id": inc["assignee_id"]},
    }


def _step_start(conn, inc, data, ctx):
    return {}, None


def _step_return(conn, inc, data, ctx):
    _require_note(data, "say why the incident is returned")
    kind, who = (
        ("street", inc["street_id"]) if inc["tier"] in ("A", "B") else (LEVEL_OF_TIER[inc["tier"]], None)
    )
    return {"assignee_kind": kind, "assignee_id": who}, {
        "previous": {"kind": inc["assignee_kind"], "id": inc["assignee_id"]}
    }


def _step_resolve(conn, inc, data, ctx):
    _unreported_summons(conn, inc)
    return {"resolved_at": ctx.now}, None


def _step_verify(conn, inc, data, ctx):
    return {}, None


def _step_close(conn, inc, data, ctx):
    _unreported_summons(conn, inc)
    return {"closed_at": ctx.now}, None


def _step_escalate(conn, inc, data, ctx):
    try:
        tier = next_tier(inc["tier"])
    except TransitionRefused as exc:
        raise IncidentError(409, str(exc)) from None
    kind, who = level_assignee(tier, {"street_id": inc["street_id"], "community_id": inc["community_id"]})
    response_min, completion_h = ctx.settings.tier_limits[tier]
    return {
        "tier": tier,
        "assignee_kind": kind,
        "assignee_id": who,
        "escalations": inc["escalations"] + 1,
        "due_at": ctx.now + timedelta(hours=completion_h),
    }, {
        "from_tier": inc["tier"],
        "to_tier": tier,
        "overdue": inc["due_at"] < ctx.now,
        "respond_within_min": response_min,
    }


def _step_merge(conn, inc, data, ctx):
    if data.into is None or data.into == inc["id"]:
        raise IncidentError(400, "merge needs 'into': the id of another incident")
    target = conn.execute(text("SELECT id, status FROM incidents WHERE id = :i"), {"i": data.into}).first()
    if target is None:
        raise IncidentError(422, f"no incident {data.into} to merge into")
    if target.status == "merged":
        raise IncidentError(
            409, f"incident {data.into} is itself merged; merge into the one it was merged into"
        )
    return {"merged_into": data.into}, {"into": data.into}


def _step_move(conn, inc, data, ctx):
    if data.lon is None or data.lat is None:
        raise IncidentError(400, "move needs lon and lat (and crs if not wgs84)")
    category = _category_any(conn, inc["category_code"])
    located = locate(conn, data.lon, data.lat, data.crs, ctx.settings, ctx.srid)
    nearby = conn.execute(
        _NEARBY_SQL, _nearby_params(located["x"], located["y"], category, ctx.now, ctx.settings, ctx.srid)
    ).one()
    kind, who = (
        route(category, located) if inc["tier"] == category["tier"] else level_assignee(inc["tier"], located)
    )
    old = conn.execute(
        text("SELECT ST_X(geom), ST_Y(geom) FROM incidents WHERE id = :i"), {"i": inc["id"]}
    ).one()
    workers = located.get("grid_workers") or []
    changes = {
        "street_id": located["street_id"],
        "community_id": located["community_id"],
        "grid_id": located["grid_id"],
        "building_id": located["building_id"],
        "segment_id": located["segment_id"],
        "chief_id": _chief_for(category, located),
        "worker_id": workers[0]["id"] if workers else None,
        "near_boundary": bool(nearby.candidates),
        "boundary_candidates": json.dumps(nearby.candidates or None),
        "assignee_kind": kind,
        "assignee_id": who,
    }
    if (kind, who) != (inc["assignee_kind"], inc["assignee_id"]):
        changes["status"] = "reported"  # a new assignee has to accept it themselves
    conn.execute(
        text(
            "UPDATE incidents SET geom = ST_SetSRID(ST_MakePoint(:x, :y), 4326), "
            "boundary_candidates = CAST(:bc AS jsonb) WHERE id = :i"
        ),
        {"x": located["x"], "y": located["y"], "bc": changes.pop("boundary_candidates"), "i": inc["id"]},
    )
    return changes, {
        "from": {"lon": old[0], "lat": old[1], "grid": inc["grid_id"]},
        "to": {
            "lon": located["x"],
            "lat": located["y"],
            "grid": located["grid_id"],
            "input": {"lon": data.lon, "lat": data.lat, "crs": data.crs},
        },
        "assignee": {"kind": kind, "id": who},
    }


def _category_any(conn: Connection, code: str) -> dict:
    return dict(conn.execute(text("SELECT * FROM categories WHERE code = :c"), {"c": code}).mappings().one())


def _step_summon(conn, inc, data, ctx):
    if inc["tier"] == "A":
        raise IncidentError(
            409, "A-tier matters stay in the grid: escalate to B before summoning departments"
        )
    codes = data.departments or _category_any(conn, inc["category_code"])["departments"]
    if not codes:
        raise IncidentError(400, "summon needs departments (the category names none)")
    known = {
        r.code: r.report_limit_min
        for r in conn.execute(
            text("SELECT code, report_limit_min FROM departments WHERE code = ANY(:c)"), {"c": list(codes)}
        )
    }
    unknown = sorted(set(codes) - set(known))
    if unknown:
        raise IncidentError(422, f"unknown department(s): {', '.join(unknown)}")
    for code in codes:
        conn.execute(
            text("""
            INSERT INTO summons (incident_id, department_code, summoned_at, due_at)
            VALUES (:i, :d, :now, :due) ON CONFLICT ON CONSTRAINT summons_once DO NOTHING"""),
            {"i": inc["id"], "d": code, "now": ctx.now, "due": ctx.now + timedelta(minutes=known[code])},
        )
    return {}, {"departments": list(codes)}


def _step_report(conn, inc, data, ctx):
    # A department reports for itself; a dispatcher may record a report made by phone.
    p = ctx.principal
    code = p.scope_id if p.role == "department" else data.department
    if not code:
        raise IncidentError(400, "report needs department: the code of the summoned department")
    done = conn.execute(
        text("""
        UPDATE summons SET reported_at = :now, reported_by = :actor
        WHERE incident_id = :i AND department_code = :d AND reported_at IS NULL"""),
        {"now": ctx.now, "actor": p.actor, "i": inc["id"], "d": code},
    ).rowcount
    if not done:
        raise IncidentError(409, f"department {code} has no open summons on incident {inc['id']}")
    return {}, {"department": code}


def _step_rate(conn, inc, data, ctx):
    if data.rating is None:
        raise IncidentError(400, "rate needs rating: 1 to 5 (4 and 5 count as satisfied)")
    if inc["rating"] is not None:
        raise IncidentError(
            409, f"incident {inc['id']} was already rated {inc['rating']}; a rating is given once"
        )
    days = ctx.settings.rating_window_days
    if inc["resolved_at"] is not None and ctx.now > inc["resolved_at"] + timedelta(days=days):
        raise IncidentError(409, f"the rating window closed {days:g} days after resolution")
    return {"rating": data.rating, "rated_at": ctx.now}, {"rating": data.rating}


_STEPS = {name: globals()[f"_step_{name}"] for name in ACTIONS}


def tick(conn: Connection, *, now: datetime, settings: Settings, srid: int, limit: int = 10_000) -> list[int]:
    """Escalate every open incident past its deadline, one level; safe to run twice at once.

    SKIP LOCKED lets two sweeps share the work instead of escalating the same incident twice.
    """
    ids = (
        conn.execute(
            text("""
        SELECT id FROM incidents
        WHERE status NOT IN ('resolved', 'verified', 'closed', 'merged') AND due_at < :now AND tier <> 'D'
        ORDER BY due_at LIMIT :limit FOR UPDATE SKIP LOCKED"""),
            {"now": now, "limit": limit},
        )
        .scalars()
        .all()
    )
    for incident_id in ids:
        act(
            conn,
            None,
            incident_id,
            "escalate",
            {"note": "deadline passed: escalated by the clock"},
            now=now,
            settings=settings,
            srid=srid,
        )
    return list(ids)
