"""Grid drawing of a whole city, from a laptop to a cluster, on one code path.

A boundary of several features with ids (streets, communities) is drawn feature by feature: no grid
crosses between features, so each is one task (``geo.partition.features``), run here one after another
(a small city: starting workers would cost more than it saves), on a ``LocalCluster`` sized to the machine
(at least ``draw_cluster_min_buildings`` buildings and no scheduler named) or on the Dask scheduler given.
The results are put together the same way wherever they ran, so the grids, codes and report are the
in-process drawing's. A task whose worker dies is rescheduled by Dask; one that raises (bad input) is not
tried again, since it would fail the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import geopandas as gpd

from core.dask_jobs import dask_client, in_order
from geo.partition import Partition, draw_grids
from geo.partition.features import FeatureDrawn, FeatureJob, draw_feature, feature_jobs, gather, zoned
from geo.settings import get_settings


def use_cluster(buildings: int, scheduler: str | None) -> bool:
    """Whether a drawing of ``buildings`` goes to Dask: always with a scheduler named, else when large."""
    return bool(scheduler) or buildings >= get_settings().draw_cluster_min_buildings


def draw_city(
    buildings: gpd.GeoDataFrame,
    boundary: gpd.GeoSeries | gpd.GeoDataFrame,
    roads: gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    *,
    scheduler: str | None = None,
    announce: Callable[[str], None] = lambda _: None,
    progress: Callable[[int], None] | None = None,
    barriers: gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    target: int = 500,
    tolerance: float = 0.1,
    **options: Any,
) -> Partition:
    """``draw_grids``'s answer, each feature a task here or on Dask (as ``use_cluster`` decides);
    ``progress`` hears each feature's buildings as it is drawn. ``options``: ``households_field``,
    ``units_field``. A boundary of one feature is one drawing, in this process."""
    band = {"target": target, "tolerance": tolerance, **options}
    if not zoned(boundary):
        if scheduler:
            announce("边界只有一个要素，在本进程划分 one feature in the boundary: drawn in this process")
        result = draw_grids(buildings, boundary, roads, barriers=barriers, **band)
        if progress:
            progress(len(buildings))
        return result
    jobs = feature_jobs(buildings, boundary, roads, barriers)
    if use_cluster(len(buildings), scheduler):
        with dask_client(scheduler, announce) as client:
            drawn = draw_features(jobs, client, progress, **band)
    else:
        drawn = draw_features(jobs, None, progress, **band)
    return gather(buildings, drawn, target, tolerance)


def draw_features(
    jobs: list[FeatureJob],
    client: Any,
    progress: Callable[[int], None] | None = None,
    task: Callable[..., FeatureDrawn] = draw_feature,
    **band: Any,
) -> list[FeatureDrawn]:
    """Each feature drawn by ``task``, in the jobs' order: on ``client``'s workers (a Dask ``Client``), or
    here."""
    weights = [len(job.buildings) for job in jobs]
    if client is None:
        drawn = []
        for job, weight in zip(jobs, weights, strict=True):
            drawn.append(task(job, **band))
            if progress:
                progress(weight)
        return drawn
    run = uuid.uuid4().hex[:8]
    # The largest features first, so no big one is left to run alone at the end.
    order = sorted(range(len(jobs)), key=lambda i: -weights[i])
    futures = {i: client.submit(task, jobs[i], key=f"draw-{run}-{i}", pure=False, **band) for i in order}
    found = in_order([futures[i] for i in order], [weights[i] for i in order], progress)
    by_job = dict(zip(order, found, strict=True))
    return [by_job[i] for i in range(len(jobs))]
