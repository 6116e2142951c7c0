"""Polygonal parts of a geometry (what an area layer may store after a repair), and what makes a grid's shape
unfit to write or store."""

from __future__ import annotations

import geopandas as gpd
import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from geo.coords import utm_epsg


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


MIN_PART_M2 = 1.0  # a polygon part or hole smaller than this is a sliver, not land


def grid_faults(grids: gpd.GeoDataFrame, *, one_piece: bool = True) -> dict[str, str]:
    """Each grid whose shape may not be written or stored, by id, with why: not valid by OGC rules (GEOS's
    reason), a ring of fewer than four points, a part or hole below ``MIN_PART_M2``, or (``one_piece``, for
    grids we draw) more than one polygon.

    Shapes are judged as they will be written (in their own CRS), areas in metres.
    """
    if grids.empty:
        return {}
    if grids.crs is not None and grids.crs.is_geographic:
        lon, lat = shapely.centroid(shapely.box(*grids.total_bounds)).coords[0]
        metric = grids.geometry.to_crs(utm_epsg(lon, lat)).values
    else:
        metric = grids.geometry.values
    faults = {}
    for gid, geom, geom_m in zip(grids["id"].astype(str), grids.geometry.values, metric, strict=True):
        if (why := _fault(geom, geom_m, one_piece)) is not None:
            faults[gid] = why
    return faults


def describe_faults(faults: dict[str, str], limit: int = 10) -> str:
    """Faulty grids as one message: how many, then each by id with its reason."""
    shown = "; ".join(f"{gid}: {why}" for gid, why in list(faults.items())[:limit])
    more = f"; … {len(faults) - limit} more" if len(faults) > limit else ""
    return f"{len(faults)} 个网格形状不合格 grid(s) with bad shapes — {shown}{more}"


def _fault(geom: BaseGeometry | None, metric: BaseGeometry | None, one_piece: bool) -> str | None:
    if geom is None or metric is None or geom.is_empty:
        return "空 empty"
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        return f"不是面 not a polygon ({geom.geom_type})"
    short = min(len(r.coords) for p in getattr(geom, "geoms", [geom]) for r in (p.exterior, *p.interiors))
    if short < 4:
        return f"环少于4点 a ring of {short} points (at least 4)"
    if not shapely.is_valid(geom):
        return f"无效 invalid: {shapely.is_valid_reason(geom)}"
    parts = list(getattr(geom, "geoms", [geom]))
    if one_piece and len(parts) > 1:
        return f"多块 in {len(parts)} pieces (one polygon per grid)"
    metric_parts = list(getattr(metric, "geoms", [metric]))
    smallest = min(
        [p.area for p in metric_parts] + [shapely.Polygon(r).area for p in metric_parts for r in p.interiors]
    )
    if smallest < MIN_PART_M2:
        return f"碎片 a sliver of {smallest:.3g} m² (at least {MIN_PART_M2:g} m²)"
    return None
