"""Grid drawing of a city on Dask: `wangge grids draw` of a boundary of many features, in process beside a
2-worker LocalCluster.

Same input, same run: the demo scaled to ``BENCH_DRAW_SCALE`` streets (12), drawn by street (one task per
street) and by community (one per community), each in this process (``draw_grids``: the features one after
another) and with the command's code (``core.bulk_draw.draw_features``, then ``gather``) on two
single-threaded worker processes started beforehand (their start is timed apart). CPU is counted across
every process; the grids, codes, outlines (1e-7), assignments and report are compared with the
in-process drawing's.
"""

from __future__ import annotations

import os
import time

import geopandas as gpd
from distributed import Client
from scale_bench import WORKERS, MemorySampler, _cpu_seconds, bench_cluster

from boundaries.demo import make_district
from core.bulk_draw import draw_features
from geo.partition import Partition, draw_grids
from geo.partition.barriers import major_roads
from geo.partition.features import feature_jobs, gather

SCALE = int(os.environ.get("BENCH_DRAW_SCALE", 12))


def run() -> list[str]:
    load = os.getloadavg()[0]
    layers = make_district(seed=7, scale=SCALE)
    buildings, roads = layers["buildings"], layers["roads"]
    barriers = major_roads(roads)
    t0 = time.perf_counter()
    with bench_cluster() as (_cluster, client):
        client.run(_warm)
        start = time.perf_counter() - t0
        rows = []
        for name in ("streets", "communities"):
            features = layers[name][["id", "geometry"]]
            here, here_s, here_cpu = _in_process(buildings, features, roads, barriers)
            there, measured = _distributed(client, buildings, features, roads, barriers)
            rows.append((name, len(features), here, here_s, here_cpu, measured, _same(here, there)))
    return _report(buildings, rows, start, load, os.getloadavg()[0])


def _warm() -> None:
    """Each worker imports the drawing code once before the clock starts (as a long-running cluster has)."""
    import geo.partition.features  # noqa: F401


def _in_process(buildings, features, roads, barriers) -> tuple[Partition, float, float]:
    cpu0, t0 = _cpu_seconds(), time.perf_counter()
    result = draw_grids(buildings, features, roads, barriers=barriers)
    return result, time.perf_counter() - t0, _cpu_seconds() - cpu0


def _distributed(client: Client, buildings, features, roads, barriers) -> tuple[Partition, dict]:
    """The command's path: jobs cut here, drawn on the workers, put together here."""
    workers = list(client.run(os.getpid).values())
    nannies = list(client.run(os.getpid, nanny=True).values())
    workers0 = sum(client.run(_cpu_seconds).values())
    nannies0 = sum(client.run(_cpu_seconds, nanny=True).values())
    cpu0, t0 = _cpu_seconds(), time.perf_counter()
    with MemorySampler(workers + nannies + [os.getpid()]) as memory:
        jobs = feature_jobs(buildings, features, roads, barriers)
        result = gather(buildings, draw_features(jobs, client), 500, 0.1)
    wall = time.perf_counter() - t0
    here = _cpu_seconds() - cpu0
    on_workers = sum(client.run(_cpu_seconds).values()) - workers0
    on_nannies = sum(client.run(_cpu_seconds, nanny=True).values()) - nannies0
    return result, {
        "wall": wall,
        "cpu": here + on_workers + on_nannies,
        "worker_cpu": on_workers,
        "worker_rss": max(memory.peaks[: len(workers)]) / 2**30,
        "all_rss": memory.peak_sum / 2**30,
    }


def _same(a: Partition, b: Partition) -> bool:
    plain = [c for c in a.grids.columns if c != "geometry"]
    return bool(
        a.grids[plain].equals(b.grids[plain])
        and a.grids.geometry.geom_equals_exact(b.grids.geometry, 1e-7).all()
        and a.assignments.equals(b.assignments)
        and a.report == b.report
    )


def _report(buildings: gpd.GeoDataFrame, rows: list, start: float, load0: float, load1: float) -> list[str]:
    lines = [
        "## Drawing grids of a city (Dask distributed)",
        "",
        f"City: demo ×{SCALE} ({len(buildings):,} buildings, {int(buildings['households'].sum()):,} households); "
        f"`draw_grids` feature by feature in this process beside `core.bulk_draw.draw_features` on a "
        f"{WORKERS}-worker LocalCluster (started and its workers' imports done beforehand, in {start:.1f} s). "
        "CPU across all processes.",
        "",
        "| features | tasks | grids | in process s | CPU s | 2 workers s | CPU s (workers) | speed-up "
        "| largest worker GiB | all GiB | same as in process |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, n, here, here_s, here_cpu, m, same in rows:
        lines.append(
            f"| {name} | {n} | {here.report['n_grids']} | {here_s:.1f} | {here_cpu:.1f} | {m['wall']:.1f} "
            f"| {m['cpu']:.1f} ({m['worker_cpu']:.1f}) | {here_s / m['wall']:.2f}× | {m['worker_rss']:.2f} | {m['all_rss']:.2f} "
            f"| {'yes' if same else 'NO'} |"
        )
    lines += [
        "",
        f"Load average (1 min) {load0:.1f} before and {load1:.1f} after, on {os.cpu_count()} cores: wall times on a "
        "shared machine vary from run to run, the CPU figures less. "
        "The workers spend about the in-process CPU (in brackets); the rest is the client process (a "
        "LocalCluster's scheduler runs in it) and the nannies. Even on an idle machine two workers gain less "
        "than 2× by street: a dozen streets of unequal size do not split evenly over two workers.",
        "",
    ]
    return lines
