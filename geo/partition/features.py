"""A boundary of several features with ids (streets, communities) drawn feature by feature.

No grid crosses between features, so each is drawn on its own: its buildings, and the roads and barriers
near it. ``draw_grids`` runs the features one after another here; ``core.bulk_draw`` sends the same
``FeatureJob`` to Dask workers, one task each, and ``gather`` puts either back together the same way, so
the two give the same grids, codes and report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.locate import metric_epsg_for_bounds
from geo.partition.draw import draw_one
from geo.partition.model import Partition, PartitionError, band
from geo.partition.prepare import building_names, buildings_outside
from geo.partition.report import polsby_popper

# Roads and barriers within this distance of a feature go with it: beyond it none cuts a block of the feature
# or runs near one of its grid lines (``ROAD_NEAR_M``, 15 m).
FEATURE_MARGIN_M = 100.0


@dataclass(frozen=True)
class FeatureJob:
    """One feature's drawing, as it travels to a worker: its outline, buildings, roads and barriers."""

    feature_id: str
    boundary: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    roads: gpd.GeoSeries | gpd.GeoDataFrame | None
    barriers: gpd.GeoSeries | gpd.GeoDataFrame | None


@dataclass(frozen=True)
class FeatureDrawn:
    """A feature's grids, and the length of its grid lines inside it (weighing its share along roads)."""

    partition: Partition
    internal_m: float


def zoned(boundary: gpd.GeoSeries | gpd.GeoDataFrame) -> bool:
    """Whether a boundary is drawn feature by feature: several features, each with an id."""
    return isinstance(boundary, gpd.GeoDataFrame) and "id" in boundary.columns and len(boundary) > 1


def feature_jobs(
    buildings: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame,
    roads: gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    barriers: gpd.GeoSeries | gpd.GeoDataFrame | None = None,
) -> list[FeatureJob]:
    """One job per feature, in the boundary's order: a building goes to the feature holding a point of it
    (the nearest, within the half metre of slack, if none), cut to it if it reaches across a feature line;
    buildings outside every feature are refused."""
    if boundary.crs is None or buildings.crs is None:
        raise PartitionError("input has no CRS; say what its coordinates are")
    outside = buildings_outside(buildings, boundary)
    if outside.any():
        raise PartitionError(
            f"{int(outside.sum())} 栋楼在边界外 building(s) lie outside the boundary: "
            f"{building_names(buildings, outside)}"
        )
    features = boundary.geometry.values
    anchors = shapely.point_on_surface(buildings.geometry.to_crs(boundary.crs).values)
    tree = shapely.STRtree(features)
    owner = np.full(len(buildings), -1)
    bi, fi = tree.query(anchors, predicate="within")
    owner[bi] = fi
    lost = np.flatnonzero(owner < 0)
    if len(lost):
        owner[lost] = tree.query_nearest(anchors[lost], all_matches=False)[1]
    buildings = _cut_to_owner(buildings, boundary, owner)
    near = _near(boundary)
    near_roads, near_barriers = _within(roads, near), _within(barriers, near)
    return [
        FeatureJob(
            str(boundary["id"].iloc[i]),
            boundary.iloc[[i]][["id", boundary.geometry.name]],
            buildings[owner == i],
            near_roads[i],
            near_barriers[i],
        )
        for i in range(len(boundary))
    ]


def _cut_to_owner(
    buildings: gpd.GeoDataFrame, boundary: gpd.GeoDataFrame, owner: np.ndarray
) -> gpd.GeoDataFrame:
    """Buildings reaching across a feature line drawn only where they lie in their own feature (its grid holds
    them whole, by id), so each feature's grids still tile it."""
    fp = buildings.geometry.to_crs(boundary.crs).values
    own = boundary.geometry.values[owner]
    across = np.flatnonzero(~shapely.covers(own, fp) & shapely.intersects(own, fp))
    if not len(across):
        return buildings
    cut = shapely.intersection(own[across], fp[across])
    polygonal = np.isin(shapely.get_type_id(cut), (3, 6)) & (shapely.area(cut) > 0)
    across, cut = across[polygonal], cut[polygonal]
    geometry = buildings.geometry.copy()
    geometry.iloc[across] = gpd.GeoSeries(cut, crs=boundary.crs).to_crs(buildings.crs).values
    return buildings.set_geometry(geometry)


def _utm(frame: gpd.GeoDataFrame) -> int:
    """The UTM zone of the middle of a frame's bounds, where its lengths are measured."""
    return metric_epsg_for_bounds(frame.to_crs(4326).total_bounds)


def _near(boundary: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Each feature widened by ``FEATURE_MARGIN_M`` (in metres, in the boundary's own coordinates)."""
    epsg = _utm(boundary) if boundary.crs.is_geographic else boundary.crs.to_epsg()
    return boundary.geometry.to_crs(epsg).buffer(FEATURE_MARGIN_M).to_crs(boundary.crs)


def _within(
    lines: gpd.GeoSeries | gpd.GeoDataFrame | None, near: gpd.GeoSeries
) -> list[gpd.GeoSeries | gpd.GeoDataFrame | None]:
    """For each feature, the lines that come near it (in their own order); None when none were given."""
    if lines is None:
        return [None] * len(near)
    if not len(lines):
        return [lines] * len(near)
    areas = near.to_crs(lines.crs).values if lines.crs is not None else near.values
    return [lines.iloc[np.sort(lines.sindex.query(a, predicate="intersects"))] for a in areas]


def draw_feature(
    job: FeatureJob,
    *,
    households_field: str = "households",
    target: int = 500,
    tolerance: float = 0.1,
    units_field: str | None = None,
) -> FeatureDrawn:
    """One feature's grids, coded by the feature's id and a number (``211103001005`` + ``01``)."""
    if not len(job.buildings):
        return _empty(job, target, tolerance)
    result = draw_one(
        job.buildings,
        job.boundary,
        job.roads,
        households_field=households_field,
        target=target,
        tolerance=tolerance,
        id_prefix=job.feature_id,
        units_field=units_field,
        barriers=job.barriers,
    )
    epsg = _utm(job.boundary)
    lines = shapely.length(result.grids.geometry.to_crs(epsg).values).sum()
    outline = shapely.length(job.boundary.geometry.to_crs(epsg).values).sum()
    return FeatureDrawn(result, float(max(lines - outline, 0.0) / 2))


def _empty(job: FeatureJob, target: int, tolerance: float) -> FeatureDrawn:
    """A feature without buildings: one grid of no households, its whole outline (nothing to divide)."""
    lo, hi = band(target, tolerance)
    epsg = _utm(job.boundary)
    outline = shapely.union_all(job.boundary.geometry.to_crs(epsg).values)
    grid_id = f"{job.feature_id}01"
    pp = round(float(polsby_popper(np.array([outline]))[0]), 4)
    grids = gpd.GeoDataFrame(
        {"id": [grid_id], "households": [0], "n_buildings": [0], "polsby_popper": [pp], "in_band": [False]},
        geometry=[outline],
        crs=epsg,
    ).to_crs(job.buildings.crs)
    report = {
        "n_grids": 1,
        "band": [lo, hi],
        "in_band_share": 0.0,
        "mean_abs_deviation": 1.0,
        "polsby_popper_median": pp,
        "road_share": None,
        "out_of_band": [{"id": grid_id, "households": 0, "reason": "no buildings in it"}],
        "barrier_crossings": 0,
    }
    return FeatureDrawn(Partition(grids, pd.Series([], dtype=object, name="grid_id"), report), 0.0)


def gather(
    buildings: gpd.GeoDataFrame, drawn: Sequence[FeatureDrawn], target: int, tolerance: float
) -> Partition:
    """The features' grids as one drawing: grids in the features' order, each building's grid in the
    buildings' order, and the report over all grids (the share along roads weighed by grid-line length)."""
    lo, hi = band(target, tolerance)
    parts = [d.partition for d in drawn]
    grids = gpd.GeoDataFrame(
        pd.concat([p.grids.to_crs(buildings.crs) for p in parts], ignore_index=True), crs=buildings.crs
    )
    assignments = pd.concat([p.assignments for p in parts]).reindex(buildings.index).rename("grid_id")
    units = [p.units for p in parts if p.units is not None]
    dev = np.abs(grids["households"] - target) / target
    report = {
        "n_grids": len(grids),
        "band": [lo, hi],
        "in_band_share": float(grids["in_band"].mean()),
        "mean_abs_deviation": float(dev.mean()),
        "polsby_popper_median": float(grids["polsby_popper"].median()),
        "road_share": _road_share(drawn),
        "out_of_band": [g for p in parts for g in p.report["out_of_band"]],
        "barrier_crossings": sum(int(p.report.get("barrier_crossings", 0)) for p in parts),
    }
    if any("split_buildings" in p.report for p in parts):
        report["split_buildings"] = [u for p in parts for u in p.report.get("split_buildings", [])]
    return Partition(grids, assignments, report, pd.concat(units, ignore_index=True) if units else None)


def _road_share(drawn: Sequence[FeatureDrawn]) -> float | None:
    """The features' shares of grid lines along roads, weighed by their length of grid lines."""
    known = [(d.partition.report["road_share"], d.internal_m) for d in drawn]
    known = [(share, m) for share, m in known if share is not None and m > 0]
    total = sum(m for _, m in known)
    return sum(share * m for share, m in known) / total if total > 0 else None


def draw_grids(
    buildings: gpd.GeoDataFrame,
    boundary: gpd.GeoSeries | gpd.GeoDataFrame,
    roads: gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    *,
    households_field: str = "households",
    target: int = 500,
    tolerance: float = 0.1,
    id_prefix: str = "G",
    units_field: str | None = None,
    barriers: gpd.GeoSeries | gpd.GeoDataFrame | None = None,
) -> Partition:
    """Grids of ``target`` ± ``tolerance`` households that exactly tile ``boundary`` (see the package notes).

    A boundary of several features with ids is drawn feature by feature (grids coded by the feature's id
    and a number; none crosses between features); otherwise as one parent, grids coded ``id_prefix`` and a
    number. With ``units_field`` (units per building), a building above the band's upper bound is split by
    its units (``geo.units``). ``barriers`` (major roads, railways, water: lines) are crossed only where the
    band cannot be met otherwise (``geo.partition.barriers``); the report counts the grids that cross one.
    """
    band_options: dict[str, Any] = {
        "households_field": households_field,
        "target": target,
        "tolerance": tolerance,
    }
    if not zoned(boundary):
        return draw_one(
            buildings,
            boundary,
            roads,
            **band_options,
            id_prefix=id_prefix,
            units_field=units_field,
            barriers=barriers,
        )
    jobs = feature_jobs(buildings, boundary, roads, barriers)
    drawn = [draw_feature(job, **band_options, units_field=units_field) for job in jobs]
    return gather(buildings, drawn, target, tolerance)
