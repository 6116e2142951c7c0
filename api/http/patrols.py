"""Patrols: plan a route (``POST /plan``), upload a walked GPS log (``POST /tracks``), and see what was walked
(``GET /coverage``)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from api.http.context import connection, now, principal, transaction
from api.http.openapi import contract
from api.http.params import json_body
from core.access import coverage_view, require_plan, street_in_area, track_uploader_area
from core.coverage import street_coverage, street_for
from core.errors import Invalid, NotFound
from core.inputs import CoverageQuery, PatrolPlanIn, TrackQuery, parse, parse_query
from core.patrols import area_inputs, plan, recent_incidents, routes_geojson
from core.periods import PATROL_DAYS, PATROL_MAX_DAYS, period
from core.tracks import import_track
from geo.tracks import FORMATS
from store.hierarchy import person_in_area, street_exists

bp = Blueprint("patrols", __name__, url_prefix="/api/v1/patrols")
MAX_PLAN_BYTES = 4096
TAG = "巡查 patrols"


@bp.post("/plan")
@contract(TAG, body=PatrolPlanIn)
def plan_route():
    who = principal()
    body = parse(PatrolPlanIn, json_body(MAX_PLAN_BYTES, example=' such as {"grid": ID, "patrollers": 2}'))
    require_plan(who, grid=body.grid, chief=body.chief)
    roads, area, labels = area_inputs(connection(), grid=body.grid, street=body.street, chief=body.chief)
    budget = body.budget_min
    incidents = recent_incidents(connection(), area, until=now()) if budget is not None else None
    network, routes = plan(
        roads,
        area,
        body.start,
        speed_kmh=body.speed_kmh,
        patrollers=body.patrollers,
        sides=body.both_sides,
        budget_min=budget,
        incidents=incidents,
        labels=labels,
    )
    return jsonify(routes_geojson(network, routes))


MAX_TRACK_BYTES = 20_000_000  # a whole day's log at one fix a second, as GPX
CONTENT_FORMATS = {
    "application/gpx+xml": "gpx",
    "application/geo+json": "geojson",
    "application/json": "geojson",
    "text/csv": "csv",
}


def _uploader_may(person: str) -> None:
    """Admins upload logs of people in their area only (404 outside it: existence is not leaked)."""
    if not person_in_area(connection(), person, track_uploader_area(principal(), person)):
        raise NotFound(f"no person {person!r}")


@bp.post("/tracks")
@contract(TAG, query=TrackQuery, ok=201)
def upload_track():
    """The body is the file itself (GPX, GeoJSON or CSV); ``?person=``, ``?format=``, ``?crs=wgs84|gcj02|bd09``."""
    who = principal()
    asked = parse_query(TrackQuery, request.args)
    person = asked.person or who.person_id
    if not person:
        raise Invalid("say whose patrol log this is: ?person=ID")
    mime = (request.mimetype or "").lower()
    fmt = asked.format or CONTENT_FORMATS.get(mime)
    if fmt not in FORMATS:
        raise Invalid(
            f"say the track format: ?format={'|'.join(FORMATS)} or a Content-Type of "
            f"{', '.join(CONTENT_FORMATS)}",
        )
    _uploader_may(person)
    request.max_content_length = MAX_TRACK_BYTES
    data = request.get_data(cache=False)
    if not data:
        raise Invalid("the body is empty: send the GPS file itself")
    with transaction() as conn:
        stored = import_track(conn, person, data, fmt, asked.crs, uploaded_by=who.actor)
    return jsonify(stored), 201


@bp.get("/coverage")
@contract(TAG, query=CoverageQuery)
def coverage():
    """What was walked in ``from``..``to`` (default: the last 7 days) on one street, as the caller may see it."""
    who = principal()
    query = parse_query(CoverageQuery, request.args)
    asked = period(
        query.from_,
        query.to,
        now=now(),
        default_days=PATROL_DAYS,
        max_days=PATROL_MAX_DAYS,
    )
    start, end = asked.since, asked.until
    within = query.within_m or current_app.config["SETTINGS"].patrol_within_m
    conn = connection()
    street = street_for(conn, who, query.street)
    if not street_in_area(who, street) or not street_exists(conn, street):
        raise NotFound(f"no street {street!r}")
    return jsonify(coverage_view(street_coverage(conn, street, start, end, within_m=within), who))
