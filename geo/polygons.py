"""Polygonal parts of a geometry: what an area layer may store after a repair or a reprojection."""

from __future__ import annotations

from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry


def polygonal(geom: BaseGeometry) -> MultiPolygon | None:
    """Polygon → MultiPolygon; a make_valid collection → its polygonal parts; anything else → None."""
    if geom.geom_type == "Polygon":
        return MultiPolygon([geom])
    if geom.geom_type == "MultiPolygon":
        return geom
    if geom.geom_type == "GeometryCollection":
        parts = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        polys = [p for g in parts for p in getattr(g, "geoms", [g])]
        return MultiPolygon(polys) if polys else None
    return None
