"""The grid map: grids shaded by households against the 500 ± 10 % band, by incidents per 1,000
households, or by the three-rate score; community and street outlines; a card per grid.

Every map says where its data comes from and when.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from core.vocabulary import mask_phone
from maps.basemaps import BaseMap, new_map
from maps.frame import add_panel, fill_by_colour
from maps.safe import features

BAND_COLOURS = (
    ("#f4a582", "户数偏少 below band"),
    ("#92c5de", "户数达标 in band"),
    ("#ca0020", "户数偏多 above band"),
)
# Five classes, light to dark; "worse" is dark for rates of incidents, light for scores.
RAMP = ("#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000")
NO_DATA = "#d9d9d9"


@dataclass(frozen=True)
class GridMeasure:
    """A value per grid to shade by: incidents per 1,000 households, or the three-rate score."""

    key: str
    title: str
    label: str  # the card's label for the value
    values: dict[str, float | None] = field(default_factory=dict)
    higher_is_worse: bool = True
    period: str = ""


def band_colour(households: float, band: tuple[float, float]) -> str:
    """Below, in or above the households band: the colour of ``BAND_COLOURS``."""
    lo, hi = band
    return (
        BAND_COLOURS[0][0]
        if households < lo
        else BAND_COLOURS[2][0]
        if households > hi
        else BAND_COLOURS[1][0]
    )


def _classes(values: pd.Series, higher_is_worse: bool) -> tuple[list[str], list[tuple[str, str]]]:
    """Quantile classes (five, fewer when values repeat), coloured so darker is worse."""
    known = values.dropna()
    ramp = RAMP if higher_is_worse else RAMP[::-1]
    if known.empty:
        return [NO_DATA] * len(values), [(NO_DATA, "无数据 no data")]
    edges = np.unique(np.quantile(known, np.linspace(0, 1, 6)))
    if len(edges) == 1:
        edges = np.array([edges[0], edges[0] + 1e-9])
    idx = np.clip(np.searchsorted(edges, values.fillna(-np.inf), side="right") - 1, 0, len(edges) - 2)
    pick = np.linspace(0, len(ramp) - 1, len(edges) - 1).round().astype(int)
    colours = [NO_DATA if pd.isna(v) else ramp[pick[i]] for v, i in zip(values, idx, strict=True)]
    legend = [(ramp[pick[i]], f"{_fmt(edges[i])} – {_fmt(edges[i + 1])}") for i in range(len(edges) - 1)]
    if values.isna().any():
        legend.append((NO_DATA, "无数据 no data"))
    return colours, legend


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def grids_map(
    layers: dict[str, pd.DataFrame],
    band: tuple[float, float],
    base: BaseMap,
    *,
    source: str,
    data_time: datetime,
    measure: GridMeasure | None = None,
) -> folium.Map:
    """Grids coloured by their household band (or ``measure``), with a card per grid."""
    grids = _with_cards(layers)
    fields, aliases = (
        ["name", "id", "hh", "n_buildings", "worker"],
        ["网格 grid", "编号 id", "户数 households", "楼栋 buildings", "网格员 worker"],
    )
    if measure is None:
        grids["colour"] = [band_colour(hh, band) for hh in grids["hh"]]
        legend, title, note = (
            list(BAND_COLOURS),
            f"网格户数 Grid households (目标 {band[0]:g}–{band[1]:g} 户)",
            None,
        )
        name = "网格 Grids"
    else:
        values = grids["id"].map(measure.values).astype(float)
        grids["colour"], legend = _classes(values, measure.higher_is_worse)
        grids["value"] = [None if pd.isna(v) else round(float(v), 3) for v in values]
        fields, aliases = fields + ["value"], aliases + [measure.label]
        title, name = measure.title, f"网格 Grids: {measure.label}"
        note = f"{measure.period}; 颜色越深越需关注 darker needs more attention"
    fmap = new_map(base, tuple(grids.total_bounds))
    tip = ("name", "value" if measure else "hh")
    _grid_layer(grids[[*fields, "colour", "geometry"]], name, fields, aliases, tip, base).add_to(fmap)
    _outlines(layers, base).add_to(fmap)
    add_panel(fmap, title, legend, source=source, data_time=data_time, note=note)
    return fmap


def _with_cards(layers: dict[str, pd.DataFrame]) -> gpd.GeoDataFrame:
    """The grids with what their card says: households and buildings counted, the worker and masked phone."""
    grids: gpd.GeoDataFrame = layers["grids"].copy()
    counted = layers["buildings"].groupby("grid_id")["households"].agg(["sum", "count"])
    grids["hh"] = grids["id"].map(counted["sum"]).fillna(0).astype(int)
    grids["n_buildings"] = grids["id"].map(counted["count"]).fillna(0).astype(int)
    people = layers["people"]
    workers = people[people["role"] == "grid_worker"].drop_duplicates("grid_id").set_index("grid_id")
    worker_label = {gid: f"{w['name']} {mask_phone(w['phone'])}" for gid, w in workers.iterrows()}
    grids["worker"] = [worker_label.get(gid, "无 none") for gid in grids["id"]]
    return grids


def _grid_layer(
    grids: gpd.GeoDataFrame,
    name: str,
    fields: list[str],
    aliases: list[str],
    tip: tuple[str, str],
    base: BaseMap,
) -> folium.FeatureGroup:
    """Grids filled with their ``colour``, a card of ``fields``; the tooltip shows the ``tip`` fields (the grid
    and what it is shaded by)."""
    layer = folium.FeatureGroup(name=name, show=True)
    folium.GeoJson(
        features(grids, base),
        style_function=fill_by_colour("#555", 1, 0.65),
        tooltip=folium.GeoJsonTooltip(list(tip), aliases=[aliases[fields.index(f)] for f in tip]),
        popup=folium.GeoJsonPopup(fields, aliases=aliases),
    ).add_to(layer)
    return layer


def _outlines(layers: dict[str, pd.DataFrame], base: BaseMap) -> folium.FeatureGroup:
    """Community boundaries in blue, the street's in black, over the grids."""
    outlines = folium.FeatureGroup(name="社区与街道 Communities and streets", show=True)
    for layer_name, weight, colour in (("communities", 2.5, "#1f4e9c"), ("streets", 4, "#000")):
        folium.GeoJson(
            features(layers[layer_name], base),
            style_function=lambda _f, w=weight, c=colour: {"fill": False, "color": c, "weight": w},
        ).add_to(outlines)
    return outlines
