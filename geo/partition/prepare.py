"""The inputs checked and brought into metres, then tessellated into cells that know their neighbours."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely.ops import polygonize, unary_union

from geo.coords import utm_epsg
from geo.partition.adjacency import adjacency
from geo.partition.model import Cells, PartitionError
from geo.partition.tessellate import blocks, tessellate, union_by


def metric(frame: gpd.GeoSeries, epsg: int) -> gpd.GeoSeries:
    """``frame`` in the metric CRS ``epsg``; a frame that does not say its CRS is refused."""
    if frame.crs is None:
        raise PartitionError("input has no CRS; say what its coordinates are")
    return frame.to_crs(epsg)


def _households(buildings: gpd.GeoDataFrame, households_field: str) -> pd.Series:
    """Each building's households, checked to be numbers of 0 or more."""
    if households_field not in buildings.columns:
        raise PartitionError(f"buildings have no {households_field!r} column")
    hh = pd.to_numeric(buildings[households_field], errors="coerce")
    if hh.isna().any() or (hh < 0).any():
        bad = buildings.index[hh.isna() | (hh < 0)][0]
        raise PartitionError(
            f"building {bad} has households {buildings[households_field][bad]}; need 0 or more"
        )
    return hh


def _metric_parent(boundary: gpd.GeoSeries | gpd.GeoDataFrame) -> tuple[shapely.Geometry, int]:
    """The boundary's outline in metres, and the metric CRS (its own, or its UTM zone if it is in degrees)."""
    outline = shapely.union_all(
        boundary.geometry.values if hasattr(boundary, "geometry") else boundary.values
    )
    if outline.is_empty or outline.area == 0:
        raise PartitionError("the boundary has no area")
    if boundary.crs is None:
        raise PartitionError("the boundary has no CRS; say what its coordinates are")
    epsg = (
        utm_epsg(outline.centroid.x, outline.centroid.y)
        if boundary.crs.is_geographic
        else boundary.crs.to_epsg()
    )
    return shapely.union_all(metric(gpd.GeoSeries([outline], crs=boundary.crs), epsg).values), epsg


def _footprints_m(buildings: gpd.GeoDataFrame, epsg: int) -> np.ndarray:
    """The footprints in metres (a point becomes a small square)."""
    fp = metric(buildings.geometry, epsg).values
    return np.where(shapely.get_type_id(fp) == 0, shapely.buffer(fp, 1.0, quad_segs=2), fp)


def buildings_outside(buildings: gpd.GeoDataFrame, boundary: gpd.GeoSeries | gpd.GeoDataFrame) -> np.ndarray:
    """Which buildings do not lie wholly inside the boundary (half a metre of slack)."""
    parent, epsg = _metric_parent(boundary)
    return ~shapely.covers(parent.buffer(0.5), _footprints_m(buildings, epsg))


def building_names(buildings: gpd.GeoDataFrame, mask: np.ndarray, limit: int = 10) -> str:
    """The buildings ``mask`` picks, by their ``id`` (else their row), the first ``limit`` of them."""
    names = (
        buildings["id"] if "id" in buildings.columns else pd.Series(buildings.index, index=buildings.index)
    )
    picked = [str(n) for n in names[mask]]
    return ", ".join(picked[:limit]) + (f" … {len(picked) - limit} more" if len(picked) > limit else "")


def _metric_footprints(buildings: gpd.GeoDataFrame, parent: shapely.Geometry, epsg: int) -> np.ndarray:
    """The footprints in metres, each checked to lie in the parent."""
    fp = _footprints_m(buildings, epsg)
    outside = ~shapely.covers(parent.buffer(0.5), fp)
    if outside.any():
        raise PartitionError(
            f"{int(outside.sum())} 栋楼在边界外 building(s) lie outside the boundary: "
            f"{building_names(buildings, outside)}"
        )
    return fp


DERIVED_MARGIN_M = 30.0  # a derived boundary runs this far outside the outermost buildings


def derived_boundary(
    buildings: gpd.GeoDataFrame, roads: gpd.GeoSeries | gpd.GeoDataFrame | None = None
) -> gpd.GeoSeries:
    """A boundary for buildings that came without one: the convex hull of the footprints, ``DERIVED_MARGIN_M``
    out, together with every block the roads close around a building (so the edge follows those roads)."""
    if buildings.crs is None:
        raise PartitionError("buildings have no CRS; say what their coordinates are")
    centre = shapely.centroid(shapely.box(*buildings.to_crs(4326).total_bounds))
    epsg = utm_epsg(centre.x, centre.y)
    fp = _footprints_m(buildings, epsg)
    area = [shapely.convex_hull(shapely.union_all(fp)).buffer(DERIVED_MARGIN_M)]
    if roads is not None and len(roads):
        lines = metric(roads.geometry if hasattr(roads, "geometry") else roads, epsg).values
        faces = np.asarray(list(polygonize(unary_union(lines))), dtype=object)
        if len(faces):
            holding = np.unique(shapely.STRtree(faces).query(shapely.point_on_surface(fp), "within")[1])
            area.extend(faces[holding])
    outline = shapely.union_all(area)
    return gpd.GeoSeries([outline], crs=epsg).to_crs(buildings.crs)


def _overlap_leaders(fp: np.ndarray) -> np.ndarray:
    """Each building's leader: footprints that overlap (OSM building parts, double digitising) share one cell,
    led by the lowest index; every other building leads itself."""
    i, j = shapely.STRtree(fp).query(fp, predicate="intersects")
    pair = i < j
    i, j = i[pair], j[pair]
    real = shapely.area(shapely.intersection(fp[i], fp[j])) > 1e-6
    graph = coo_matrix((np.ones(real.sum()), (i[real], j[real])), shape=(len(fp), len(fp)))
    _, label = connected_components(graph, directed=False)
    first = np.full(label.max() + 1, len(fp))
    np.minimum.at(first, label, np.arange(len(fp)))
    return first[label]


def _merged_footprints(fp: np.ndarray, leader: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One footprint per leader for the tessellation (overlapping footprints as their union), and the
    leaders in that order."""
    leaders = np.flatnonzero(leader == np.arange(len(fp)))
    merged = fp[leaders].copy()
    shared = np.bincount(leader, minlength=len(fp))[leaders] > 1
    if shared.any():
        slot = np.full(len(fp), -1)
        slot[leaders] = np.arange(len(leaders))
        together = np.flatnonzero(np.isin(leader, leaders[shared]))
        merged[slot[leaders[shared]]] = union_by(fp[together], slot[leader[together]], len(leaders))[
            slot[leaders[shared]]
        ]
    return merged, leaders


def prepare(
    buildings: gpd.GeoDataFrame,
    boundary: gpd.GeoSeries | gpd.GeoDataFrame,
    roads: gpd.GeoSeries | gpd.GeoDataFrame | None,
    households_field: str,
    walls: gpd.GeoSeries | None = None,
    barriers: gpd.GeoSeries | None = None,
) -> Cells:
    """The parent tessellated in metres, each cell with its building's households and its neighbours.

    ``walls`` (lines, such as the outlines of communities) cut blocks as roads do, so no cell straddles one,
    but are not roads: a boundary along them does not count as following a road. ``barriers`` (major roads,
    railways, water) cut blocks too, and the edges between cells along them are marked ``across``.
    """
    hh = _households(buildings, households_field)
    parent, epsg = _metric_parent(boundary)
    fp = _metric_footprints(buildings, parent, epsg)
    roads_m = None
    if roads is not None:
        roads_m = metric(roads.geometry if hasattr(roads, "geometry") else roads, epsg)
    barriers_m = None if barriers is None or not len(barriers) else metric(barriers.geometry, epsg)
    extra = [metric(x.geometry, epsg).values for x in (walls, barriers) if x is not None and len(x)]
    cuts = roads_m
    if extra:
        cuts = gpd.GeoSeries(np.concatenate([[] if roads_m is None else roads_m.values, *extra]), crs=epsg)
    leader = _overlap_leaders(fp)
    merged, leaders = _merged_footprints(fp, leader)
    cell_list, owner = tessellate(blocks(parent, cuts), merged)
    owner = np.where(owner >= 0, leaders[np.maximum(owner, 0)], -1)
    cells = np.asarray(cell_list, dtype=object)
    building_hh = hh.to_numpy(dtype=float)
    cluster_hh = np.bincount(leader, weights=building_hh, minlength=len(fp))
    cell_hh = np.where(owner >= 0, cluster_hh[np.maximum(owner, 0)], 0.0)
    a, b, length, off, across = adjacency(cells, roads_m, barriers_m)
    xy = shapely.get_coordinates(shapely.point_on_surface(cells))
    return Cells(
        epsg,
        buildings.crs,
        cells,
        owner,
        cell_hh,
        building_hh,
        a,
        b,
        length,
        off,
        xy,
        roads_m,
        buildings.index,
        leader,
        parent,
        across,
    )


def tessellation(
    buildings: gpd.GeoDataFrame,
    boundary: gpd.GeoSeries | gpd.GeoDataFrame,
    roads: gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    *,
    households_field: str = "households",
) -> gpd.GeoDataFrame:
    """The cells grids are built from (one per building, plus empty blocks), with households, in a metric CRS."""
    c = prepare(buildings, boundary, roads, households_field)
    return gpd.GeoDataFrame(
        {"households": c.hh, "x": c.xy[:, 0], "y": c.xy[:, 1]}, geometry=c.cells, crs=c.epsg
    )
