"""Scale benchmark: `wangge locate` of Parquet parts on a 2-worker LocalCluster beside the in-process kernel.

Same points, same run: ``BENCH_SCALE_POINTS`` (10,000,000) points, uniform over the demo district scaled
to ``BENCH_SCALE`` streets (32: 2,048 grids), in Parquet files of 1,000,000 (plain lon/lat columns,
row groups of 250,000). The in-process side reads, locates (full locate: grid, community, street,
building, nearest segment) and writes each file in this process; the distributed side runs the command's
own code (``core.bulk_locate.run_parts`` with ``boundaries.point_parts.locate_part_file``) on two
single-threaded worker processes. CPU is counted across every process (client with its in-process
scheduler, nannies, workers): on a shared machine it is the steady figure, where wall time is not.
Every output row is compared with the in-process one.
"""

from __future__ import annotations

import os
import resource
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from distributed import Client, LocalCluster

from boundaries.demo import make_district
from boundaries.point_parts import assemble, locate_part_file, plan_parts
from core.bulk_locate import run_parts
from geo.locate import RESULT_COLUMNS, Hierarchy, Locator
from geo.locate_parts import HierarchyWire

SCALE = int(os.environ.get("BENCH_SCALE", 32))
N_POINTS = int(os.environ.get("BENCH_SCALE_POINTS", 10_000_000))
PER_FILE = 1_000_000
WORKERS = 2
COMPARED = [c for c in RESULT_COLUMNS if c != "segment_distance_m"]


def run() -> list[str]:
    hierarchy = Hierarchy.from_layers(make_district(seed=7, scale=SCALE))
    with tempfile.TemporaryDirectory(prefix="wangge-scale-") as tmp:
        src = _write_points(hierarchy, Path(tmp) / "in")
        # The cluster first, so the client's memory is not the in-process run's leftovers.
        there = _distributed(hierarchy, src, Path(tmp) / "there")
        here = _in_process(hierarchy, src, Path(tmp) / "here")
        equal, total = _compare(Path(tmp) / "here", Path(tmp) / "there")
    return _report(hierarchy, here, there, equal, total)


def _write_points(hierarchy: Hierarchy, folder: Path) -> Path:
    """The points, file by file (seed 19), so no more than one file is ever in memory."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(19)
    minx, miny, maxx, maxy = hierarchy.streets.total_bounds
    for i, start in enumerate(range(0, N_POINTS, PER_FILE)):
        n = min(PER_FILE, N_POINTS - start)
        frame = pd.DataFrame(
            {
                "id": np.arange(start, start + n),
                "lon": rng.uniform(minx, maxx, n),
                "lat": rng.uniform(miny, maxy, n),
            }
        )
        frame.to_parquet(folder / f"part-{i:04d}.parquet", row_group_size=250_000, index=False)
    return folder


def _in_process(hierarchy: Hierarchy, src: Path, out: Path) -> dict[str, float]:
    """Read, locate and write each file here; the kernel's own time and CPU beside the whole."""
    out.mkdir()
    cpu0, t0 = time.process_time(), time.perf_counter()
    locator = Locator(hierarchy)
    build = time.perf_counter() - t0
    kernel_wall = kernel_cpu = 0.0
    for path in sorted(src.glob("*.parquet")):
        frame = pd.read_parquet(path)
        k_cpu, k_wall = time.process_time(), time.perf_counter()
        result = locator.locate_arrays(frame["lon"].to_numpy(), frame["lat"].to_numpy())
        kernel_wall += time.perf_counter() - k_wall
        kernel_cpu += time.process_time() - k_cpu
        for col in RESULT_COLUMNS:
            frame[col] = result[col].to_numpy()
        frame.to_parquet(out / path.name)
    return {
        "wall": time.perf_counter() - t0,
        "cpu": time.process_time() - cpu0,
        "kernel_wall": kernel_wall,
        "kernel_cpu": kernel_cpu,
        "build": build,
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }


def _cpu_seconds() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system


class MemorySampler:
    """Samples the resident memory of the given processes every 0.1 s: the peak of each, and of their sum
    (``ru_maxrss`` will not do: a spawned worker inherits its parent's peak across exec)."""

    def __init__(self, pids: list[int]):
        self.processes = [psutil.Process(pid) for pid in pids]
        self.peaks = [0] * len(pids)
        self.peak_sum = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self.stop.wait(0.1):
            rss = []
            for p in self.processes:
                try:
                    rss.append(p.memory_info().rss)
                except psutil.Error:
                    rss.append(0)
            self.peaks = [max(a, b) for a, b in zip(self.peaks, rss, strict=True)]
            self.peak_sum = max(self.peak_sum, sum(rss))

    def __enter__(self) -> MemorySampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


@contextmanager
def bench_cluster() -> Iterator[tuple[LocalCluster, Client]]:
    """The benches' cluster: ``WORKERS`` single-threaded worker processes, 4 GiB each, a dashboard."""
    with (
        LocalCluster(
            n_workers=WORKERS,
            threads_per_worker=1,
            processes=True,
            memory_limit="4GiB",
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as client,
    ):
        yield cluster, client


def _distributed(hierarchy: Hierarchy, src: Path, out: Path) -> dict[str, float]:
    """The command's code on a fresh 2-worker cluster; CPU and peak memory of every process."""
    with bench_cluster() as (_cluster, client):
        workers = list(client.run(os.getpid).values())
        nannies = list(client.run(os.getpid, nanny=True).values())
        before = sum(client.run(_cpu_seconds).values()) + sum(client.run(_cpu_seconds, nanny=True).values())
        here0, t0 = _cpu_seconds(), time.perf_counter()
        with MemorySampler(workers + nannies + [os.getpid()]) as memory:
            parts = plan_parts(src, out, PER_FILE)
            run_parts(
                locate_part_file,
                parts,
                HierarchyWire.from_hierarchy(hierarchy),
                weights=[p.rows for p in parts],
                client=client,
                segment_search_m=50.0,
            )
            assemble(parts, out)
        wall = time.perf_counter() - t0
        after = sum(client.run(_cpu_seconds).values()) + sum(client.run(_cpu_seconds, nanny=True).values())
        cpu = after - before + _cpu_seconds() - here0
    return {
        "wall": wall,
        "cpu": cpu,
        "worker_rss": max(memory.peaks[: len(workers)]) / 2**30,
        "all_rss": memory.peak_sum / 2**30,
        "parts": len(parts),
    }


def _compare(here: Path, there: Path) -> tuple[int, int]:
    """Rows whose grid, community, street, building, segment and status are the same, file by file."""
    equal = total = 0
    for path in sorted(here.glob("*.parquet")):
        a = pd.read_parquet(path, columns=COMPARED).astype(object).fillna("∅")
        b = pd.read_parquet(there / path.name, columns=COMPARED).astype(object).fillna("∅")
        equal += int((a.to_numpy() == b.to_numpy()).all(axis=1).sum())
        total += len(a)
    return equal, total


def _report(hierarchy: Hierarchy, here: dict, there: dict, equal: int, total: int) -> list[str]:
    rate = N_POINTS / there["wall"]
    per_cpu = N_POINTS / there["cpu"]
    kernel_per_cpu = N_POINTS / here["kernel_cpu"]
    rows = [
        ("in process: kernel only (`Locator.locate_arrays`)", here["kernel_wall"], here["kernel_cpu"]),
        ("in process: read, locate, write each file", here["wall"], here["cpu"]),
        (f"distributed: `run_parts` on a {WORKERS}-worker LocalCluster", there["wall"], there["cpu"]),
    ]
    lines = [
        "## Bulk locate at scale (Dask distributed)",
        "",
        f"District: demo ×{SCALE} ({len(hierarchy.streets)} streets, {len(hierarchy.grids)} grids, "
        f"{len(hierarchy.buildings)} buildings, {len(hierarchy.road_segments)} segments); {N_POINTS:,} uniform "
        f"points over its bounding box in Parquet files of {PER_FILE:,}; full locate (grid, community, street, "
        "building, nearest segment ≤50 m). CPU across all processes.",
        "",
        "| path | wall s | M points/s | CPU s | M points per CPU-s | vs kernel per CPU-s |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, wall, cpu in rows:
        lines.append(
            f"| {name} | {wall:.2f} | {N_POINTS / wall / 1e6:.2f} | {cpu:.2f} | {N_POINTS / cpu / 1e6:.2f} "
            f"| {N_POINTS / cpu / kernel_per_cpu:.2f}× |"
        )
    lines += [
        "",
        f"Distributed: {rate / 1e6:.2f} M points/s, {per_cpu / 1e6:.2f} M points per CPU-second, "
        f"{per_cpu / kernel_per_cpu:.0%} of the in-process kernel's rate per CPU-second; "
        f"answers {100 * equal / total:.4f} % equal to the in-process path ({equal:,} of {total:,} rows).",
        f"Peak memory (sampled every 0.1 s): largest worker {there['worker_rss']:.2f} GiB, all processes at once "
        f"(client and scheduler, nannies, workers) {there['all_rss']:.2f} GiB; the in-process run "
        f"{here['rss']:.2f} GiB. {there['parts']} tasks. "
        f"Locator build in process: {here['build']:.2f} s (each worker builds its own once).",
    ]
    if (SCALE, N_POINTS) != (32, 10_000_000):
        lines.append(
            f"A reduced run (`BENCH_SCALE={SCALE} BENCH_SCALE_POINTS={N_POINTS}`); `make bench` runs 10,000,000 "
            "points on demo ×32. With few tasks per worker, each worker's locator build weighs on the "
            "per-CPU figures."
        )
    lines.append("")
    return lines
