"""OpenStreetMap extracts (.osm.pbf) as road lines and buildings, read with pyrosm.

OSM has no household counts, so a building's households are estimated from its footprint:
footprint area × levels ÷ ``AREA_PER_HOUSEHOLD_M2`` (90 m² of gross floor area per household, about
a Chinese city flat with its share of stairs and walls), with ``DEFAULT_LEVELS`` where the map has
no ``building:levels``. The estimate is a stand-in for the census, stated wherever it is used.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from boundaries.readers import ReadError, source_layer_name
from geo.coords import utm_epsg
from geo.partition.barriers import major_roads

AREA_PER_HOUSEHOLD_M2 = 90.0
DEFAULT_LEVELS = 3.0
MIN_FOOTPRINT_M2 = 20.0  # sheds and kiosks hold no household
# Barriers a grid should not cross (people do not walk over them to their grid worker): major roads (OSM's
# highway classes, or a roads file's ``kind`` as the demo writes it), railways and water.
RAILWAYS = ["rail", "light_rail", "narrow_gauge"]
WATERWAYS = ["river", "canal"]


class OsmError(ValueError):
    """An extract that cannot be read, or has nothing of the kind asked for."""


def is_osm(path: str | Path) -> bool:
    return str(path).lower().endswith(".pbf")


def _open(path: str | Path):
    from pyrosm import OSM

    if not Path(path).is_file():
        raise OsmError(f"no such OSM extract: {path}")
    try:
        return OSM(str(path))
    except Exception as exc:  # pyrosm raises plain exceptions on a file that is not a PBF
        raise OsmError(f"cannot read {path} as an OSM extract: {exc}") from None


def read_roads(path: str | Path) -> gpd.GeoDataFrame:
    """The walkable ways (streets, footways, steps…) with their names, WGS-84 lines."""
    ways = _open(path).get_network(network_type="walking")
    if ways is None or len(ways) == 0:
        raise OsmError(f"{path} has no walkable ways")
    ways = ways.explode(index_parts=False)
    ways = ways[ways.geometry.geom_type == "LineString"]
    way = pd.Series([f"osm{int(i)}" for i in ways["id"].to_numpy()])
    part = way.groupby(way).cumcount()
    return gpd.GeoDataFrame(
        {
            # The way's id, and its part's number where a way came in several lines.
            "id": np.where(part > 0, way + "-" + part.astype(str), way),
            "name": ways["name"].fillna("").astype(str).to_numpy(),
            "highway": ways["highway"].astype(str).to_numpy(),
        },
        geometry=ways.geometry.to_numpy(),
        crs=4326,
    )


def read_buildings(path: str | Path) -> gpd.GeoDataFrame:
    """Buildings with ``households`` estimated from footprint and levels (see the module notes)."""
    found = _open(path).get_buildings()
    if found is None or len(found) == 0:
        raise OsmError(f"{path} has no buildings")
    found = found[found.geometry.geom_type.isin(["Polygon", "MultiPolygon"]) & found.geometry.is_valid]
    centre = found.geometry.union_all().centroid
    area = found.geometry.to_crs(utm_epsg(centre.x, centre.y)).area.to_numpy()
    raw_levels = (
        found["building:levels"] if "building:levels" in found.columns else pd.Series(np.nan, found.index)
    )
    levels = pd.to_numeric(raw_levels, errors="coerce").fillna(DEFAULT_LEVELS).clip(1, 60).to_numpy()
    keep = area >= MIN_FOOTPRINT_M2
    households = np.maximum(1, np.round(area * levels / AREA_PER_HOUSEHOLD_M2)).astype(int)
    return gpd.GeoDataFrame(
        {
            "id": [f"osm{int(i)}" for i in found["id"].to_numpy()[keep]],
            "levels": levels[keep],
            "footprint_m2": area[keep].round(1),
            "households": households[keep],
        },
        geometry=found.geometry.to_numpy()[keep],
        crs=4326,
    )


def read_file_layer(path: str | Path, layer: str | None, default: str) -> gpd.GeoDataFrame:
    """One layer of a file GDAL reads: the one asked for, else one named ``default``, else the first (a
    district GeoPackage holds streets, grids, buildings and roads side by side)."""
    path = Path(path)
    if not path.exists():
        raise ReadError(f"file not found: {path}")
    if path.suffix.lower() == ".parquet":
        return gpd.read_parquet(path)
    return gpd.read_file(path, layer=source_layer_name(path, layer, default))


def read_lines_or_osm(path: str | Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Road lines from any file GDAL reads (``layer``, else ``roads``, else the first), or an OSM extract."""
    return read_roads(path) if is_osm(path) else read_file_layer(path, layer, "roads")


def read_buildings_or_osm(path: str | Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Buildings from any file GDAL reads (``layer``, else ``buildings``, else the first), or an OSM extract
    (households estimated)."""
    return read_buildings(path) if is_osm(path) else read_file_layer(path, layer, "buildings")


def read_barriers(path: str | Path, layer: str | None = None) -> gpd.GeoSeries:
    """Barrier lines of a roads input: its major roads, and from an OSM extract also its railways, rivers,
    canals and the shores of water (WGS-84 for an extract)."""
    if not is_osm(path):
        return major_roads(read_file_layer(path, layer, "roads"))
    osm = _open(path)
    parts = [major_roads(read_roads(path)).to_crs(4326).values]
    for tag, values in (("railway", RAILWAYS), ("waterway", WATERWAYS), ("natural", ["water"])):
        found = osm.get_data_by_custom_criteria(
            custom_filter={tag: values}, filter_type="keep", keep_nodes=False, keep_relations=tag == "natural"
        )
        if found is not None and len(found):
            parts.append(
                shapely.boundary(found.geometry.values) if tag == "natural" else found.geometry.values
            )
    return gpd.GeoSeries(np.concatenate(parts), crs=4326).explode(index_parts=False)
