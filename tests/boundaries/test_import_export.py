"""Importing layer files: field mapping, CRS handling, and every kind of bad feature rejected whole."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon, box
from sqlalchemy import create_engine, text

from geo.coords import from_wgs84

# A small street near Panjin: one street, two communities, grids inside one of them.
STREET = box(122.060, 41.110, 122.080, 41.125)
COMM_A = box(122.060, 41.110, 122.070, 41.125)
COMM_B = box(122.070, 41.110, 122.080, 41.125)
GRID_1 = box(122.060, 41.110, 122.065, 41.125)
GRID_2 = box(122.065, 41.110, 122.070, 41.125)


def write_geojson(path: Path, rows: list[dict], geoms: list) -> Path:
    feats = [
        {
            "type": "Feature",
            "properties": r,
            "geometry": shapely.geometry.mapping(g) if g is not None else None,
        }
        for r, g in zip(rows, geoms, strict=True)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


def count(url: str, table: str) -> int:
    engine = create_engine(url)
    with engine.connect() as c:
        n = c.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608 (test constant)
    engine.dispose()
    return n


@pytest.fixture
def street_db(fresh_url, cli, tmp_path):
    """A fresh database holding one street and two communities, imported through the CLI."""
    s = write_geojson(tmp_path / "streets.geojson", [{"id": "211103001", "name": "振兴街道"}], [STREET])
    c = write_geojson(
        tmp_path / "communities.geojson",
        [
            {"id": "211103001001", "name": "甲社区", "street_id": "211103001"},
            {"id": "211103001002", "name": "乙社区", "street_id": "211103001"},
        ],
        [COMM_A, COMM_B],
    )
    assert cli(fresh_url, "import", "streets", str(s)).exit_code == 0
    r = cli(fresh_url, "import", "communities", str(c))
    assert r.exit_code == 0, r.output
    return fresh_url


def good_grids() -> tuple[list[dict], list]:
    return (
        [
            {"id": "21110300100101", "name": "一网格", "community_id": "211103001001", "households": 480},
            {"id": "21110300100102", "name": "二网格", "community_id": "211103001001", "households": 510},
        ],
        [GRID_1, GRID_2],
    )


def test_a_clean_file_imports_and_exports_back(street_db, cli, tmp_path):
    rows, geoms = good_grids()
    path = write_geojson(tmp_path / "grids.geojson", rows, geoms)
    r = cli(street_db, "import", "grids", str(path))
    assert r.exit_code == 0, r.output
    assert "imported 2 grids" in r.output
    assert count(street_db, "grids") == 2
    for ext in ("gpkg", "geojson", "shp", "parquet"):
        out = tmp_path / f"out.{ext}"
        r = cli(street_db, "export", "grids", str(out))
        assert r.exit_code == 0, r.output
        back = gpd.read_parquet(out) if ext == "parquet" else gpd.read_file(out)
        assert sorted(back["id"]) == ["21110300100101", "21110300100102"]
        assert (
            back.geometry.iloc[0].equals_exact(shapely.MultiPolygon([GRID_1]), 1e-9)
            or back.geometry.iloc[0].symmetric_difference(GRID_1).area < 1e-12
        )


@pytest.mark.parametrize(
    "case,rows,geoms,reason",
    [
        (
            "self-intersecting",
            [{"id": "G1", "community_id": "211103001001"}],
            [Polygon([(122.061, 41.111), (122.064, 41.114), (122.064, 41.111), (122.061, 41.114)])],
            "Self-intersection",
        ),
        (
            "wrong type",
            [{"id": "G1", "community_id": "211103001001"}],
            [Point(122.062, 41.112)],
            "wrong geometry type Point",
        ),
        ("missing id", [{"id": None, "community_id": "211103001001"}], [GRID_1], "missing id"),
        (
            "duplicate id",
            [{"id": "G1", "community_id": "211103001001"}, {"id": "G1", "community_id": "211103001001"}],
            [GRID_1, GRID_2],
            "duplicate id in file",
        ),
        (
            "unknown parent",
            [{"id": "G1", "community_id": "999"}],
            [GRID_1],
            "unknown parent community_id=999",
        ),
        (
            "out of range",
            [{"id": "G1", "community_id": "211103001001"}],
            [box(421500, 4552000, 421600, 4552100)],
            "is outside lon −180..180",
        ),
        (
            "negative households",
            [{"id": "G1", "community_id": "211103001001", "households": -5}],
            [GRID_1],
            "households -5 must be zero or more",
        ),
        (
            "empty geometry",
            [{"id": "G1", "community_id": "211103001001"}],
            [None],
            "missing or empty geometry",
        ),
    ],
)
def test_a_bad_feature_rejects_the_whole_file(street_db, cli, tmp_path, case, rows, geoms, reason):
    good_rows, good_geoms = good_grids()
    path = write_geojson(tmp_path / "grids.geojson", good_rows + rows, good_geoms + geoms)
    report = tmp_path / "report.json"
    r = cli(street_db, "import", "grids", str(path), "--report", str(report))
    assert r.exit_code == 1, r.output
    assert "nothing written" in r.output
    assert reason in r.output
    problems = json.loads(report.read_text())
    assert problems and all(p["index"] >= 2 for p in problems)  # the two good features are not blamed
    assert reason in problems[0]["reason"]
    assert count(street_db, "grids") == 0


def test_nan_coordinates_are_rejected(street_db, cli, tmp_path):
    frame = gpd.GeoDataFrame(
        {"id": ["G1"], "community_id": ["211103001001"]},
        geometry=[Polygon([(122.061, 41.111), (float("nan"), 41.114), (122.064, 41.111)])],
        crs=4326,
    )
    path = tmp_path / "nan.gpkg"
    frame.to_file(path, layer="grids")
    r = cli(street_db, "import", "grids", str(path))
    assert r.exit_code == 1 and "NaN or infinite coordinate" in r.output
    assert count(street_db, "grids") == 0


def test_repair_fixes_a_bow_tie_and_says_what_changed(street_db, cli, tmp_path):
    bow = Polygon([(122.061, 41.111), (122.064, 41.114), (122.064, 41.111), (122.061, 41.114)])
    path = write_geojson(tmp_path / "g.geojson", [{"id": "G1", "community_id": "211103001001"}], [bow])
    r = cli(street_db, "import", "grids", str(path), "--repair")
    assert r.exit_code == 0, r.output
    assert "repaired" in r.output and "Self-intersection" in r.output and "parts 1→2" in r.output
    assert "area 0.0→41975" in r.output  # the bow tie's two triangles, in m²
    assert count(street_db, "grids") == 1


def test_field_mapping_and_reprojection_from_a_shapefile(street_db, cli, tmp_path):
    frame = gpd.GeoDataFrame(
        {"CODE": ["21110300100101"], "MC": ["一网格"], "SQ": ["211103001001"], "HU": [498]},
        geometry=[GRID_1],
        crs=4326,
    ).to_crs(32651)
    path = tmp_path / "grids_utm.shp"
    frame.to_file(path)
    r = cli(
        street_db,
        f"import grids {path} --id-field CODE --name-field MC --parent-field SQ --households-field HU",
    )
    assert r.exit_code == 0, r.output
    assert "32651" in r.output
    row = _one_row(
        street_db,
        "SELECT name, households, ST_Area(ST_SymDifference(geom, "
        "ST_MakeEnvelope(122.060, 41.110, 122.065, 41.125, 4326))) FROM grids",
    )
    assert row[0] == "一网格" and row[1] == 498 and row[2] < 1e-12


def _one_row(url: str, sql: str) -> tuple:
    engine = create_engine(url)
    with engine.connect() as c:
        row = c.execute(text(sql)).one()
    engine.dispose()
    return tuple(row)


def test_gcj02_data_is_shifted_back_to_wgs84(street_db, cli, tmp_path):
    coords = shapely.get_coordinates(GRID_1)
    gx, gy = from_wgs84(coords[:, 0], coords[:, 1], "gcj02")
    drawn = Polygon(list(zip(gx, gy, strict=True)))
    path = write_geojson(tmp_path / "g.geojson", [{"id": "G1", "community_id": "211103001001"}], [drawn])
    r = cli(street_db, "import", "grids", str(path), "--crs", "gcj02")
    assert r.exit_code == 0, r.output
    (diff,) = _one_row(
        street_db,
        "SELECT ST_Area(ST_SymDifference(geom, ST_MakeEnvelope(122.060, 41.110, 122.065, "
        "41.125, 4326)), true) FROM grids",
    )
    assert diff < 10.0  # m²: vertices back within millimetres of the truth


def test_unknown_field_and_missing_file_are_clear_errors(street_db, cli, tmp_path):
    rows, geoms = good_grids()
    path = write_geojson(tmp_path / "grids.geojson", rows, geoms)
    r = cli(street_db, "import", "grids", str(path), "--id-field", "CODE")
    assert r.exit_code == 2 and "has no field CODE" in r.output
    r = cli(street_db, "import", "grids", str(tmp_path / "nope.geojson"))
    assert r.exit_code == 2 and "file not found" in r.output
    assert count(street_db, "grids") == 0


def test_road_segments_take_lines_and_refuse_polygons(street_db, cli, tmp_path):
    line = LineString([(122.061, 41.112), (122.069, 41.112)])
    path = write_geojson(
        tmp_path / "seg.geojson",
        [
            {"id": "S1", "name": "振兴路", "street_id": "211103001"},
            {"id": "S2", "name": "x", "street_id": "211103001"},
        ],
        [line, GRID_1],
    )
    r = cli(street_db, "import", "road_segments", str(path))
    assert r.exit_code == 1 and "needs a single connected LineString" in r.output
    assert count(street_db, "road_segments") == 0


def test_every_layer_of_the_demo_file_imports_layer_by_layer(fresh_url, cli, tmp_path, demo_layers):
    from boundaries.demo import write_district
    from boundaries.layers import LOAD_ORDER

    path = write_district(demo_layers, tmp_path)
    # The layer flag under any of its names (grids draw's names for its inputs work too).
    flag = {"buildings": "--buildings-layer", "roads": "--roads-layer", "streets": "--boundary-layer"}
    for layer in LOAD_ORDER:
        r = cli(fresh_url, "import", layer, str(path), flag.get(layer, "--layer-name"), layer)
        assert r.exit_code == 0, (layer, r.output)
        assert count(fresh_url, layer) == len(demo_layers[layer])
    r = cli(fresh_url, "validate")
    assert r.exit_code == 0 and "0 error(s)" in r.output
    # Stored grids export as stored (the demo has grids in two pieces), each checked valid on the way out.
    grids = tmp_path / "grids.gpkg"
    assert cli(fresh_url, "export", "grids", str(grids)).exit_code == 0
    assert gpd.read_file(grids).is_valid.all()
    # people have no geometry: they go out and come back as a plain table
    out = tmp_path / "people.csv"
    assert cli(fresh_url, "export", "people", str(out)).exit_code == 0
    assert out.read_text(encoding="utf-8").count("street_chief") == 76
