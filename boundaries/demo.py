"""The demo district: a deterministic, realistic street modelled on Zhenxing street, Panjin (seed 004).

About 0.7 km² near 122.07 E, 41.12 N; 16 named roads in an irregular pattern cut
into 42 responsible segments; 12 communities tiling the street; compounds of slab
and tower buildings (6 to 33 floors) summing to about 28,000 households; about 64
grids tiling the communities, one grid worker each; 44 party and 32 merchant
street chiefs. ``scale`` lays more streets side by side for benchmarks.

Everything is drawn in a street-aligned metric frame (u along the street, v across),
where roads run roughly along the axes and building rows are axis-aligned, then
rotated into UTM and projected to WGS-84. Shared boundaries are built from the same
vertices, so neighbouring polygons meet exactly.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import Transformer

from boundaries.demo_blocks import add_buildings, street_blocks
from boundaries.demo_grids import add_communities, serpentine
from boundaries.demo_lattice import lattice_buildings
from boundaries.demo_people import person_name, phone_number
from boundaries.demo_roads import STREET_H, STREET_W, add_roads, road_corridor, street_outline, street_roads
from core.vocabulary import LAYERS
from geo.coords import utm_epsg
from geo.polygons import polygonal

__all__ = ["LAYERS", "lattice_buildings", "make_district", "person_name", "phone_number", "write_district"]

CENTER_LON, CENTER_LAT = 122.07, 41.12
DISTRICT_NAME = "兴隆台区"
DISTRICT_CODE = "211103"
STREET_GAP = 80.0

STREET_NAMES = [
    "振兴街道",
    "兴隆街道",
    "渤海街道",
    "创新街道",
    "曙光街道",
    "新工街道",
    "友谊街道",
    "惠宾街道",
    "团结街道",
    "胜利街道",
    "兴盛街道",
    "园丁街道",
]


def _street_name(k: int) -> str:
    """The ``k``-th street's name: the twelve names, then again numbered 2, 3, ... on larger scales."""
    return STREET_NAMES[k % len(STREET_NAMES)] + (
        f"{k // len(STREET_NAMES) + 1}" if k >= len(STREET_NAMES) else ""
    )


def _one_street(rng: np.random.Generator, k: int) -> dict[str, list[dict]]:
    """All layers of one street in its local frame (metres), drawn from ``rng`` in a fixed order."""
    street_id = f"{DISTRICT_CODE}{k + 1:03d}"
    outline = street_outline(rng)
    roads = street_roads(rng, outline)
    blocks, households = street_blocks(rng, outline, roads, road_corridor(roads))
    # Communities are runs of neighbouring blocks: order the blocks band by band first.
    blocks = [blocks[i] for i in serpentine([b.poly for b in blocks], bands=4, height=STREET_H)]
    layers: dict[str, list[dict]] = {name: [] for name in LAYERS}
    layers["streets"].append(
        {"id": street_id, "name": _street_name(k), "district": DISTRICT_NAME, "geom": outline}
    )
    add_communities(rng, street_id, blocks, households, layers)
    add_buildings(rng, blocks, layers)
    add_roads(rng, street_id, roads, layers)
    for pi, p in enumerate(layers["people"]):
        p["id"] = f"{street_id}P{pi + 1:04d}"
    return layers


def _to_frame(rows: list[dict], crs_from: int, theta: float, origin: tuple[float, float]) -> gpd.GeoDataFrame:
    """Rotate a street's local frame by ``theta`` and move it to ``origin`` (UTM metres)."""
    geoms = [r.pop("geom") for r in rows]
    series = gpd.GeoSeries(geoms, crs=crs_from)
    c, s = math.cos(theta), math.sin(theta)
    series = series.affine_transform([c, -s, s, c, origin[0], origin[1]])
    return gpd.GeoDataFrame(rows, geometry=series.values, crs=crs_from)


def make_district(seed: int = 7, scale: int = 1) -> dict[str, gpd.GeoDataFrame]:
    """All seven layers of a demo district in EPSG:4326 (``people`` without geometry)."""
    epsg = utm_epsg(CENTER_LON, CENTER_LAT)
    to_utm = Transformer.from_crs(4326, epsg, always_xy=True)
    cx, cy = to_utm.transform(CENTER_LON, CENTER_LAT)
    cols = math.ceil(math.sqrt(scale))
    merged: dict[str, list[gpd.GeoDataFrame]] = {name: [] for name in LAYERS}
    for k in range(scale):
        rng = np.random.default_rng([seed, k])
        layers = _one_street(rng, k)
        theta = math.radians(rng.uniform(-12, 12))
        row, col = divmod(k, cols)
        # Each street's frame is rotated about its own centre, then placed on a loose lattice.
        ox = (
            cx
            + (col - (cols - 1) / 2) * (STREET_W + STREET_GAP)
            - (STREET_W / 2) * math.cos(theta)
            + (STREET_H / 2) * math.sin(theta)
        )
        oy = (
            cy
            + (row - (cols - 1) / 2) * (STREET_H + STREET_GAP)
            - (STREET_W / 2) * math.sin(theta)
            - (STREET_H / 2) * math.cos(theta)
        )
        for name in LAYERS:
            if name == "people":
                merged[name].append(pd.DataFrame(layers[name]))
            else:
                merged[name].append(_to_frame(layers[name], epsg, theta, (ox, oy)).to_crs(4326))
    out: dict[str, gpd.GeoDataFrame] = {}
    for name, frames in merged.items():
        df = pd.concat(frames, ignore_index=True)
        if name != "people":
            df = gpd.GeoDataFrame(df, geometry="geometry", crs=4326)
            if name in ("streets", "communities", "grids", "buildings"):
                # Projection noise can, rarely, make a ring touch itself; mend only those.
                df["geometry"] = [polygonal(g if g.is_valid else shapely.make_valid(g)) for g in df.geometry]
        out[name] = df
    return out


def write_district(layers: dict[str, gpd.GeoDataFrame], out_dir: Path) -> Path:
    """Write the layers into ``out_dir/district.gpkg`` (replacing it) and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "district.gpkg"
    if path.exists():
        path.unlink()
    for name in LAYERS:
        pyogrio.write_dataframe(layers[name], path, layer=name, driver="GPKG")
    return path
