"""GET /api/v1/locate: one point → street, community, grid, building, segment, its chiefs, the grid worker."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from api.http.context import connection, metric_srid
from api.http.params import finite_number
from core.errors import Invalid
from core.people import public_person
from geo.coords import COORD_SYSTEMS, CoordinateError, to_wgs84
from store.locate import locate_point

bp = Blueprint("locating", __name__, url_prefix="/api/v1")


def _coordinate(name: str) -> float:
    value = finite_number(name, request.args.get(name))
    if value is None:
        raise Invalid(f"缺少参数 missing query parameter {name!r}")
    return value


@bp.get("/locate")
def locate():
    lon, lat = _coordinate("lon"), _coordinate("lat")
    crs = request.args.get("crs", "wgs84").lower()
    if crs not in COORD_SYSTEMS:
        raise Invalid(f"crs {crs!r} is not one of {', '.join(COORD_SYSTEMS)}")
    try:
        x, y = to_wgs84(lon, lat, crs)
    except CoordinateError as exc:
        raise Invalid(str(exc)) from None
    x, y = float(x), float(y)
    conn = connection()
    row = locate_point(conn, x, y, srid=metric_srid(conn), search_m=current_app.config["SEGMENT_SEARCH_M"])

    def level(prefix: str) -> dict | None:
        return {"id": row[f"{prefix}_id"], "name": row[f"{prefix}_name"]} if row[f"{prefix}_id"] else None

    segment = None
    if row["segment_id"]:
        segment = {
            "id": row["segment_id"],
            "name": row["segment_name"],
            "road_name": row["road_name"],
            "from": row["from_desc"],
            "to": row["to_desc"],
            "distance_m": round(float(row["segment_distance_m"]), 2),
        }
    workers = [public_person(p) for p in row["grid_workers"]]
    return jsonify(
        {
            "query": {"lon": lon, "lat": lat, "crs": crs},
            "wgs84": {"lon": round(x, 8), "lat": round(y, 8)},
            "status": row["status"],
            "street": level("street"),
            "community": level("community"),
            "grid": level("grid"),
            "building": level("building"),
            "segment": segment,
            "street_chiefs": [public_person(p) for p in row["street_chiefs"]],
            "grid_worker": workers[0] if workers else None,
        }
    )
