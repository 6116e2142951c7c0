"""Volunteers and residents' service requests: 群众点单 → 政府派单 → 志愿者接单 → 完成 (seed 003).

Staff who keep a household's register record what it asks for (点单); an admin of its area sends it to a
volunteer team of its street (派单); a member of that team takes it (接单) and, done, records the hours
given. Each step is taken once, in order (409 otherwise). Teams belong to a street; the hours report sums
completed requests per volunteer and team, for street and district command centres.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from core.access import Principal
from core.errors import Conflict, Forbidden, Invalid, NotFound, Unprocessable
from core.inputs import HoursQuery, RequestStepIn, ServiceRequestIn, TeamIn
from core.periods import period
from core.residents import register_area
from core.vocabulary import REQUEST_STATE_LABELS, TEAM_KIND_LABELS, label
from store import residents as register
from store import volunteers as store
from store.hierarchy import street_exists

# step → (state it leaves, state it enters, the field of the body it needs)
STEPS = {
    "dispatch": ("requested", "dispatched", "team"),
    "accept": ("dispatched", "accepted", "volunteer"),
    "complete": ("accepted", "completed", "hours"),
}


def _actor(p: Principal | None) -> str:
    return p.actor if p else "operator"


def list_teams(conn: Connection, p: Principal | None, street: str | None = None) -> list[dict]:
    register_area(p)  # staff only
    return [{**t, "kind_label": label(TEAM_KIND_LABELS, t["kind"])} for t in store.teams(conn, street)]


def add_team(conn: Connection, p: Principal | None, body: TeamIn, now: datetime) -> dict:
    """A team of the caller's street (street admins) or of any street (the district)."""
    street = body.street
    if p is not None and p.role == "street_admin":
        if street not in (None, p.scope_id):
            raise Forbidden("a street admin adds teams of their own street")
        street = p.scope_id
    elif p is not None and p.role != "district_admin":
        raise Forbidden("volunteer teams are added by the street's command centre or the district")
    if street is None:
        raise Invalid("street: say which street the team serves")
    if not street_exists(conn, street):
        raise Unprocessable(f"unknown street {street!r}")
    team = {"name": body.name, "kind": body.kind, "street_id": street, "created_at": now}
    team_id = store.insert_team(conn, team, [m.model_dump() for m in body.members])
    return next(t for t in list_teams(conn, None, street) if t["id"] == team_id)


def _request_in_area(conn: Connection, p: Principal | None, request_id: int) -> dict:
    area = register_area(p)
    row = store.request_row(conn, request_id)
    if row is None or (area is not None and row[f"{area[0]}_id"] != area[1]):
        raise NotFound(f"no service request {request_id}")
    return row


def shape(row: dict) -> dict:
    return {**row, "status_label": label(REQUEST_STATE_LABELS, row["status"])}


def request_service(conn: Connection, p: Principal | None, body: ServiceRequestIn, now: datetime) -> dict:
    """群众点单: a household of the caller's register asks for a service."""
    area = register_area(p)
    place = register.household_place(conn, body.household)
    if place is None or (area is not None and place[f"{area[0]}_id"] != area[1]):
        raise NotFound(f"no household {body.household}")
    request = {
        "household_id": body.household,
        "need": body.need,
        "skill": body.skill,
        "requested_at": now,
        "requested_by": _actor(p),
    }
    return shape(_request_in_area(conn, p, store.insert_request(conn, request)))


def _step_values(
    conn: Connection, p: Principal | None, row: dict, step: str, body: RequestStepIn, now: datetime
) -> dict:
    """What a step records, after checking who takes it and with what."""
    if step == "dispatch":
        if p is not None and not p.is_admin:
            raise Forbidden("派单 dispatching is for the community, street and district admins")
        if store.team_street(conn, body.team) != row["street_id"]:  # type: ignore[arg-type]
            raise Unprocessable(f"team {body.team} is not a volunteer team of street {row['street_id']}")
        return {"team_id": body.team, "dispatched_at": now, "dispatched_by": _actor(p)}
    if step == "accept":
        if store.volunteer_team(conn, body.volunteer) != row["team_id"]:  # type: ignore[arg-type]
            raise Unprocessable(f"volunteer {body.volunteer} is not a member of team {row['team_id']}")
        return {"volunteer_id": body.volunteer, "accepted_at": now}
    return {"completed_at": now, "hours": body.hours, "note": body.note}


def take_step(
    conn: Connection, p: Principal | None, request_id: int, step: str, body: RequestStepIn, now: datetime
) -> dict:
    """派单 (``team``), 接单 (``volunteer``) or 完成 (``hours``, ``note``), each once and in order."""
    if step not in STEPS:
        raise NotFound(f"no step {step[:40]!r}: one of {', '.join(STEPS)}")
    leaving, entering, needs = STEPS[step]
    row = _request_in_area(conn, p, request_id)
    if getattr(body, needs) is None:
        raise Invalid(f"{needs}: {step} needs it")
    if row["status"] != leaving:
        raise Conflict(f"request {request_id} is {row['status']}; {step} takes a {leaving} one")
    if not store.step(conn, request_id, leaving, entering, _step_values(conn, p, row, step, body, now)):
        raise Conflict(f"request {request_id} changed under us: someone took the step first")
    return shape(_request_in_area(conn, p, request_id))


def volunteer_hours(conn: Connection, p: Principal | None, query: HoursQuery, now: datetime) -> dict:
    """Hours given in the period per volunteer, and per team (street and district command centres)."""
    street = query.street
    if p is not None and p.role == "street_admin":
        if street not in (None, p.scope_id):
            raise NotFound(f"no street {street!r}")
        street = p.scope_id
    elif p is not None and p.role != "district_admin":
        raise Forbidden("the volunteer-hours report is for the street's command centre and the district")
    asked = period(query.from_, query.to, now=now)
    rows = store.hours_rows(conn, street, asked.since, asked.until)
    teams: dict[int, dict] = {}
    for r in rows:
        team = teams.setdefault(
            r["team_id"], {"team_id": r["team_id"], "team_name": r["team_name"], "hours": 0.0}
        )
        team["hours"] += r["hours"]
    return {"from": asked.since, "to": asked.until, "volunteers": rows, "teams": list(teams.values())}
