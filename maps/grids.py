"""The grid map: grids shaded by households against the 500 ± 10 % band, community and street outlines.

A first map for the command centre; the maps issue extends it (choropleth of scores,
offline assets, base maps). Every map says where its data comes from and when.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

import folium
import geopandas as gpd
import pandas as pd

from api.people import mask_phone

BAND_COLOURS = (("#f4a582", "户数偏少 below band"), ("#92c5de", "户数达标 in band"), ("#ca0020", "户数偏多 above band"))


def _band_colour(households: float, band: tuple[float, float]) -> str:
    lo, hi = band
    return BAND_COLOURS[0][0] if households < lo else BAND_COLOURS[2][0] if households > hi else BAND_COLOURS[1][0]


def grids_map(layers: dict[str, pd.DataFrame], band: tuple[float, float], *, source: str,
              data_time: datetime) -> folium.Map:
    """Grids coloured by their household band, with a card per grid (worker, households, buildings)."""
    grids: gpd.GeoDataFrame = layers["grids"].copy()
    buildings = layers["buildings"]
    people = layers["people"]
    counted = buildings.groupby("grid_id")["households"].agg(["sum", "count"])
    grids["hh"] = grids["id"].map(counted["sum"]).fillna(0).astype(int)
    grids["n_buildings"] = grids["id"].map(counted["count"]).fillna(0).astype(int)
    workers = people[people["role"] == "grid_worker"].drop_duplicates("grid_id").set_index("grid_id")
    minx, miny, maxx, maxy = grids.total_bounds
    fmap = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], tiles=None, zoom_control=True,
                      control_scale=True)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    grids["colour"] = [_band_colour(hh, band) for hh in grids["hh"]]
    worker_label = {gid: f"{w['name']} {mask_phone(w['phone'])}" for gid, w in workers.iterrows()}
    grids["worker"] = [worker_label.get(gid, "无 none") for gid in grids["id"]]
    card = grids[["id", "name", "hh", "n_buildings", "worker", "colour", "geometry"]]
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
        folium.GeoJson(layers[name].__geo_interface__, style_function=lambda _f, w=weight, c=colour: {
            "fill": False, "color": c, "weight": w}).add_to(outlines)
    outlines.add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    legend = "".join(f'<div><span style="background:{c};width:14px;height:14px;display:inline-block;'
                     f'margin-right:6px"></span>{label}</div>' for c, label in BAND_COLOURS)
    fmap.get_root().html.add_child(folium.Element(
        '<div style="position:fixed;top:10px;left:60px;z-index:9999;background:white;padding:8px 12px;'
        'border:1px solid #999;font:13px sans-serif">'
        f'<b>网格户数 Grid households</b> (目标 {band[0]:g}–{band[1]:g} 户)<br>{legend}'
        f'<div style="margin-top:6px;color:#555">数据来源 Source: {escape(source)}<br>'
        f'数据时间 Data time: {data_time:%Y-%m-%d %H:%M}</div></div>'))
    return fmap
