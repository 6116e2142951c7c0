"""/api/v1/grids/draw, /resplit, /previews/{id}, /previews/{id}/apply, /{id}/history: grid versions over HTTP."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import text

from api.http.context import connection, principal, transaction
from api.http.problems import ApiProblem
from core.grids import (
    apply_preview,
    get_preview,
    grid_history,
    make_preview,
    scope_communities,
)

bp = Blueprint("grids", __name__, url_prefix="/api/v1/grids")


def _admin_for(communities: list[str]):
    """Street admins redraw their street's grids; district admins any."""
    p = principal()
    if p.role == "district_admin":
        return p
    if p.role == "street_admin":
        streets = (
            connection()
            .execute(
                text("SELECT DISTINCT street_id FROM communities WHERE id = ANY(:c)"), {"c": communities}
            )
            .scalars()
            .all()
        )
        if streets == [p.scope_id]:
            return p
    raise ApiProblem(403, "redrawing grids is for the street's command centre or the district")


def _preview(kind: str):
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiProblem(
            400,
            'body must be a JSON object: {"community": ID} or {"street": ID}, '
            "optionally target and tolerance",
        )
    unknown = set(body) - {"community", "street", "target", "tolerance"}
    if unknown:
        raise ApiProblem(400, f"unknown field(s): {', '.join(sorted(unknown))}")
    try:
        target, tolerance = int(body.get("target", 500)), float(body.get("tolerance", 0.1))
    except (TypeError, ValueError):
        raise ApiProblem(400, "target must be an integer and tolerance a number") from None
    with transaction() as conn:
        communities = scope_communities(conn, community=body.get("community"), street=body.get("street"))
        who = _admin_for(communities)
        result = make_preview(conn, kind, communities, target=target, tolerance=tolerance, actor=who.actor)
    response = jsonify(result)
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/grids/previews/{result['preview_id']}"
    return response


@bp.post("/draw")
def draw():
    return _preview("draw")


@bp.post("/resplit")
def resplit():
    return _preview("resplit")


@bp.get("/previews/<preview_id>")
def preview(preview_id: str):
    row = get_preview(connection(), preview_id)
    _admin_for(row["community_ids"])
    return jsonify(
        {
            k: (v.isoformat() if hasattr(v, "isoformat") else v)
            for k, v in row.items()
            if k not in ("assignments", "base_fingerprint")
        }
    )


@bp.post("/previews/<preview_id>/apply")
def apply(preview_id: str):
    with transaction() as conn:
        row = get_preview(conn, preview_id)
        who = _admin_for(row["community_ids"])
        result = apply_preview(conn, preview_id, actor=who.actor)
    return jsonify(result)


@bp.get("/<grid_id>/history")
def history(grid_id: str):
    return jsonify(grid_history(connection(), grid_id))
