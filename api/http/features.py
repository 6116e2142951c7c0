"""OGC API – Features (Part 1: Core, GeoJSON) at /ogc: the layers QGIS, GDAL and ArcGIS read natively.

Streets, communities, grids, buildings and road segments are public; incidents are a collection for staff
(a token, and what that token may see). ``bbox``, ``limit`` and ``offset`` everywhere; ``datetime`` (an
instant or an interval) on incidents, by report time.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, json, request

from api.http.context import connection, principal
from api.http.layers import as_features, parse_bbox
from api.http.params import whole_number
from core.errors import Forbidden, NotFound
from core.incidents.views import IncidentQuery, count_incidents, incident_view, list_incidents
from core.periods import parse_time
from core.vocabulary import LAYER_LABELS, SPATIAL_LAYERS, beijing_iso
from store.hierarchy import count_table, get_feature, layer_extent, read_table

bp = Blueprint("features", __name__, url_prefix="/ogc")
CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
GEOJSON = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"
PUBLIC = tuple(layer for layer in SPATIAL_LAYERS if layer != "roads")
INCIDENTS = "incidents"
DEFAULT_LIMIT, MAX_LIMIT = 100, 10_000
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def _json(body: dict, media: str = "application/json") -> Response:
    return Response(json.dumps(body, ensure_ascii=False), content_type=f"{media}; charset=utf-8")


def _url(path: str, **args: object) -> str:
    query = urlencode({k: v for k, v in args.items() if v is not None})
    return request.url_root.rstrip("/") + bp.url_prefix + path + (f"?{query}" if query else "")


@bp.get("")
def landing():
    """The landing page: where the API's collections and conformance are."""
    return _json(
        {
            "title": "网格化管理服务 Wangge",
            "description": "街道 > 社区 > 网格 > 楼栋, 责任路段, 事件 · the district's layers",
            "links": [
                {"rel": "self", "type": "application/json", "href": _url("")},
                {"rel": "conformance", "type": "application/json", "href": _url("/conformance")},
                {"rel": "data", "type": "application/json", "href": _url("/collections")},
                {
                    "rel": "service-desc",
                    "type": "application/vnd.oai.openapi+json;version=3.1",
                    "href": request.url_root + "api/v1/openapi.json",
                },
            ],
        }
    )


@bp.get("/conformance")
def conformance():
    return _json({"conformsTo": [CORE, GEOJSON]})


def _extent_layer(name: str) -> str:
    """Incidents lie in the streets: theirs is the streets' extent."""
    return "streets" if name == INCIDENTS else name


def _collection(name: str, box: tuple[float, float, float, float] | None) -> dict:
    return {
        "id": name,
        "title": LAYER_LABELS.get(name, "事件 incidents"),
        "itemType": "feature",
        "crs": [CRS84],
        **({"extent": {"spatial": {"bbox": [list(box)], "crs": CRS84}}} if box else {}),
        "links": [
            {"rel": "self", "type": "application/json", "href": _url(f"/collections/{name}")},
            {"rel": "items", "type": "application/geo+json", "href": _url(f"/collections/{name}/items")},
        ],
    }


def _staff() -> bool:
    """Whether the caller may read incidents as features (any staff token; not a citizen, not anonymous)."""
    p = principal(required=False)
    return p is not None and p.role != "citizen"


@bp.get("/collections")
def collections():
    names = [*PUBLIC, *([INCIDENTS] if _staff() else [])]
    extents = {n: layer_extent(connection(), n) for n in PUBLIC}  # each layer's once (incidents: streets')
    return _json(
        {
            "collections": [_collection(n, extents[_extent_layer(n)]) for n in names],
            "links": [{"rel": "self", "type": "application/json", "href": _url("/collections")}],
        }
    )


def _known(name: str) -> str:
    if name == INCIDENTS:
        p = principal()
        if p is not None and p.role == "citizen":
            raise Forbidden("事件图层仅供工作人员 the incidents collection is for staff")
        return name
    if name not in PUBLIC:
        raise NotFound(f"no collection {name!r}; collections: {', '.join((*PUBLIC, INCIDENTS))}")
    return name


@bp.get("/collections/<name>")
def collection(name: str):
    name = _known(name)
    return _json(_collection(name, layer_extent(connection(), _extent_layer(name))))


def _page() -> tuple[int, int]:
    limit = whole_number("limit", request.args.get("limit"), DEFAULT_LIMIT, 0, MAX_LIMIT)
    return max(limit, 1), whole_number("offset", request.args.get("offset"), 0, 0, 10**9)


def _interval(raw: str | None):
    """``datetime``: an instant, or ``start/end`` with ``..`` for an open end (RFC 3339)."""
    if raw is None:
        return None, None
    if "/" not in raw:
        t = parse_time("datetime", raw)
        return t, t
    start, end = raw.split("/", 1)
    return (
        parse_time("datetime", None if start in ("", "..") else start),
        parse_time("datetime", None if end in ("", "..") else end),
    )


@bp.get("/collections/<name>/items")
def items(name: str):
    name = _known(name)
    limit, offset = _page()
    box = parse_bbox(request.args.get("bbox"))
    if name == INCIDENTS:
        since, until = _interval(request.args.get("datetime"))
        query = IncidentQuery(
            since=since, until=until, limit=limit, offset=offset, bbox=tuple(box) if box else None
        )
        p = principal()
        features = [_incident_feature(i) for i in list_incidents(connection(), p, query)]
        matched = count_incidents(connection(), p, query)
    else:
        frame = read_table(connection(), name, bbox=box, limit=limit, offset=offset)
        features = as_features(frame)
        matched = count_table(connection(), name, bbox=box)
    args = {k: v for k, v in request.args.items() if k not in ("offset", "limit")}
    links = [
        {
            "rel": "self",
            "type": "application/geo+json",
            "href": _url(f"/collections/{name}/items", **args, limit=limit, offset=offset),
        }
    ]
    if offset + limit < matched:
        links.append(
            {
                "rel": "next",
                "type": "application/geo+json",
                "href": _url(f"/collections/{name}/items", **args, limit=limit, offset=offset + limit),
            }
        )
    return _json(
        {
            "type": "FeatureCollection",
            "features": features,
            "numberMatched": matched,
            "numberReturned": len(features),
            "timeStamp": beijing_iso(current_app.config["CLOCK"]()),
            "links": links,
        },
        "application/geo+json",
    )


def _incident_feature(i: dict) -> dict:
    """An incident as a point feature, with flat properties a GIS table can show."""
    props = {
        "status": i["status"],
        "tier": i["tier"],
        "category": i["category"]["code"],
        "category_name": i["category"]["name_zh"],
        "description": i["description"],
        "grid_id": (i["grid"] or {}).get("id"),
        "community_id": (i["community"] or {}).get("id"),
        "street_id": (i["street"] or {}).get("id"),
        "reported_at": i["times"]["reported_at"],
        "completion_due": i["deadlines"]["completion_due"],
    }
    point = {"type": "Point", "coordinates": [i["location"]["lon"], i["location"]["lat"]]}
    return {"type": "Feature", "id": i["id"], "geometry": point, "properties": props}


@bp.get("/collections/<name>/items/<feature_id>")
def item(name: str, feature_id: str):
    name = _known(name)
    if name == INCIDENTS:
        if not feature_id.isdigit() or len(feature_id) > 18:
            raise NotFound(f"no incident {feature_id!r}")
        return _json(
            _incident_feature(incident_view(connection(), int(feature_id), principal())),
            "application/geo+json",
        )
    frame = get_feature(connection(), name, feature_id)
    if len(frame) == 0:
        raise NotFound(f"{name} 中没有编号 {feature_id!r} / no {name} with id {feature_id!r}")
    return _json(as_features(frame)[0], "application/geo+json")
