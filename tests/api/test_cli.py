"""`wangge` commands a user runs: db, demo, locate on files."""

from __future__ import annotations

import os
import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from boundaries.demo import write_district
from geo.coords import from_wgs84
from store.cluster import EmbeddedCluster
from store.engine import database_url


@pytest.fixture(scope="module")
def district_file(tmp_path_factory, demo_layers):
    return write_district(demo_layers, tmp_path_factory.mktemp("district"))


@pytest.fixture(scope="module")
def sample_points(demo_layers):
    rng = np.random.default_rng(5)
    minx, miny, maxx, maxy = demo_layers["streets"].total_bounds
    n = 5000
    return pd.DataFrame(
        {
            "name": [f"报事{i}" for i in range(n)],
            "lon": rng.uniform(minx - 0.001, maxx + 0.001, n),
            "lat": rng.uniform(miny - 0.001, maxy + 0.001, n),
        }
    )


# The columns the README promises bulk locating adds, spelled out as other tools read them.
CONTRACT = "street_id community_id grid_id building_id segment_id segment_distance_m status".split()


def test_locate_csv_against_a_file_and_the_database_agree(
    cli, tmp_path, district_file, district_url, sample_points
):
    src = tmp_path / "points.csv"
    sample_points.to_csv(src, index=False)
    r = cli(None, "locate", str(src), "--out", str(tmp_path / "a.csv"), "--hierarchy", str(district_file))
    assert r.exit_code == 0, r.output
    r = cli(district_url, "locate", str(src), "--out", str(tmp_path / "b.csv"))
    assert r.exit_code == 0, r.output
    a, b = pd.read_csv(tmp_path / "a.csv", dtype=str), pd.read_csv(tmp_path / "b.csv", dtype=str)
    assert list(a.columns) == ["name", "lon", "lat", *CONTRACT]
    assert a.equals(b)
    assert set(a["status"]) == {"ok", "outside_service_area"}


def test_locate_geojson_and_geoparquet_in_gcj02(cli, tmp_path, district_file, sample_points):
    gx, gy = from_wgs84(sample_points["lon"], sample_points["lat"], "gcj02")
    pts = gpd.GeoDataFrame(sample_points[["name"]], geometry=gpd.points_from_xy(gx, gy), crs=4326)
    base = tmp_path / "w.csv"
    sample_points.to_csv(base, index=False)
    cli(None, "locate", str(base), "--out", str(tmp_path / "w_out.csv"), "--hierarchy", str(district_file))
    truth = pd.read_csv(tmp_path / "w_out.csv", dtype=str)
    for ext in ("geojson", "parquet"):
        src = tmp_path / f"g.{ext}"
        pts.to_parquet(src) if ext == "parquet" else pts.to_file(src)
        out = tmp_path / f"g_out.{ext}"
        r = cli(None, f"locate {src} --out {out} --crs gcj02 --hierarchy {district_file}")
        assert r.exit_code == 0, r.output
        got = gpd.read_parquet(out) if ext == "parquet" else gpd.read_file(out)
        assert set(CONTRACT) <= set(got.columns)
        same = (
            got["grid_id"].fillna("-").astype(str).to_numpy() == truth["grid_id"].fillna("-").to_numpy()
        ).mean()
        assert same > 0.999


def test_locate_reports_bad_rows_and_bad_files(cli, tmp_path, district_file):
    src = tmp_path / "p.csv"
    pd.DataFrame({"x": [122.07, "abc", 500], "y": [41.12, 41.12, 41.12]}).to_csv(src, index=False)
    r = cli(None, "locate", str(src), "--out", str(tmp_path / "o.csv"), "--hierarchy", str(district_file))
    assert r.exit_code == 2 and "no column lon" in r.output
    r = cli(
        None,
        f"locate {src} --out {tmp_path / 'o.csv'} --hierarchy {district_file} --lon-field x --lat-field y",
    )
    assert r.exit_code == 0, r.output
    out = pd.read_csv(tmp_path / "o.csv")
    assert list(out["status"]) == ["ok", "invalid_coordinates", "invalid_coordinates"]
    lines = gpd.GeoDataFrame(
        {"id": [1]}, geometry=gpd.GeoSeries.from_wkt(["LINESTRING (0 0, 1 1)"]), crs=4326
    )
    lines.to_file(tmp_path / "l.geojson")
    r = cli(
        None, f"locate {tmp_path / 'l.geojson'} --out {tmp_path / 'o.geojson'} --hierarchy {district_file}"
    )
    assert r.exit_code == 2 and "must hold points" in r.output


def test_demo_load_is_idempotent(cli, fresh_url, tmp_path):
    r = cli(fresh_url, "demo", "--load", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert (tmp_path / "district.gpkg").exists() and "grids" in r.output
    r = cli(fresh_url, "demo", "--load")
    assert r.exit_code == 0 and "already loaded" in r.output
    engine = create_engine(fresh_url)
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM road_segments")).scalar_one() == 42
    engine.dispose()


@pytest.mark.db
def test_the_database_in_use_is_running_and_has_the_extensions(cli):
    r = cli(None, "db", "status")
    assert r.exit_code == 0 and ("running" in r.output or "external" in r.output)
    if not os.environ.get("DATABASE_URL"):
        cluster = EmbeddedCluster.default()
        assert cluster.start() == cluster.start() == cluster.url()  # idempotent
    engine = create_engine(database_url())
    with engine.connect() as c:
        exts = set(c.execute(text("SELECT extname FROM pg_extension")).scalars())
    engine.dispose()
    assert {"postgis", "pgrouting"} <= exts


@pytest.mark.db
def test_a_new_cluster_initialises_starts_and_stops(tmp_path, monkeypatch):
    """initdb on first use in a fresh var/ folder (as root: relocated for postgres when it cannot reach it)."""
    monkeypatch.setenv("WANGGE_VAR", str(tmp_path / "var"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    cluster = EmbeddedCluster.default()
    try:
        url = cluster.start()
        assert cluster.running() and cluster.start() == url
        engine = create_engine(url)
        with engine.connect() as c:
            assert c.execute(text("SELECT postgis_lib_version()")).scalar_one().startswith("3.")
        engine.dispose()
        assert (tmp_path / "var" / "pg" / "data" / "PG_VERSION").exists()
    finally:
        assert cluster.stop() is True
    assert not cluster.running() and cluster.stop() is False
    shutil.rmtree(cluster.base)  # a relocated cluster lives outside tmp_path


def test_serve_answers_real_http(district_url):
    """`wangge serve` as a user starts it: a live server on a free port, queried over HTTP."""
    import json
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, DATABASE_URL=district_url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as r:
                    assert json.load(r)["status"] == "ok"
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "server did not come up"
                time.sleep(0.3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/locate?lon=0&lat=0", timeout=5) as r:
            assert json.load(r)["status"] == "outside_service_area"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/" in out
