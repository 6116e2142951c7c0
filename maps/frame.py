"""What every map page carries around the data: a title panel with legend, source and data time."""

from __future__ import annotations

from datetime import datetime

import folium
import geopandas as gpd

from core.vocabulary import beijing_text
from maps.basemaps import BaseMap
from maps.safe import features, safe


def add_panel(
    fmap: folium.Map,
    title: str,
    legend: list[tuple[str, str]],
    *,
    source: str,
    data_time: datetime,
    note: str | None = None,
) -> None:
    """A fixed panel: title, colour legend, data source and time (every map must say both); the time in
    Beijing time with its offset (a naive ``data_time`` is taken as UTC)."""
    rows = "".join(
        f'<div><span style="background:{c};width:14px;height:14px;display:inline-block;'
        f'margin-right:6px;vertical-align:middle"></span>{safe(label)}</div>'
        for c, label in legend
    )
    extra = f'<div style="margin-top:4px">{safe(note)}</div>' if note else ""
    fmap.get_root().html.add_child(
        folium.Element(
            '<div class="wangge-panel" style="position:fixed;top:10px;left:60px;z-index:9999;background:white;'
            'padding:8px 12px;border:1px solid #999;font:13px sans-serif;max-width:360px">'
            f"<b>{safe(title)}</b>{extra}{rows}"
            f'<div style="margin-top:6px;color:#555">数据来源 Source: {safe(source)}<br>'
            f"数据时间 Data time: {beijing_text(data_time)}</div></div>"
        )
    )
    folium.LayerControl(collapsed=False).add_to(fmap)


def add_street_outline(fmap: folium.Map, streets: gpd.GeoDataFrame, base: BaseMap) -> None:
    """The street boundary as a heavy black line, its own entry in the layer control."""
    folium.GeoJson(
        features(streets, base),
        name="街道 Street",
        style_function=lambda _f: {"fill": False, "color": "#000", "weight": 3},
    ).add_to(fmap)


def fill_by_colour(edge: str, weight: float, opacity: float):
    """A GeoJson style: each feature filled with its own ``colour`` property, outlined in ``edge``."""
    return lambda f: {
        "fillColor": f["properties"]["colour"],
        "color": edge,
        "weight": weight,
        "fillOpacity": opacity,
    }
