"""The street-chief public board (公示栏): who answers for each stretch of road and each grid.

Colours follow the armbands of the seeds: party chiefs green, merchant chiefs blue,
grid workers red. A segment with both kinds of chief is drawn in green and blue dashes.
Phones are masked: this board is public.
"""

from __future__ import annotations

from datetime import datetime

import folium
import geopandas as gpd
import pandas as pd
from pyproj import Geod

from core.vocabulary import CHIEF_LABELS, mask_phone
from maps.basemaps import BaseMap, for_display, new_map
from maps.frame import add_panel, add_street_outline
from maps.safe import safe

PARTY, MERCHANT, WORKER = "#2e7d32", "#1565c0", "#c62828"
LEGEND = [
    (PARTY, "党员街长 party chief (绿袖标 green armband)"),
    (MERCHANT, "商户街长 merchant chief (蓝袖标 blue)"),
    ("linear-gradient(90deg,#2e7d32 50%,#1565c0 50%)", "两类街长 both kinds (绿蓝相间 dashes)"),
    (WORKER, "网格员 grid worker (红袖标 red)"),
]
_GEOD = Geod(ellps="WGS84")


def _person_html(p: dict, label: str) -> str:
    """One person's lines on a card: their role, name, masked phone and duties (any may be missing)."""
    phone = mask_phone(p["phone"]) if isinstance(p.get("phone"), str) else ""
    return (
        f"<div style='margin-top:4px'><b>{safe(label)}</b> {safe(p['name'])} {safe(phone)}"
        f"<br><small>{safe(p.get('duties'))}</small></div>"
    )


def board_map(
    layers: dict[str, pd.DataFrame], base: BaseMap, *, source: str, data_time: datetime
) -> folium.Map:
    """Responsible segments coloured by their chiefs, grid workers at their grids, all with their duties."""
    segments: gpd.GeoDataFrame = layers["road_segments"]
    people = layers["people"]
    chiefs = people[people["role"] == "street_chief"].sort_values(["chief_kind", "id"])
    workers = people[people["role"] == "grid_worker"].sort_values("id")
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
        f"网格员 {workers['grid_id'].isin(layers['grids']['id']).sum()}",
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
            f"<b>{safe(row.name)}</b><br>巡查范围 patrol scope: {safe(row.from_desc)} 至 "
            f"{safe(row.to_desc)}，约 {length:.0f} 米"
            + (
                "".join(_person_html(p, CHIEF_LABELS.get(p["chief_kind"], "")) for p in owners)
                or "<div>暂无街长 no chief yet</div>"
            )
        )
        coords = [(y, x) for x, y in geom.coords]
        first = PARTY if "party" in kinds else MERCHANT if kinds else "#999"
        folium.PolyLine(
            coords,
            color=first,
            weight=6,
            opacity=0.9,
            tooltip=safe(row.name),
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
    """A dot inside each grid with a card of its workers (name, masked phone, duties): red where the grid
    has one or more, grey where it has none yet. Workers of retired grids are not drawn."""
    by_grid = {gid: grp.to_dict("records") for gid, grp in workers.groupby("grid_id")}
    layer = folium.FeatureGroup(name="网格员 Grid workers", show=True)
    points = for_display(
        gpd.GeoDataFrame(grids[["id", "name"]], geometry=grids.geometry.representative_point(), crs=4326),
        base,
    )
    for gid, gname, pt in zip(points["id"], points["name"], points.geometry, strict=True):
        people = by_grid.get(gid, [])
        names = "、".join(str(w["name"]) for w in people) or "暂无网格员 no worker yet"
        card = f"<b>{safe(gname)}</b>" + (
            "".join(_person_html(w, "网格员 grid worker") for w in people)
            or "<div>暂无网格员 no worker yet</div>"
        )
        folium.CircleMarker(
            [pt.y, pt.x],
            radius=5,
            color=WORKER if people else "#999",
            fill=True,
            fill_opacity=0.9,
            weight=1,
            tooltip=safe(f"{gname} · {names}"),
            popup=folium.Popup(card, max_width=300),
        ).add_to(layer)
    return layer
