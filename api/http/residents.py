"""/api/v1/residents: the register (staff only), its special groups, visits and overdue visits, the access
log. Every read of a person's record writes its access-log row in the same transaction as the answer."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from api.http.context import connection, now, principal, transaction
from api.http.maps import page
from api.http.openapi import contract
from api.http.params import json_body, page_links
from core.errors import Invalid
from core.informants import add_informant, list_informants
from core.inputs import (
    AccessLogQuery,
    InformantIn,
    InformantQuery,
    OverdueQuery,
    ResidentFieldsIn,
    ResidentIn,
    ResidentListQuery,
    ResidentSearchIn,
    SpecialGroupIn,
    VisitIn,
    parse,
    parse_query,
)
from core.resident_visits import overdue_map_frames, overdue_visits, record_visit
from core.residents import (
    access_log,
    add_resident,
    change_resident,
    find_by_id_number,
    get_resident,
    list_groups,
    list_residents,
    put_group,
    register_area,
    row_id,
)
from maps.basemaps import BaseMapError, base_map
from maps.residents import overdue_visits_map

bp = Blueprint("residents", __name__, url_prefix="/api/v1/residents")
# The staff-only map page lives with the maps, outside /api/v1.
maps_bp = Blueprint("resident_maps", __name__)
MAX_BODY_BYTES = 8192
TAG = "居民 residents"


@bp.get("")
@contract(TAG, query=ResidentListQuery)
def residents():
    """A page of the register as the caller may see it (``grid``, ``building``, ``household``, ``group``)."""
    who = principal()
    query = parse_query(ResidentListQuery, request.args)
    with transaction() as conn:
        return jsonify(_paged(list_residents(conn, who, query, now())))


@bp.post("")
@contract(TAG, body=ResidentIn, ok=201)
def add():
    who = principal()
    body = parse(
        ResidentIn, json_body(MAX_BODY_BYTES, example=' such as {"building": ID, "room": "301", "name": …}')
    )
    with transaction() as conn:
        person = add_resident(conn, who, body, now())
    response = jsonify(person)
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/residents/{person['id']}"
    return response


@bp.get("/<resident_id>")
@contract(TAG)
def one(resident_id: str):
    who = principal()
    with transaction() as conn:
        return jsonify(get_resident(conn, who, row_id(resident_id), now()))


@bp.patch("/<resident_id>")
@contract(TAG, body=ResidentFieldsIn)
def change(resident_id: str):
    """Change the fields sent; null clears one, ``groups`` replaces the tags."""
    who = principal()
    body = parse(ResidentFieldsIn, json_body(MAX_BODY_BYTES, example=' such as {"phone": "13800138000"}'))
    with transaction() as conn:
        return jsonify(change_resident(conn, who, row_id(resident_id), body, now()))


@bp.post("/search")
@contract(TAG, body=ResidentSearchIn)
def search():
    """A person by ID-card number, sent in the body so that no URL or log line carries it."""
    who = principal()
    body = parse(ResidentSearchIn, json_body(MAX_BODY_BYTES, example=' such as {"id_number": "…"}'))
    with transaction() as conn:
        return jsonify(find_by_id_number(conn, who, body.id_number, now()))


@bp.get("/groups")
@contract(TAG)
def groups():
    who = principal()
    with transaction() as conn:
        return jsonify({"groups": list_groups(conn, who)})


@bp.post("/groups")
@contract(TAG, body=SpecialGroupIn)
def put_groups():
    who = principal()
    body = parse(SpecialGroupIn, json_body(MAX_BODY_BYTES, example=' such as {"code": "lonely_elder", …}'))
    with transaction() as conn:
        return jsonify(put_group(conn, who, body))


@bp.post("/visits")
@contract(TAG, body=VisitIn, ok=201)
def visit():
    who = principal()
    body = parse(VisitIn, json_body(MAX_BODY_BYTES, example=' such as {"household": 12, "note": "…"}'))
    with transaction() as conn:
        return jsonify(record_visit(conn, who, body, now())), 201


@bp.get("/visits/overdue")
@contract(TAG, query=OverdueQuery)
def overdue():
    who = principal()
    query = parse_query(OverdueQuery, request.args)
    with transaction() as conn:
        return jsonify(overdue_visits(conn, who, now(), grid=query.grid, worker=query.worker))


@bp.get("/access-log")
@contract(TAG, query=AccessLogQuery)
def log():
    """Who read whose record, when: for the district command centre."""
    who = principal()
    query = parse_query(AccessLogQuery, request.args)
    with transaction() as conn:
        return jsonify(_paged(access_log(conn, who, query, now())))


def _paged(body: dict) -> dict:
    """A list with its ``prev`` and ``next`` links (the same query, another offset)."""
    return body | {"links": page_links(body["offset"], body["limit"], body["total"])}


@bp.get("/informants")
@contract(TAG, query=InformantQuery)
def informants():
    """Informants of the caller's area (``worker``), and each worker's count against the minimum."""
    who = principal()
    query = parse_query(InformantQuery, request.args)
    with transaction() as conn:
        return jsonify(list_informants(conn, who, query.worker))


@bp.post("/informants")
@contract(TAG, body=InformantIn, ok=201)
def add_informants():
    who = principal()
    body = parse(InformantIn, json_body(MAX_BODY_BYTES, example=' such as {"name": …, "phone": …}'))
    with transaction() as conn:
        return jsonify(add_informant(conn, who, body, now())), 201


@maps_bp.get("/maps/visits")
def visits_map():
    """Overdue visits on a map (``grid``, ``base``): staff with the register only, before anything is read."""
    who = principal()
    register_area(who)
    try:
        base = base_map(request.args.get("base"))
    except BaseMapError as exc:
        raise Invalid(str(exc)) from None
    conn = connection()
    grids, households = overdue_map_frames(conn, who, now(), grid=request.args.get("grid") or None)
    source = f"Wangge 数据库 database {conn.engine.url.database}"
    return page(overdue_visits_map(grids, households, base, source=source, data_time=now()))
