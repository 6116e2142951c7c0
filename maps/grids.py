"""The grid map: grids shaded by households against the 500 ± 10 % band, community and street outlines.

The maps issue's choropleths by incident rate and three-rate score join this map
when incidents exist. Every map says where its data comes from and when.
"""

from __future__ import annotations

from datetime import datetime

import folium
import geopandas as gpd
import pandas as pd

from api.people import mask_phone
from maps.basemaps import BaseMap, for_display, new_map
from maps.frame import add_panel

BAND_COLOURS = (("#f4a582", "户数偏少 below band"), ("#92c5de", "户数达标 in band"), ("#ca0020", "户数偏多 above band"))


def _band_colour(households: float, band: tuple[float, float]) -> str:
    lo, hi = band
    return BAND_COLOURS[0][0] if households < lo else BAND_COLOURS[2][0] if households > hi else BAND_COLOURS[1][0]


def grids_map(layers: dict[str, pd.DataFrame], band: tuple[float, float], base: BaseMap, *, source: str,
              data_time: datetime) -> folium.Map:
    """Grids coloured by their household band, with a card per grid (worker, households, buildings)."""
    grids: gpd.GeoDataFrame = layers["grids"].copy()
    counted = layers["buildings"].groupby("grid_id")["households"].agg(["sum", "count"])
    grids["hh"] = grids["id"].map(counted["sum"]).fillna(0).astype(int)
    grids["n_buildings"] = grids["id"].map(counted["count"]).fillna(0).astype(int)
    people = layers["people"]
    workers = people[people["role"] == "grid_worker"].drop_duplicates("grid_id").set_index("grid_id")
    worker_label = {gid: f"{w['name']} {mask_phone(w['phone'])}" for gid, w in workers.iterrows()}
    grids["worker"] = [worker_label.get(gid, "无 none") for gid in grids["id"]]
    grids["colour"] = [_band_colour(hh, band) for hh in grids["hh"]]
    fmap = new_map(base, tuple(grids.total_bounds))
    card = for_display(grids[["id", "name", "hh", "n_buildings", "worker", "colour", "geometry"]], base)
    layer = folium.FeatureGroup(name="网格 Grids", show=True)
    folium.GeoJson(
        card.__geo_interface__,
        style_function=lambda f: {"fillColor": f["properties"]["colour"], "color": "#555", "weight": 1,
                                  "fillOpacity": 0.6},
        tooltip=folium.GeoJsonTooltip(["name", "hh"], aliases=["网格 grid", "户数 households"]),
        popup=folium.GeoJsonPopup(["name", "id", "hh", "n_buildings", "worker"],
                                  aliases=["网格 grid", "编号 id", "户数 households", "楼栋 buildings", "网格员 worker"]),
    ).add_to(layer)
    layer.add_to(fmap)
    outlines = folium.FeatureGroup(name="社区与街道 Communities and streets", show=True)
    for name, weight, colour in (("communities", 2.5, "#1f4e9c"), ("streets", 4, "#000")):
        folium.GeoJson(for_display(layers[name], base).__geo_interface__,
                       style_function=lambda _f, w=weight, c=colour: {"fill": False, "color": c, "weight": w}
                       ).add_to(outlines)
    outlines.add_to(fmap)
    add_panel(fmap, f"网格户数 Grid households (目标 {band[0]:g}–{band[1]:g} 户)", list(BAND_COLOURS),
              source=source, data_time=data_time)
    return fmap
