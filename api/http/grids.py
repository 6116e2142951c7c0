"""/api/v1/grids/draw, /resplit, /previews/{id}, /previews/{id}/apply, /{id}/history: grid versions over HTTP."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import Connection

from api.http.context import connection, principal, transaction
from api.http.openapi import contract
from api.http.params import json_body
from core.access import Principal, require_redraw
from core.grids import (
    apply_preview,
    get_preview,
    grid_history,
    make_preview,
    scope_communities,
)
from core.inputs import GridPreviewIn, parse
from store.hierarchy import streets_of

bp = Blueprint("grids", __name__, url_prefix="/api/v1/grids")
MAX_PREVIEW_BYTES = 4096
TAG = "网格 grids"


def _admin_for(conn: Connection, communities: list[str]) -> Principal:
    """Street admins redraw their street's grids; district admins any."""
    who = principal()
    require_redraw(who, lambda: streets_of(conn, communities))
    return who


def _may_redraw() -> None:
    """The role first, before anything is looked up; the street is checked once it is known."""
    who = principal()
    require_redraw(who, lambda: [who.scope_id])


def _preview(kind: str):
    _may_redraw()
    example = ': {"community": ID} or {"street": ID}, optionally target and tolerance'
    body = parse(GridPreviewIn, json_body(MAX_PREVIEW_BYTES, example=example))
    target, tolerance = body.target, body.tolerance
    with transaction() as conn:
        communities = scope_communities(conn, community=body.community, street=body.street)
        who = _admin_for(conn, communities)
        result = make_preview(conn, kind, communities, target=target, tolerance=tolerance, actor=who.actor)
    response = jsonify(result)
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/grids/previews/{result['preview_id']}"
    return response


@bp.post("/draw")
@contract(TAG, body=GridPreviewIn, ok=201)
def draw():
    return _preview("draw")


@bp.post("/resplit")
@contract(TAG, body=GridPreviewIn, ok=201)
def resplit():
    return _preview("resplit")


@bp.get("/previews/<preview_id>")
@contract(TAG)
def preview(preview_id: str):
    _may_redraw()
    row = get_preview(connection(), preview_id)
    _admin_for(connection(), row["community_ids"])
    return jsonify({k: v for k, v in row.items() if k not in ("assignments", "base_fingerprint")})


@bp.post("/previews/<preview_id>/apply")
@contract(TAG)
def apply(preview_id: str):
    _may_redraw()
    with transaction() as conn:
        row = get_preview(conn, preview_id)
        who = _admin_for(conn, row["community_ids"])
        result = apply_preview(conn, preview_id, actor=who.actor)
    return jsonify(result)


@bp.get("/<grid_id>/history")
@contract(TAG, security="public")
def history(grid_id: str):
    return jsonify(grid_history(connection(), grid_id))
