"""An incident's life after intake: one step at a time (accept, dispatch, …, rate), each checked against
the state machine and the caller's part in the case, each written with its event; and the clock's sweep
that escalates what is overdue.

Every function takes a connection inside the caller's transaction and ``now`` (the injectable clock);
a refusal raises a ``core.errors`` error before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import Field, StrictInt, ValidationError
from sqlalchemy import Connection

from core.access import Principal, incident_roles, reporting_department, visible_incidents
from core.errors import Conflict, Forbidden, Invalid, NotFound, Unprocessable, validation_detail
from core.incidents.intake import chief_for, locate, nearby_params
from core.incidents.views import fetch, incident_view
from core.incidents.workflow import (
    ACTIONS,
    BAD_RATING,
    TransitionRefused,
    check_transition,
    level_assignee,
    next_tier,
    route,
)
from core.inputs import Body, Id, Latitude, Longitude, LongText
from core.outbox import step_messages, summoned
from core.vocabulary import LEVEL_OF_TIER
from core.workdays import completion_due
from geo.coords import CoordSystem
from geo.settings import Settings
from store import incidents as store
from store import outbox
from store import photos as photo_store
from store.hierarchy import person_exists, person_in_area


@dataclass(frozen=True)
class StepContext:
    principal: Principal | None
    now: datetime
    settings: Settings
    srid: int


class ActionIn(Body):
    """The body of POST /api/v1/incidents/{id}/{action}; which fields matter depends on the action.
    ``note`` is for the staff (never shown to the reporter); ``reply`` is what the reporter reads."""

    note: LongText | None = None
    reply: LongText | None = None
    assignee_id: Id | None = None
    departments: list[Id] | None = Field(default=None, max_length=20)
    department: Id | None = None
    rating: Annotated[StrictInt, Field(ge=1, le=5)] | None = None
    into: Annotated[StrictInt, Field(ge=1)] | None = None
    lon: Longitude | None = None
    lat: Latitude | None = None
    crs: CoordSystem = "wgs84"


# What a step changes on the incident, and what its event records beside the move.
Step = tuple[dict, dict | None]


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
        raise NotFound(f"unknown action {action!r}; actions: {', '.join(ACTIONS)}")
    try:
        data = ActionIn.model_validate(body or {})
    except ValidationError as exc:
        raise Invalid(validation_detail(exc)) from None
    if action == "merge" and data.into is not None:
        # Both rows locked in id order before either is read: a→b and b→a at once wait, never deadlock.
        store.lock_incidents(conn, (incident_id, data.into))
    inc = fetch(conn, incident_id, p, lock=True)
    try:
        spec = check_transition(action, inc["status"])
    except TransitionRefused as exc:
        raise Conflict(str(exc), status_now=inc["status"]) from None
    if not incident_roles(p, inc) & spec.by:
        raise Forbidden(
            f"{action} is for the {' or '.join(sorted(spec.by))} of this incident; "
            f"you are {p.role if p else 'system'}",
        )
    changes, event = STEPS[action](conn, inc, data, StepContext(p, now, settings, srid))
    target = spec.target or changes.pop("status", None) or inc["status"]
    changes["status"] = target
    if data.reply:
        event = {**(event or {}), "reply": data.reply}
    store.record_step(
        conn,
        incident_id,
        changes,
        at=now,
        actor=p.actor if p else "system",
        role=p.role if p else "system",
        action=action,
        from_status=inc["status"],
        note=data.note,
        data=event,
    )
    # Whoever the step concerns is told, in this same transaction: no event without its message.
    after = {**inc, **changes, "changed_at": now}
    outbox.enqueue(conn, incident_id, step_messages(conn, inc, action, after, settings), now)
    return incident_view(conn, incident_id, p) if p is not None else {"id": incident_id, "status": target}


def tick(conn: Connection, *, now: datetime, settings: Settings, srid: int, limit: int = 10_000) -> list[int]:
    """Escalate every open incident past its deadline, one level; safe to run twice at once."""
    ids = store.overdue_ids(conn, now, limit)
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
    return ids


# ---- the steps --------------------------------------------------------------------------------


def _require_note(data: ActionIn, why: str) -> None:
    if not data.note:
        raise Invalid(f"a note is required: {why}")


def _no_unreported_summons(conn: Connection, inc: dict) -> None:
    waiting = store.waiting_summons(conn, inc["id"])
    if waiting:
        raise Conflict(f"summoned departments have not reported yet: {', '.join(waiting)}", waiting=waiting)


def _previous(inc: dict) -> dict:
    return {"kind": inc["assignee_kind"], "id": inc["assignee_id"]}


def _step_accept(conn: Connection, inc: dict, data: ActionIn, ctx: StepContext) -> Step:
    return {"accepted_at": inc["accepted_at"] or ctx.now}, None


def _step_dispatch(conn: Connection, inc: dict, data: ActionIn, ctx: StepContext) -> Step:
    if data.assignee_id is None:
        if inc["assignee_kind"] != "person":
            raise Invalid("dispatch needs assignee_id: the incident has no person assigned")
        return {}, {"assignee": inc["assignee_id"]}
    if not person_exists(conn, data.assignee_id):
        raise Unprocessable(f"unknown person {data.assignee_id!r}")
    _assignee_in_reach(conn, inc, data.assignee_id, ctx.principal)
    return {"assignee_kind": "person", "assignee_id": data.assignee_id}, {
        "assignee": data.assignee_id,
        "previous": _previous(inc),
    }


def _assignee_in_reach(conn: Connection, inc: dict, person_id: str, p: Principal | None) -> None:
    """A case goes to someone who works where it is, and within the dispatcher's own area: a
    community cannot hand its case to another community's worker."""
    places = [("street", inc["street_id"])] if inc["street_id"] else []
    if p is not None and p.area is not None:
        places.append(p.area)
    for area in places:
        if not person_in_area(conn, person_id, area):
            raise Unprocessable(
                f"{person_id} 不在 {area[1]} 工作 works outside {area[0]} {area[1]}: "
                "dispatch to a person of the incident's street and your own area"
            )


def _step_nothing(conn: Connection, inc: dict, data: ActionIn, ctx: StepContext) -> Step:
    """start and verify change the status alone."""
    return {}, None


def _step_return(conn: Connection, inc: dict, data: ActionIn, ctx: StepContext) -> Step:
    _require_note(data, "say why the incident is returned")
    tier = inc["tier"]
    kind, who = ("street", inc["street_id"]) if tier in ("A", "B") else (LEVEL_OF_TIER[tier], None)
    return {"assignee_kind": kind, "assignee_id": who}, {"previous": _previous(inc)}


def _step_resolve(conn: Connection, inc: dict, data: ActionIn, ctx: StepContext) -> Step:
    _no_unreported_summons(conn, inc)
    _require_after_photo(conn, inc)
    return {"resolved_at": ctx.now}, None


def _require_after_photo(conn: Connection, inc: dict) -> None:
    """A category may require an after-photo before its cases are resolved."""
    if photo_store.after_photo_required(conn, inc["category_code"]) and not photo_store.has_after_photo(
        conn, inc["id"]
    ):
        raise Unprocessable(
            f"类别 {inc['category_code']} 办结须上传处置后照片 category {inc['category_code']} requires an "
            f"'after' photo before resolving: POST /api/v1/incidents/{inc['id']}/photos with stage=after"
        )


def _step_close(conn: Connection, inc: dict, data: ActionIn, ctx: StepContext) -> Step:
    _no_unreported_summons(conn, inc)
    return {"closed_at": ctx.now}, None


def _step_escalate(conn: Connection, inc: dict, data: ActionIn, ctx: StepContext) -> Step:
    try:
        tier = next_tier(inc["tier"])
    except TransitionRefused as exc:
        raise Conflict(str(exc)) from None
    kind, who = level_assignee(tier, {"street_id": inc["street_id"], "community_id": inc["community_id"]})
    response_min, completion_h = ctx.settings.tier_limits[tier]
    changes = {
        "tier": tier,
        "assignee_kind": kind,
        "assignee_id": who,
        "escalations": inc["escalations"] + 1,
        "due_at": completion_due(ctx.now, completion_h, ctx.settings),
    }
    return changes, {
        "from_tier": inc["tier"],
        "to_tier": tier,
        "overdue": inc["due_at"] < ctx.now,
        "respond_within_min": response_min,
    }


def _step_merge(conn: Connection, inc: dict, data: ActionIn, ctx: StepContext) -> Step:
    if data.into is None or data.into == inc["id"]:
        raise Invalid("merge needs 'into': the id of another incident")
    # A target the caller may not see is answered as one that does not exist: its state is not leaked.
    target = store.incident_row(conn, data.into, visible_incidents(ctx.principal))
    if target is None:
        raise Unprocessable(f"no incident {data.into} that you can see to merge into")
    if target["status"] == "merged":
        raise Conflict(f"incident {data.into} is itself merged; merge into the one it was merged into")
    return {"merged_into": data.into}, {"into": data.into}


def _step_move(conn: Connection, inc: dict, data: ActionIn, ctx: StepContext) -> Step:
    if data.lon is None or data.lat is None:
        raise Invalid("move needs lon and lat (and crs if not wgs84)")
    category = store.any_category(conn, inc["category_code"])
    located = locate(conn, data.lon, data.lat, data.crs, ctx.settings, ctx.srid)
    x, y = located["x"], located["y"]
    candidates, _ = store.nearby(conn, nearby_params(x, y, category, ctx.now, ctx.settings, ctx.srid))
    same_tier = inc["tier"] == category["tier"]
    kind, who = route(category, located) if same_tier else level_assignee(inc["tier"], located)
    old_x, old_y = store.point_of(conn, inc["id"])
    workers = located.get("grid_workers") or []
    changes = {
        **{f"{k}_id": located[f"{k}_id"] for k in ("street", "community", "grid", "building", "segment")},
        "chief_id": chief_for(category, located),
        "worker_id": workers[0]["id"] if workers else None,
        "near_boundary": bool(candidates),
        "assignee_kind": kind,
        "assignee_id": who,
    }
    if (kind, who) != (inc["assignee_kind"], inc["assignee_id"]):
        changes["status"] = "reported"  # a new assignee has to accept it themselves
    store.move_point(conn, inc["id"], x, y, candidates)
    return changes, {
        "from": {"lon": old_x, "lat": old_y, "grid": inc["grid_id"]},
        "to": {
            "lon": x,
            "lat": y,
            "grid": located["grid_id"],
            "input": {"lon": data.lon, "lat": data.lat, "crs": data.crs},
        },
        "assignee": {"kind": kind, "id": who},
    }


def _step_summon(conn: Connection, inc: dict, data: ActionIn, ctx: StepContext) -> Step:
    if inc["tier"] == "A":
        raise Conflict("A-tier matters stay in the grid: escalate to B before summoning departments")
    codes = data.departments or store.any_category(conn, inc["category_code"])["departments"]
    if not codes:
        raise Invalid("summon needs departments (the category names none)")
    known = store.report_limits(conn, codes)
    unknown = sorted(set(codes) - set(known))
    if unknown:
        raise Unprocessable(f"unknown department(s): {', '.join(unknown)}")
    dues = {c: ctx.now + timedelta(minutes=known[c]) for c in codes}
    added = store.add_summons(conn, inc["id"], dues, ctx.now)
    outbox.enqueue(conn, inc["id"], [summoned(c, dues[c]) for c in added], ctx.now)
    return {}, {"departments": list(codes)}


def _step_report(conn: Connection, inc: dict, data: ActionIn, ctx: StepContext) -> Step:
    # A department reports for itself; a dispatcher may record a report made by phone.
    p = ctx.principal
    assert p is not None  # the system never reports for a department
    code = reporting_department(p, data.department)
    if not code:
        raise Invalid("report needs department: the code of the summoned department")
    if not store.report_summons(conn, inc["id"], code, ctx.now, p.actor):
        raise Conflict(f"department {code} has no open summons on incident {inc['id']}")
    return {}, {"department": code}


def _within_rating_window(inc: dict, ctx: StepContext) -> None:
    days = ctx.settings.rating_window_days
    if inc["resolved_at"] is not None and ctx.now > inc["resolved_at"] + timedelta(days=days):
        raise Conflict(f"the rating window closed {days:g} days after resolution")


def _reopened(conn: Connection, inc: dict, ctx: StepContext) -> dict:
    """A reopened case is unresolved again, with a fresh completion deadline of its category's length."""
    hours = store.any_category(conn, inc["category_code"])["completion_limit_h"]
    return {
        "reopens": inc["reopens"] + 1,
        "resolved_at": None,
        "closed_at": None,
        "due_at": completion_due(ctx.now, hours, ctx.settings),
    }


def _step_reopen(conn: Connection, inc: dict, data: ActionIn, ctx: StepContext) -> Step:
    _within_rating_window(inc, ctx)
    changes = _reopened(conn, inc, ctx)
    return changes, {"due_at": changes["due_at"], "reopens": changes["reopens"]}


def _step_rate(conn: Connection, inc: dict, data: ActionIn, ctx: StepContext) -> Step:
    if data.rating is None:
        raise Invalid("rate needs rating: 1 to 5 (4 and 5 count as satisfied)")
    # Once per resolution: a case reopened and resolved again is rated again (the last rating counts).
    if inc["rating"] is not None and (inc["resolved_at"] is None or inc["rated_at"] >= inc["resolved_at"]):
        raise Conflict(f"incident {inc['id']} was already rated {inc['rating']}; a rating is given once")
    _within_rating_window(inc, ctx)
    rater = "callback" if ctx.principal is not None and ctx.principal.role == "callback" else "reporter"
    changes = {"rating": data.rating, "rated_at": ctx.now, "rated_by": rater}
    event: dict = {"rating": data.rating, "by": rater}
    if rater == "reporter" and data.rating <= BAD_RATING:
        # 差评督办: the reporter's bad rating reopens the case under supervision.
        changes |= {**_reopened(conn, inc, ctx), "duban": True, "status": "reopened"}
        event |= {"duban": True, "due_at": changes["due_at"]}
    return changes, event


STEPS: dict[str, Callable[[Connection, dict, ActionIn, StepContext], Step]] = {
    "accept": _step_accept,
    "dispatch": _step_dispatch,
    "start": _step_nothing,
    "return": _step_return,
    "resolve": _step_resolve,
    "verify": _step_nothing,
    "close": _step_close,
    "escalate": _step_escalate,
    "merge": _step_merge,
    "move": _step_move,
    "summon": _step_summon,
    "report": _step_report,
    "rate": _step_rate,
    "reopen": _step_reopen,
}
