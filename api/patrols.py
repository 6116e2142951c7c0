"""POST /api/v1/patrols/plan: a patrol route for a grid, a street or a street chief's segment."""

from __future__ import annotations

import math

from flask import Blueprint, jsonify, request

from api.app import connection, principal
from api.errors import ApiProblem
from api.patrol_service import area_inputs, plan, routes_geojson
from geo.patrol import PatrolError

bp = Blueprint("patrols", __name__, url_prefix="/api/v1/patrols")
FIELDS = {"grid", "street", "chief", "start", "patrollers", "speed_kmh"}


def _may_plan(body: dict) -> None:
    """Admins plan for anyone; a grid worker for their grid; a street chief their own segment."""
    p = principal()
    if p.role in ("district_admin", "street_admin", "community_admin"):
        return
    if p.role == "grid_worker" and body.get("grid") and body["grid"] == p.scope_id:
        return
    if p.role == "street_chief" and body.get("chief") and body["chief"] == p.person_id:
        return
    raise ApiProblem(403, "a worker plans for their own grid, a chief for their own segment, admins for any")


@bp.post("/plan")
def plan_route():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiProblem(400, 'body must be a JSON object such as {"grid": ID, "patrollers": 2}')
    unknown = set(body) - FIELDS
    if unknown:
        raise ApiProblem(400, f"unknown field(s): {', '.join(sorted(unknown))}")
    _may_plan(body)
    start = body.get("start")
    if start is not None and not (isinstance(start, list) and len(start) == 2
                                  and all(isinstance(v, int | float) and math.isfinite(v) for v in start)):
        raise ApiProblem(400, "start must be [lon, lat] in WGS-84")
    try:
        patrollers, speed = int(body.get("patrollers", 1)), float(body.get("speed_kmh", 4.0))
    except (TypeError, ValueError):
        raise ApiProblem(400, "patrollers must be an integer and speed_kmh a number") from None
    try:
        roads, area = area_inputs(connection(), grid=body.get("grid"), street=body.get("street"),
                                  chief=body.get("chief"))
        network, routes = plan(roads, area, tuple(start) if start else None, speed_kmh=speed, patrollers=patrollers)
    except PatrolError as exc:
        status = 404 if str(exc).startswith("no ") else 422
        raise ApiProblem(status, str(exc)) from None
    return jsonify(routes_geojson(network, routes))
