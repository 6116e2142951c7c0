"""The grid re-split preview: grids before and after (toggle either), moved buildings marked,
households written on every grid, so a street office can see a redrawing before applying it."""

from __future__ import annotations

from datetime import datetime

import folium
import geopandas as gpd

from maps.basemaps import BaseMap, for_display, new_map
from maps.frame import add_panel, fill_by_colour
from maps.grids import BAND_COLOURS, band_colour
from maps.safe import safe, safe_columns, text_columns

BEFORE, MOVED = "#555555", "#d01c8b"


def _labels(frame: gpd.GeoDataFrame, layer: folium.FeatureGroup, colour: str) -> None:
    for row in frame.itertuples():
        point = row.geometry.representative_point()
        folium.Marker(
            [point.y, point.x],
            icon=folium.DivIcon(
                icon_size=(70, 18),
                icon_anchor=(35, 9),
                html=f'<div class="wangge-label" style="font:12px sans-serif;color:{colour};text-align:center;'
                f'text-shadow:0 0 3px #fff">{int(row.households)}户</div>',
            ),
        ).add_to(layer)


def resplit_map(
    before: gpd.GeoDataFrame,
    after: gpd.GeoDataFrame,
    moved: gpd.GeoDataFrame,
    band: tuple[float, float],
    base: BaseMap,
    *,
    summary: dict,
    source: str,
    data_time: datetime,
) -> folium.Map:
    """``before``/``after``: grids with id, households; ``moved``: buildings with from_grid, to_grid."""
    fmap = new_map(base, tuple(after.total_bounds))
    _after_layer(after, band, base).add_to(fmap)
    _before_layer(before, base).add_to(fmap)
    if len(moved):
        _moved_layer(moved, base).add_to(fmap)
    legend = list(BAND_COLOURS) + [
        (BEFORE, "原网格边界 old boundary (dashed)"),
        (MOVED, "迁移楼栋 moved building"),
    ]
    note = (
        f"{summary['n_grids']} 个网格 grids: {summary['n_new']} 新 new, {summary['n_unchanged']} 不变 unchanged; "
        f"达标 in band {summary['in_band_share']:.0%}; 迁移楼栋 moved {summary['buildings_moved']}"
    )
    add_panel(
        fmap,
        f"网格调整预览 Grid re-split preview {safe(summary.get('preview_id', ''))}",
        legend,
        source=source,
        data_time=data_time,
        note=note,
    )
    return fmap


def _after_layer(after: gpd.GeoDataFrame, band: tuple[float, float], base: BaseMap) -> folium.FeatureGroup:
    """The new grids shaded by their households band, each labelled with its households."""
    new = for_display(after[["id", "name", "households", "status", "geometry"]], base).assign(
        colour=[band_colour(h, band) for h in after["households"]]
    )
    layer = folium.FeatureGroup(name="调整后 After (新网格 new grids)", show=True)
    folium.GeoJson(
        safe_columns(new, text_columns(new)).__geo_interface__,
        style_function=fill_by_colour("#1f4e9c", 2, 0.55),
        popup=folium.GeoJsonPopup(
            ["name", "id", "households", "status"],
            aliases=["网格 grid", "编号 id", "户数 households", "状态 status"],
        ),
    ).add_to(layer)
    _labels(new, layer, "#1f4e9c")
    return layer


def _before_layer(before: gpd.GeoDataFrame, base: BaseMap) -> folium.FeatureGroup:
    """The old grids as dashed outlines with their households, hidden until asked for."""
    old = for_display(before[["id", "households", "geometry"]], base)
    layer = folium.FeatureGroup(name="调整前 Before (原网格 old grids)", show=False)
    if len(old):
        folium.GeoJson(
            safe_columns(old, text_columns(old)).__geo_interface__,
            style_function=lambda _f: {"fill": False, "color": BEFORE, "weight": 2, "dashArray": "6 4"},
            tooltip=folium.GeoJsonTooltip(
                ["id", "households"], aliases=["原网格 old grid", "户数 households"]
            ),
        ).add_to(layer)
    _labels(old, layer, BEFORE)
    return layer


def _moved_layer(moved: gpd.GeoDataFrame, base: BaseMap) -> folium.FeatureGroup:
    """The buildings the re-split moves, with the grids they leave and join."""
    layer = folium.FeatureGroup(name=f"迁移楼栋 Moved buildings ({len(moved)})", show=True)
    shown = for_display(moved[["id", "from_grid", "to_grid", "households", "geometry"]], base)
    folium.GeoJson(
        safe_columns(shown, text_columns(shown)).__geo_interface__,
        style_function=lambda _f: {"fillColor": MOVED, "color": MOVED, "weight": 1, "fillOpacity": 0.8},
        popup=folium.GeoJsonPopup(
            ["id", "from_grid", "to_grid", "households"],
            aliases=["楼栋 building", "从 from", "到 to", "户数 households"],
        ),
    ).add_to(layer)
    return layer
