"""Base maps, and the coordinate system overlays must be drawn in to sit on them.

Chinese base maps come in GCJ-02 (Amap, Tencent) or CGCS2000 (Tianditu, equal to
WGS-84 at street scale). An overlay drawn in WGS-84 sits hundreds of metres off on a
GCJ-02 map, so on such a map every overlay is converted to GCJ-02 first.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass

import folium
import geopandas as gpd
import numpy as np
import shapely

from geo.coords import LIKE_WGS84, from_wgs84


class BaseMapError(ValueError):
    """An unknown base map, or one that needs configuration it does not have."""


@dataclass(frozen=True)
class BaseMap:
    name: str
    label: str
    crs: str  # the coordinate system the tiles are drawn in: "wgs84" or "gcj02"
    tiles: str | None = None
    attribution: str | None = None
    subdomains: str | None = None


def base_map(name: str | None = None) -> BaseMap:
    """The base map by name (default ``WANGGE_BASEMAP``, else none: a plain background that works offline)."""
    name = (name or os.environ.get("WANGGE_BASEMAP") or "none").lower()
    if name == "none":
        return BaseMap("none", "无底图 no base map", "wgs84")
    if name == "osm":
        return BaseMap(
            "osm",
            "OpenStreetMap",
            "wgs84",
            "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            "© OpenStreetMap contributors",
        )
    if name == "local":
        url = os.environ.get("WANGGE_TILE_URL")
        if not url:
            raise BaseMapError(
                "base map 'local' needs WANGGE_TILE_URL, e.g. http://tiles.intranet/{z}/{x}/{y}.png"
            )
        return BaseMap(
            "local",
            "内网底图 intranet tiles",
            os.environ.get("WANGGE_TILE_CRS", "wgs84").lower(),
            url,
            os.environ.get("WANGGE_TILE_ATTRIBUTION", "内网底图 intranet tiles"),
        )
    if name == "tianditu":
        key = os.environ.get("WANGGE_TIANDITU_KEY")
        if not key:
            raise BaseMapError("base map 'tianditu' needs a key in WANGGE_TIANDITU_KEY")
        return BaseMap(
            "tianditu",
            "天地图 Tianditu",
            "wgs84",
            "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
            "&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
            f"&TILECOL={{x}}&tk={key}",
            "© 天地图 Tianditu",
            "01234567",
        )
    if name == "amap":
        return BaseMap(
            "amap",
            "高德地图 Amap",
            "gcj02",
            "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
            "© 高德地图 Amap",
            "1234",
        )
    raise BaseMapError(f"base map {name!r} is not one of none, osm, local, tianditu, amap")


def new_map(base: BaseMap, bounds: tuple[float, float, float, float]) -> folium.Map:
    """A Leaflet map fitted to ``bounds`` (WGS-84 lon/lat) on ``base``."""
    minx, miny, maxx, maxy = bounds
    if base.crs == "gcj02":
        (minx, maxx), (miny, maxy) = from_wgs84([minx, maxx], [miny, maxy], "gcj02")
    # A max zoom of its own: clustering needs one even when there are no tiles to say it.
    fmap = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2], tiles=None, control_scale=True, maxZoom=19
    )
    # Our maps need Leaflet (and jQuery for popups); Bootstrap and icon fonts would only make pages heavier.
    fmap.default_js = [(k, v) for k, v in fmap.default_js if k in ("leaflet", "jquery")]  # popups use $
    fmap.default_css = [(k, v) for k, v in fmap.default_css if k == "leaflet_css"]
    if base.tiles:
        extra = {"subdomains": base.subdomains} if base.subdomains else {}
        folium.TileLayer(base.tiles, attr=base.attribution, name=base.label, **extra).add_to(fmap)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    return fmap


# What each page is called in the browser's tab and history, before its period.
PAGE_TITLES = {
    "grids": "网格图 Grids",
    "board": "公示牌 Public board",
    "heat": "事件热力图 Incident heat",
    "resplit": "网格重划预览 Re-split preview",
    "coverage": "巡查覆盖 Patrol coverage",
}


def set_title(fmap: folium.Map, kind: str, period: str) -> None:
    """Name the page (its ``<title>``) by its map and period, so a saved or printed page says what it is."""
    text = f"{PAGE_TITLES[kind]} · {period}"
    fmap.get_root().header.add_child(folium.Element(f"<title>{html.escape(text)}</title>"), name="title")


def for_display(frame: gpd.GeoDataFrame, base: BaseMap) -> gpd.GeoDataFrame:
    """``frame`` with its geometries in the base map's coordinate system (a copy when converted)."""
    if base.crs in LIKE_WGS84 or len(frame) == 0:
        return frame
    out = frame.copy()
    out["geometry"] = shapely.transform(
        frame.geometry.values, lambda xy: np.column_stack(from_wgs84(xy[:, 0], xy[:, 1], base.crs))
    )
    return out
