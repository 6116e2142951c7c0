"""Patrols: plan a route (``POST /plan``), upload a walked GPS log (``POST /tracks``), and see what was walked
(``GET /coverage``)."""

from __future__ import annotations

import math
from datetime import timedelta

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import text

from api.http.context import connection, now, principal, transaction
from api.http.params import ParamError, finite_number, iso_time
from api.http.problems import ApiProblem
from core.coverage import street_coverage, street_for, visible
from core.patrols import area_inputs, plan, recent_incidents, routes_geojson
from core.tracks import import_track
from geo.patrol import PatrolError
from geo.tracks import FORMATS, TrackError

bp = Blueprint("patrols", __name__, url_prefix="/api/v1/patrols")
FIELDS = {"grid", "street", "chief", "start", "patrollers", "speed_kmh", "both_sides", "budget_min"}


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
    if start is not None and not (
        isinstance(start, list)
        and len(start) == 2
        and all(isinstance(v, int | float) and math.isfinite(v) for v in start)
    ):
        raise ApiProblem(400, "start must be [lon, lat] in WGS-84")
    try:
        patrollers, speed = int(body.get("patrollers", 1)), float(body.get("speed_kmh", 4.0))
    except (TypeError, ValueError):
        raise ApiProblem(400, "patrollers must be an integer and speed_kmh a number") from None
    try:
        roads, area, labels = area_inputs(
            connection(), grid=body.get("grid"), street=body.get("street"), chief=body.get("chief")
        )
        budget = body.get("budget_min")
        if budget is not None and (not isinstance(budget, int | float) or isinstance(budget, bool)):
            raise ApiProblem(400, "budget_min must be a number of minutes")
        incidents = recent_incidents(connection(), area, until=now()) if budget is not None else None
        network, routes = plan(
            roads,
            area,
            tuple(start) if start else None,
            speed_kmh=speed,
            patrollers=patrollers,
            sides=body.get("both_sides") is True,
            budget_min=budget,
            incidents=incidents,
            labels=labels,
        )
    except PatrolError as exc:
        status = 404 if str(exc).startswith("no ") else 422
        raise ApiProblem(status, str(exc)) from None
    return jsonify(routes_geojson(network, routes))


MAX_TRACK_BYTES = 20_000_000  # a whole day's log at one fix a second, as GPX
CONTENT_FORMATS = {
    "application/gpx+xml": "gpx",
    "application/geo+json": "geojson",
    "application/json": "geojson",
    "text/csv": "csv",
}
PERSON_AREA = """SELECT p.id FROM people p LEFT JOIN grids g ON g.id = p.grid_id
    LEFT JOIN communities c ON c.id = COALESCE(p.community_id, g.community_id)
    WHERE p.id = :p AND (CAST(:street AS text) IS NULL OR COALESCE(p.street_id, c.street_id) = :street)
    AND (CAST(:community AS text) IS NULL OR c.id = :community)"""


def _uploader_may(person: str) -> None:
    """Workers and chiefs upload their own logs; admins anyone's in their area (404 outside it: no leak)."""
    who = principal()
    if who.role in ("grid_worker", "street_chief"):
        if person != who.person_id:
            raise ApiProblem(403, "a worker or chief uploads only their own patrol logs")
        return
    if not who.is_admin:
        raise ApiProblem(403, "patrol logs are uploaded by grid workers, street chiefs and admins")
    kind, scope = who.area or (None, None)
    found = (
        connection()
        .execute(
            text(PERSON_AREA),
            {
                "p": person,
                "street": scope if kind == "street" else None,
                "community": scope if kind == "community" else None,
            },
        )
        .first()
    )
    if found is None:
        raise ApiProblem(404, f"no person {person!r}")


@bp.post("/tracks")
def upload_track():
    """The body is the file itself (GPX, GeoJSON or CSV); ``?person=``, ``?format=``, ``?crs=wgs84|gcj02|bd09``."""
    who = principal()
    person = request.args.get("person") or who.person_id
    if not person:
        raise ApiProblem(400, "say whose patrol log this is: ?person=ID")
    mime = (request.mimetype or "").lower()
    fmt = request.args.get("format") or CONTENT_FORMATS.get(mime)
    if fmt not in FORMATS:
        raise ApiProblem(
            400,
            f"say the track format: ?format={'|'.join(FORMATS)} or a Content-Type of "
            f"{', '.join(CONTENT_FORMATS)}",
        )
    _uploader_may(person)
    request.max_content_length = MAX_TRACK_BYTES
    data = request.get_data(cache=False)
    if not data:
        raise ApiProblem(400, "the body is empty: send the GPS file itself")
    try:
        with transaction() as conn:
            stored = import_track(
                conn, person, data, fmt, request.args.get("crs", "wgs84"), uploaded_by=who.actor
            )
    except TrackError as exc:
        raise ApiProblem(404 if str(exc).startswith("no person") else 422, str(exc)) from None
    return jsonify(stored), 201


@bp.get("/coverage")
def coverage():
    """What was walked in ``from``..``to`` (default: the last 7 days) on one street, as the caller may see it."""
    who = principal()
    end = iso_time("to", request.args.get("to")) or now()
    start = iso_time("from", request.args.get("from")) or end - timedelta(days=7)
    if start >= end:
        raise ParamError(f"from {start.isoformat()} must be before to {end.isoformat()}")
    if end - start > timedelta(days=93):
        raise ParamError("a coverage period may be at most 93 days")
    within = (
        finite_number("within_m", request.args.get("within_m"))
        or current_app.config["SETTINGS"].patrol_within_m
    )
    if not 1 <= within <= 200:
        raise ParamError(f"within_m {within} is outside 1..200")
    conn = connection()
    street = street_for(conn, who, request.args.get("street"))
    if who.area and who.area[0] == "street" and street != who.scope_id:
        raise ApiProblem(404, f"no street {street!r}")
    if conn.execute(text("SELECT 1 FROM streets WHERE id = :s"), {"s": street}).first() is None:
        raise ApiProblem(404, f"no street {street!r}")
    return jsonify(visible(street_coverage(conn, street, start, end, within_m=within), who))
