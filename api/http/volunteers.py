"""/api/v1/volunteers: teams, residents' service requests through 点单 → 派单 → 接单 → 完成, and hours."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from api.http.context import now, principal, transaction
from api.http.openapi import contract
from api.http.params import json_body
from core.inputs import HoursQuery, RequestStepIn, ServiceRequestIn, TeamIn, parse, parse_query
from core.residents import row_id
from core.volunteers import add_team, list_teams, request_service, take_step, volunteer_hours

bp = Blueprint("volunteers", __name__, url_prefix="/api/v1/volunteers")
MAX_BODY_BYTES = 65536  # a team with a few hundred members
TAG = "志愿者 volunteers"


@bp.get("/teams")
@contract(TAG)
def teams():
    who = principal()
    with transaction() as conn:
        return jsonify({"teams": list_teams(conn, who)})


@bp.post("/teams")
@contract(TAG, body=TeamIn, ok=201)
def add():
    who = principal()
    body = parse(TeamIn, json_body(MAX_BODY_BYTES, example=' such as {"name": …, "kind": "service"}'))
    with transaction() as conn:
        return jsonify(add_team(conn, who, body, now())), 201


@bp.post("/requests")
@contract(TAG, body=ServiceRequestIn, ok=201)
def order():
    """群众点单: a household's request."""
    who = principal()
    body = parse(ServiceRequestIn, json_body(MAX_BODY_BYTES, example=' such as {"household": 12, "need": …}'))
    with transaction() as conn:
        return jsonify(request_service(conn, who, body, now())), 201


@bp.post("/requests/<request_id>/<step>")
@contract(TAG, body=RequestStepIn)
def step(request_id: str, step: str):
    """``dispatch`` (派单, ``team``), ``accept`` (接单, ``volunteer``), ``complete`` (``hours``, ``note``)."""
    who = principal()
    body = parse(RequestStepIn, json_body(MAX_BODY_BYTES, example=' such as {"team": 3}'))
    with transaction() as conn:
        return jsonify(take_step(conn, who, row_id(request_id, "service request"), step, body, now()))


@bp.get("/hours")
@contract(TAG, query=HoursQuery)
def hours():
    who = principal()
    query = parse_query(HoursQuery, request.args)
    with transaction() as conn:
        return jsonify(volunteer_hours(conn, who, query, now()))
