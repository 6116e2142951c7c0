"""GET /api/v1/{layer} and /api/v1/{layer}/{id}: the hierarchy as RFC 7946 GeoJSON."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from flask import Blueprint, current_app, jsonify, request

from api.http.context import connection
from api.http.openapi import contract
from api.http.params import page_links
from core.errors import Invalid, NotFound
from core.inputs import LayerQuery, parse_query
from core.vocabulary import SPATIAL_LAYERS, beijing_iso
from store.hierarchy import count_table, get_feature, read_table

bp = Blueprint("layers", __name__, url_prefix="/api/v1")
TAG = "图层 layers"


def _plain(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, pd.Timestamp):
        return beijing_iso(value.to_pydatetime())
    return value


def as_features(frame: gpd.GeoDataFrame) -> list[dict]:
    # RFC 7946 wants exterior rings counter-clockwise.
    geoms = shapely.orient_polygons(frame.geometry.values)
    props = frame.drop(columns="geometry").to_dict("records")
    return [
        {
            "type": "Feature",
            "id": p["id"],
            "properties": {k: _plain(v) for k, v in p.items()},
            "geometry": shapely.geometry.mapping(geom),
        }
        for p, geom in zip(props, geoms, strict=True)
    ]


def parse_bbox(raw: str | None) -> list[float] | None:
    if raw is None:
        return None
    try:
        box = [float(v) for v in raw.split(",")]
    except ValueError:
        raise Invalid(f"bbox {raw!r} must be four numbers minlon,minlat,maxlon,maxlat") from None
    if len(box) != 4 or not all(math.isfinite(v) for v in box):
        raise Invalid(f"bbox {raw!r} must be four finite numbers minlon,minlat,maxlon,maxlat")
    if not (-180 <= box[0] <= box[2] <= 180 and -90 <= box[1] <= box[3] <= 90):
        raise Invalid(f"bbox {raw!r} is not a lon/lat box with min ≤ max")
    return box


def _layer(layer: str) -> str:
    if layer not in SPATIAL_LAYERS:
        raise NotFound(f"未知图层 unknown layer {layer!r}; layers: {', '.join(SPATIAL_LAYERS)}")
    return layer


@bp.get("/<layer>")
@contract(TAG, query=LayerQuery, security="public")
def collection(layer: str):
    """A page of a layer's features (streets, communities, grids, buildings, road segments)."""
    layer = _layer(layer)
    asked = parse_query(LayerQuery, request.args)
    limit, offset = min(asked.limit, current_app.config["MAX_PAGE_SIZE"]), asked.offset
    history = asked.history in ("1", "true", "yes")
    box = parse_bbox(asked.bbox)
    frame = read_table(connection(), layer, include_history=history, bbox=box, limit=limit, offset=offset)
    total = count_table(connection(), layer, include_history=history, bbox=box)
    body = {
        "type": "FeatureCollection",
        "features": as_features(frame),
        "numberReturned": len(frame),
        "numberMatched": total,
        "total": total,
        "limit": limit,
        "offset": offset,
        "links": page_links(offset, limit, total),
    }
    if len(frame):
        body["bbox"] = [round(v, 7) for v in frame.total_bounds]
    return jsonify(body)


@bp.get("/<layer>/<feature_id>")
@contract(TAG, security="public")
def item(layer: str, feature_id: str):
    layer = _layer(layer)
    frame = get_feature(connection(), layer, feature_id)
    if len(frame) == 0:
        raise NotFound(f"{layer} 中没有编号 {feature_id!r} / no {layer} with id {feature_id!r}")
    feature = as_features(frame)[0]
    feature["bbox"] = [round(v, 7) for v in frame.total_bounds]
    return jsonify(feature)
