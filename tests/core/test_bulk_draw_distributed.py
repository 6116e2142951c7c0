"""Grid drawing of a city on Dask: a two-worker LocalCluster draws the demo's streets community by community
(one task each) into the very grids, codes, households and report the in-process drawing gives, and a
worker killed in the middle of the job changes nothing in its output."""

from __future__ import annotations

import os
import signal
import threading
import time

import geopandas as gpd
import pandas as pd
import pytest

from boundaries.demo import make_district
from core.bulk_draw import draw_city, draw_features
from geo.partition import Partition, draw_grids
from geo.partition.barriers import major_roads
from geo.partition.features import FeatureDrawn, FeatureJob, draw_feature, feature_jobs, gather
from tests.core.dask_processes import separate_cluster, two_workers

SCALE = 2  # two streets of twelve communities: 24 features, 375 buildings, 114 grids


@pytest.fixture(scope="module")
def cluster():
    with two_workers() as pair:
        yield pair


@pytest.fixture(scope="module")
def city() -> dict[str, gpd.GeoDataFrame]:
    layers = make_district(scale=SCALE)
    layers["barriers"] = major_roads(layers["roads"])
    layers["features"] = layers["communities"][["id", "geometry"]]
    return layers


@pytest.fixture(scope="module")
def expected(city) -> Partition:
    """The in-process drawing: every community one after another, in this process."""
    return draw_grids(city["buildings"], city["features"], city["roads"], barriers=city["barriers"])


def _same(got: Partition, want: Partition) -> None:
    """The same grids under the same codes, in the same order, with the same figures and outlines (1e-7),
    each building in the same grid, and the same report."""
    g, w = got.grids, want.grids
    assert list(g["id"]) == list(w["id"]) and len(set(g["id"])) == len(g)
    pd.testing.assert_frame_equal(
        pd.DataFrame(g.drop(columns="geometry")), pd.DataFrame(w.drop(columns="geometry"))
    )
    assert g.crs == w.crs and g.geometry.geom_equals_exact(w.geometry, 1e-7).all()
    pd.testing.assert_series_equal(got.assignments, want.assignments)
    assert got.report == want.report


def test_the_demo_city_on_two_workers_equals_the_in_process_drawing(cluster, city, expected):
    local, _ = cluster
    heard: list[str] = []
    drawn: list[int] = []
    got = draw_city(
        city["buildings"],
        city["features"],
        city["roads"],
        barriers=city["barriers"],
        scheduler=local.scheduler_address,
        announce=heard.append,
        progress=drawn.append,
    )
    _same(got, expected)
    assert len(drawn) == len(city["features"]) == 24 and sum(drawn) == len(city["buildings"])
    assert "workers 2" in heard[0] and "dashboard http" in heard[0]
    # Each grid inside its community, coded by it; the report counts over the whole city.
    assert set(got.grids["id"].str[:-2]) == set(city["features"]["id"])
    assert got.report["n_grids"] == len(got.grids) > 100
    assert got.grids["households"].sum() == city["buildings"]["households"].sum()


def test_a_worker_killed_mid_job_is_replaced_and_the_drawing_is_complete(cluster, city, expected):
    _, client = cluster
    jobs = feature_jobs(city["buildings"], city["features"], city["roads"], city["barriers"])
    done: list[int] = []
    result: dict = {}

    def job() -> None:
        result["drawn"] = draw_features(jobs, client, done.append, task=slow_feature)

    runner = threading.Thread(target=job)
    runner.start()
    deadline = time.monotonic() + 30
    while len(done) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    pids = client.run(os.getpid)
    victim = sorted(pids.items())[0][1]
    at_kill = len(done)
    os.kill(victim, signal.SIGKILL)
    runner.join(90)
    assert not runner.is_alive() and len(done) == len(jobs)
    assert at_kill < len(jobs) - 2, "the kill came after the job had ended"
    client.wait_for_workers(2, timeout=30)
    assert victim not in client.run(os.getpid).values()  # the killed process is gone; the nanny made another
    _same(gather(city["buildings"], result["drawn"], 500, 0.1), expected)


def slow_feature(job: FeatureJob, **band) -> FeatureDrawn:
    """The real task, slowed so the job is still running when a worker is killed."""
    time.sleep(0.3)
    return draw_feature(job, **band)


def test_the_command_on_a_scheduler_writes_what_it_writes_in_process(
    cli, cluster, city, tmp_path, monkeypatch
):
    """`grids draw --scheduler` and, with no scheduler and a city above the threshold, a LocalCluster of its
    own (one worker per core, dashboard said) write the same grids and assignments as drawing in process."""
    local, _ = cluster
    d = tmp_path / "city.gpkg"
    for name in ("communities", "buildings", "roads"):
        city[name].to_file(d, layer=name)
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    base = (
        f"grids draw --buildings {d} --buildings-layer buildings --boundary {d} --boundary-layer communities "
        f"--roads {d} --roads-layer roads"
    )
    runs = {"here": "", "named": f" --scheduler {local.scheduler_address}", "own": ""}
    outputs = {}
    for name, extra in runs.items():
        if name == "own":
            monkeypatch.setenv("WANGGE_DRAW_CLUSTER_MIN_BUILDINGS", "100")
        out, assigned = tmp_path / f"{name}.gpkg", tmp_path / f"{name}-a.gpkg"
        r = cli(None, f"{base} --out {out} --assignments {assigned}{extra}")
        assert r.exit_code == 0, r.output
        assert ("dashboard http" in r.output) == (name != "here")
        summary = [line for line in r.output.splitlines() if line.startswith("已划分")]
        outputs[name] = (gpd.read_file(out), gpd.read_file(assigned), summary)
    assert f"workers {os.cpu_count()}" in r.output
    want_grids, want_assigned, want_summary = outputs["here"]
    assert len(want_summary) == 1 and "114 grids" in want_summary[0]
    for name in ("named", "own"):
        grids, assigned, summary = outputs[name]
        pd.testing.assert_frame_equal(grids.drop(columns="geometry"), want_grids.drop(columns="geometry"))
        assert grids.geometry.geom_equals_exact(want_grids.geometry, 1e-7).all()
        pd.testing.assert_frame_equal(assigned, want_assigned)
        assert summary == want_summary


def test_separately_started_scheduler_and_workers_draw_the_same_city(
    cli, city, expected, tmp_path, monkeypatch
):
    """`dask scheduler` and two `dask worker --nthreads 1` processes, named by DASK_SCHEDULER_ADDRESS: the
    command's grids and assignments are the in-process drawing's."""
    d = tmp_path / "city.gpkg"
    for name in ("communities", "buildings", "roads"):
        city[name].to_file(d, layer=name)
    out, assigned = tmp_path / "g.gpkg", tmp_path / "a.gpkg"
    # Two clusters' processes on a busy shared machine can keep a scheduler from answering within 10 s.
    monkeypatch.setenv("WANGGE_DASK_CONNECT_TIMEOUT_S", "60")
    with separate_cluster(2) as address:
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)
        r = cli(
            None,
            f"grids draw --buildings {d} --buildings-layer buildings --boundary {d} --boundary-layer communities "
            f"--roads {d} --roads-layer roads --out {out} --assignments {assigned}",
        )
    assert r.exit_code == 0 and address in r.output and "workers 2" in r.output, r.output
    grids, want = gpd.read_file(out), expected.grids
    assert list(grids["id"]) == list(want["id"])
    assert (grids["households"].to_numpy() == want["households"].to_numpy()).all()
    assert grids.geometry.geom_equals_exact(want.geometry.to_crs(grids.crs), 1e-7).all()
    rows = gpd.read_file(assigned)
    assert list(rows["grid_id"]) == list(expected.assignments)
