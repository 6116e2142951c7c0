"""Bulk locate on Dask: a two-worker LocalCluster (and separately started `dask scheduler` and `dask worker`
processes) gives the same rows and statuses as the in-process path, ties on shared grid edges and
vertices included, and a worker killed in the middle of a job changes nothing in its output."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from boundaries.demo import write_district
from boundaries.point_parts import assemble, locate_part_file, plan_parts
from core.bulk_locate import run_parts
from core.locating import locate_frame
from geo.locate import INVALID, OK, OUTSIDE, Hierarchy
from geo.locate_parts import HierarchyWire, locators_built
from tests.core.dask_processes import free_port, separate_cluster, two_workers

N_RANDOM = 40_000
N_EDGE = 2_000
PART_POINTS = "8000"  # small parts, so two workers share many tasks


@pytest.fixture(scope="module")
def cluster():
    with two_workers() as pair:
        yield pair


@pytest.fixture(scope="module")
def hierarchy(demo_layers) -> Hierarchy:
    return Hierarchy.from_layers(demo_layers)


@pytest.fixture(scope="module")
def district_file(tmp_path_factory, demo_layers) -> Path:
    return write_district(demo_layers, tmp_path_factory.mktemp("district"))


@pytest.fixture(scope="module")
def points(hierarchy) -> pd.DataFrame:
    """Uniform points over and around the street, points exactly on grid vertices and edges (where the
    lowest id must win), points far outside, and rows with no coordinates."""
    rng = np.random.default_rng(19)
    minx, miny, maxx, maxy = hierarchy.streets.total_bounds
    lon = rng.uniform(minx - 0.002, maxx + 0.002, N_RANDOM)
    lat = rng.uniform(miny - 0.002, maxy + 0.002, N_RANDOM)
    grids = hierarchy.grids.geometry.values
    vertices = shapely.get_coordinates(grids)[rng.integers(0, len(shapely.get_coordinates(grids)), N_EDGE)]
    rings = shapely.boundary(grids)[rng.integers(0, len(grids), N_EDGE)]
    edges = shapely.get_coordinates(
        shapely.line_interpolate_point(rings, rng.uniform(0, 1, N_EDGE), normalized=True)
    )
    far = np.column_stack([rng.uniform(100, 110, 50), rng.uniform(20, 30, 50)])
    nan = np.full((50, 2), np.nan)
    xy = np.vstack([np.column_stack([lon, lat]), vertices, edges, far, nan])
    kind = (
        ["uniform"] * N_RANDOM
        + ["vertex"] * N_EDGE
        + ["edge"] * N_EDGE
        + ["far"] * 50
        + ["no_coordinates"] * 50
    )
    order = rng.permutation(len(xy))  # spread the awkward rows over every part
    return pd.DataFrame(
        {
            "name": [f"报事{i}" for i in range(len(xy))],
            "kind": np.array(kind)[order],
            "lon": xy[order, 0],
            "lat": xy[order, 1],
        }
    )


@pytest.fixture(scope="module")
def expected(hierarchy, points) -> pd.DataFrame:
    """The in-process path's answer."""
    return locate_frame(hierarchy, points, points["lon"].to_numpy(), points["lat"].to_numpy())


def _parquet_dir(points: pd.DataFrame, folder: Path, files: int = 3) -> Path:
    folder.mkdir(parents=True)
    for i, chunk in enumerate(np.array_split(np.arange(len(points)), files)):
        sub = folder / f"day=2026-12-0{i + 1}"
        sub.mkdir()
        points.iloc[chunk].to_parquet(sub / "fixes.parquet", row_group_size=4000, index=False)
    return folder


def _same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    got, want = got.reset_index(drop=True), want.reset_index(drop=True)
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for col in want.columns:
        if col == "segment_distance_m":
            np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), rtol=0, atol=0)
        elif col not in ("lon", "lat"):
            a, b = got[col].astype(object).fillna("∅"), want[col].astype(object).fillna("∅")
            assert (a.to_numpy() == b.to_numpy()).all(), f"{col} differs"


def test_a_parquet_directory_on_two_workers_equals_the_in_process_path(
    cli, cluster, tmp_path, district_file, points, expected, hierarchy, monkeypatch
):
    local, client = cluster
    src = _parquet_dir(points, tmp_path / "in")
    monkeypatch.setenv("WANGGE_LOCATE_PART_POINTS", PART_POINTS)
    r = cli(
        None,
        f"locate {src} --out {tmp_path / 'out'} --hierarchy {district_file} --scheduler {local.scheduler_address}",
    )
    assert r.exit_code == 0, r.output
    assert "dashboard http" in r.output and "workers 2" in r.output
    outputs = sorted((tmp_path / "out").rglob("*.parquet"))
    assert [p.relative_to(tmp_path / "out") for p in outputs] == [
        p.relative_to(src) for p in sorted(src.rglob("*.parquet"))
    ]  # partitioned like the input
    got = pd.concat([pd.read_parquet(p) for p in outputs], ignore_index=True)
    _same(got, expected)
    assert not list(tmp_path.glob(".out.parts"))
    # Every case really came up, and each worker built its locator once, for this hierarchy only.
    counts = got["status"].value_counts()
    assert counts[OK] > 20_000 and counts[OUTSIDE] > 5_000 and counts[INVALID] == 50
    assert (got.loc[got["kind"] == "far", "status"] == OUTSIDE).all()
    built = client.run(locators_built)
    assert sorted(map(len, built.values())) == [1, 1]
    assert {v[0] for v in built.values()} == {HierarchyWire.from_hierarchy(hierarchy).version}


def test_ties_on_shared_edges_and_vertices_go_to_the_lowest_grid_id(cluster, tmp_path, points, hierarchy):
    """Each point on a grid's edge or vertex is answered with the lowest id of all grids that cover it."""
    _, client = cluster
    src = _parquet_dir(points, tmp_path / "in", files=1)
    out = tmp_path / "out"
    parts = plan_parts(src, out, int(PART_POINTS))
    run_parts(
        locate_part_file,
        parts,
        HierarchyWire.from_hierarchy(hierarchy),
        weights=[p.rows for p in parts],
        client=client,
    )
    assemble(parts, out)
    got = pd.read_parquet(next(out.rglob("*.parquet")))
    on_edge = got[got["kind"].isin(["vertex", "edge"])]
    pts = shapely.points(on_edge["lon"], on_edge["lat"])
    grids = hierarchy.grids.sort_values("id")
    covers = shapely.covers(np.asarray(grids.geometry.values, dtype=object)[:, None], pts[None, :])
    lowest = np.where(covers.any(axis=0), grids["id"].to_numpy()[covers.argmax(axis=0)], None)
    # (an interpolated point may fall a hair outside the street's outer edge: no grid, on both sides)
    got_ids = on_edge["grid_id"].astype(object).where(on_edge["grid_id"].notna(), None).to_numpy()
    assert (got_ids == lowest).all()
    assert (covers.sum(axis=0) > 1).sum() > 500  # many points really sit on two or more grids


def test_csv_and_geoparquet_files_come_back_as_in_process(
    cli, cluster, tmp_path, district_file, points, monkeypatch
):
    """A CSV file and a GeoParquet file in GCJ-02, cut into parts and put together again, equal the
    in-process command's output (the CSV byte for byte)."""
    local, _ = cluster
    points.to_csv(tmp_path / "p.csv", index=False)
    gdf = gpd.GeoDataFrame(points, geometry=gpd.points_from_xy(points["lon"], points["lat"]), crs=4326)
    gdf.to_parquet(tmp_path / "p.parquet", row_group_size=5000)
    for name in ("p.csv", "p.parquet"):
        src = tmp_path / name
        monkeypatch.delenv("WANGGE_LOCATE_PART_POINTS", raising=False)
        r = cli(
            None, f"locate {src} --out {tmp_path / ('here_' + name)} --crs gcj02 --hierarchy {district_file}"
        )
        assert r.exit_code == 0 and "dashboard" not in r.output, r.output  # small: in this process
        monkeypatch.setenv("WANGGE_LOCATE_PART_POINTS", PART_POINTS)
        r = cli(
            None,
            f"locate {src} --out {tmp_path / ('there_' + name)} --crs gcj02 --hierarchy {district_file} --scheduler {local.scheduler_address}",
        )
        assert r.exit_code == 0 and "dashboard" in r.output, r.output
    assert (tmp_path / "here_p.csv").read_bytes() == (tmp_path / "there_p.csv").read_bytes()
    here, there = (
        gpd.read_parquet(tmp_path / "here_p.parquet"),
        gpd.read_parquet(tmp_path / "there_p.parquet"),
    )
    _same(pd.DataFrame(there.drop(columns="geometry")), pd.DataFrame(here.drop(columns="geometry")))
    assert there.crs == here.crs and there.geometry.geom_equals_exact(here.geometry, 0).all()


def test_a_worker_killed_mid_job_is_replaced_and_the_output_is_complete(
    cluster, tmp_path, points, expected, hierarchy
):
    _, client = cluster
    src = _parquet_dir(points, tmp_path / "in")
    out = tmp_path / "out"
    parts = plan_parts(src, out, 2000)
    done: list[int] = []
    result: dict = {}

    def job() -> None:
        result["counts"] = run_parts(
            slow_part,
            parts,
            HierarchyWire.from_hierarchy(hierarchy),
            weights=[p.rows for p in parts],
            client=client,
            progress=done.append,
        )

    runner = threading.Thread(target=job)
    runner.start()
    deadline = time.monotonic() + 30
    while len(done) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    pids = client.run(os.getpid)
    victim_address, victim = sorted(pids.items())[0]
    at_kill = len(done)
    os.kill(victim, signal.SIGKILL)
    runner.join(60)
    assert not runner.is_alive() and len(done) == len(parts) > 10
    assert at_kill < len(parts) - 2, "the kill came after the job had ended"
    client.wait_for_workers(2, timeout=30)
    assert victim not in client.run(os.getpid).values()  # the killed process is gone; the nanny made another
    assemble(parts, out)
    got = pd.concat([pd.read_parquet(p) for p in sorted(out.rglob("*.parquet"))], ignore_index=True)
    _same(got, expected)
    assert sum(c["rows"] for c in result["counts"]) == len(points)


def slow_part(part, wire, **options) -> dict:
    """The real task, slowed so the job is still running when a worker is killed."""
    time.sleep(0.15)
    return locate_part_file(part, wire, **options)


def test_separately_started_scheduler_and_workers_read_the_database(
    cli, district_url, tmp_path, points, monkeypatch
):
    """`dask scheduler` and two `dask worker --nthreads 1` processes, named by DASK_SCHEDULER_ADDRESS; the
    hierarchy comes from the database this time, and the answers equal the in-process command's."""
    with separate_cluster(2) as address:
        src = _parquet_dir(points, tmp_path / "in", files=2)
        monkeypatch.setenv("WANGGE_LOCATE_PART_POINTS", PART_POINTS)
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)
        r = cli(district_url, f"locate {src} --out {tmp_path / 'there'}")
        assert r.exit_code == 0 and address in r.output, r.output
        monkeypatch.delenv("DASK_SCHEDULER_ADDRESS")
        points.to_parquet(tmp_path / "all.parquet", index=False)
        r = cli(district_url, f"locate {tmp_path / 'all.parquet'} --out {tmp_path / 'here.parquet'}")
        assert r.exit_code == 0 and "dashboard" not in r.output, r.output
    there = pd.concat(
        [pd.read_parquet(p) for p in sorted((tmp_path / "there").rglob("*.parquet"))], ignore_index=True
    )
    _same(there, pd.read_parquet(tmp_path / "here.parquet"))


def test_what_cannot_go_to_a_cluster_is_refused_with_a_reason(
    cli, tmp_path, district_file, points, monkeypatch
):
    """GeoJSON cannot be cut into parts, and a scheduler that is not there is named, not a traceback."""
    monkeypatch.setenv("WANGGE_DASK_CONNECT_TIMEOUT_S", "1")
    gpd.GeoDataFrame(
        points.head(10), geometry=gpd.points_from_xy(points["lon"][:10], points["lat"][:10]), crs=4326
    ).to_file(tmp_path / "p.geojson")
    r = cli(
        None,
        f"locate {tmp_path / 'p.geojson'} --out {tmp_path / 'o.geojson'} --hierarchy {district_file} --scheduler tcp://127.0.0.1:1",
    )
    assert r.exit_code == 2 and "distributed locate reads and writes .parquet and .csv" in r.output
    points.head(10).to_csv(tmp_path / "p.csv", index=False)
    r = cli(
        None,
        f"locate {tmp_path / 'p.csv'} --out {tmp_path / 'o.csv'} --hierarchy {district_file} --scheduler tcp://127.0.0.1:{free_port()}",
    )
    assert r.exit_code == 1 and "cannot reach the Dask scheduler" in r.output
    assert not (tmp_path / "o.csv").exists()


def test_a_large_input_without_a_scheduler_starts_a_local_cluster_of_its_own(
    cli, tmp_path, district_file, points, expected, monkeypatch
):
    """No scheduler named and more points than the threshold: the command starts a LocalCluster sized to
    the machine, says where its dashboard is, and stops it; the answers are the in-process ones."""
    points.to_csv(tmp_path / "p.csv", index=False)
    monkeypatch.setenv("WANGGE_LOCATE_CLUSTER_MIN_POINTS", str(len(points) // 2))
    monkeypatch.setenv("WANGGE_LOCATE_PART_POINTS", "20000")
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    r = cli(None, f"locate {tmp_path / 'p.csv'} --out {tmp_path / 'o.parquet'} --hierarchy {district_file}")
    assert r.exit_code == 0, r.output
    assert f"workers {os.cpu_count()}" in r.output and "dashboard http" in r.output
    _same(pd.read_parquet(tmp_path / "o.parquet"), expected)
