"""The street-chief public board (公示栏): who answers for each stretch of road and each grid.

Colours follow the armbands of the seeds: party chiefs green, merchant chiefs blue,
grid workers red. A segment with both kinds of chief is drawn in green and blue dashes.
Phones are masked: this board is public.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

import folium
import geopandas as gpd
import pandas as pd
from pyproj import Geod

from core.vocabulary import CHIEF_LABELS, mask_phone
from maps.basemaps import BaseMap, for_display, new_map
from maps.frame import add_panel, add_street_outline

PARTY, MERCHANT, WORKER = "#2e7d32", "#1565c0", "#c62828"
LEGEND = [
    (PARTY, "党员街长 party chief (绿袖标 green armband)"),
    (MERCHANT, "商户街长 merchant chief (蓝袖标 blue)"),
    ("linear-gradient(90deg,#2e7d32 50%,#1565c0 50%)", "两类街长 both kinds (绿蓝相间 dashes)"),
    (WORKER, "网格员 grid worker (红袖标 red)"),
]
_GEOD = Geod(ellps="WGS84")


def _chief_html(p: dict) -> str:
    return (
        f"<div style='margin-top:4px'><b>{escape(CHIEF_LABELS.get(p['chief_kind'], ''))}</b> "
        f"{escape(p['name'])} {mask_phone(p['phone']) or ''}<br><small>{escape(p.get('duties') or '')}</small></div>"
    )


def board_map(
    layers: dict[str, pd.DataFrame], base: BaseMap, *, source: str, data_time: datetime
) -> folium.Map:
    """Responsible segments coloured by their chiefs, grid workers at their grids, all with their duties."""
    segments: gpd.GeoDataFrame = layers["road_segments"]
    people = layers["people"]
    chiefs = people[people["role"] == "street_chief"].sort_values(["chief_kind", "id"])
    workers = people[people["role"] == "grid_worker"].set_index("grid_id")
    fmap = new_map(base, tuple(layers["streets"].total_bounds))
    _segment_layer(segments, chiefs, base).add_to(fmap)
    _worker_layer(layers["grids"], workers, base).add_to(fmap)
    add_street_outline(fmap, layers["streets"], base)
    n_party = int((chiefs["chief_kind"] == "party").sum())
    n_merchant = int((chiefs["chief_kind"] == "merchant").sum())
    add_panel(
        fmap,
        "街长公示栏 Street-chief public board",
        LEGEND,
        source=source,
        data_time=data_time,
        note=f"{len(segments)} 个责任路段 segments · 党员街长 {n_party} · 商户街长 {n_merchant} · "
        f"网格员 {len(workers)}",
    )
    return fmap


def _segment_layer(segments: gpd.GeoDataFrame, chiefs: pd.DataFrame, base: BaseMap) -> folium.FeatureGroup:
    """Each segment in its chiefs' colour (green and blue dashes for both kinds), its card with their duties."""
    by_segment = {sid: grp.to_dict("records") for sid, grp in chiefs.groupby("segment_id")}
    layer = folium.FeatureGroup(name="责任路段与街长 Segments and street chiefs", show=True)
    shown = for_display(segments, base)
    for row, geom in zip(segments.itertuples(), shown.geometry, strict=True):
        owners = by_segment.get(row.id, [])
        kinds = {p["chief_kind"] for p in owners}
        length = _GEOD.geometry_length(row.geometry)
        card = (
            f"<b>{escape(row.name)}</b><br>巡查范围 patrol scope: {escape(row.from_desc or '')} 至 "
            f"{escape(row.to_desc or '')}，约 {length:.0f} 米"
            + ("".join(_chief_html(p) for p in owners) or "<div>暂无街长 no chief yet</div>")
        )
        coords = [(y, x) for x, y in geom.coords]
        first = PARTY if "party" in kinds else MERCHANT if kinds else "#999"
        folium.PolyLine(
            coords,
            color=first,
            weight=6,
            opacity=0.9,
            tooltip=row.name,
            popup=folium.Popup(card, max_width=320),
        ).add_to(layer)
        if kinds == {"party", "merchant"}:
            folium.PolyLine(
                coords,
                color=MERCHANT,
                weight=6,
                opacity=0.9,
                dash_array="10 10",
                line_cap="butt",
                popup=folium.Popup(card, max_width=320),
            ).add_to(layer)
    return layer


def _worker_layer(grids: gpd.GeoDataFrame, workers: pd.DataFrame, base: BaseMap) -> folium.FeatureGroup:
    """A red dot inside each grid for its worker, with a card: name, masked phone, duties."""
    layer = folium.FeatureGroup(name="网格员 Grid workers", show=True)
    points = for_display(
        gpd.GeoDataFrame(grids[["id", "name"]], geometry=grids.geometry.representative_point(), crs=4326),
        base,
    )
    for gid, gname, pt in zip(points["id"], points["name"], points.geometry, strict=True):
        if gid not in workers.index:
            continue
        w = workers.loc[gid]
        card = (
            f"<b>{escape(gname)}</b><br>网格员 grid worker: {escape(w['name'])} {mask_phone(w['phone'])}"
            f"<br><small>{escape(w.get('duties') or '')}</small>"
        )
        folium.CircleMarker(
            [pt.y, pt.x],
            radius=5,
            color=WORKER,
            fill=True,
            fill_opacity=0.9,
            weight=1,
            tooltip=f"{gname} · {w['name']}",
            popup=folium.Popup(card, max_width=300),
        ).add_to(layer)
    return layer
