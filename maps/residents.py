"""Overdue visits for staff (逾期走访): each household whose visit is overdue, at its building, coloured by how
long; the grids of the caller's area outlined. Households are places, never people: no name, phone or ID
number is on this page, which is served only to staff with the register's rights."""

from __future__ import annotations

import html
from datetime import datetime

import folium
import geopandas as gpd

from core.vocabulary import beijing_text
from maps.basemaps import BaseMap, for_display, new_map
from maps.frame import add_panel
from maps.safe import features, safe

# How overdue, in days: up to a week, up to a month, longer.
BANDS = ((7.0, "#f9a825", "逾期7天内 up to 7 days"), (30.0, "#ef6c00", "7–30天 7–30 days"))
LONGER = ("#b71c1c", "逾期30天以上 over 30 days")
TITLE = "逾期走访 Overdue visits"


def band_colour(days: float) -> str:
    return next((colour for limit, colour, _ in BANDS if days <= limit), LONGER[0])


def overdue_visits_map(
    grids: gpd.GeoDataFrame,
    households: gpd.GeoDataFrame,
    base: BaseMap,
    *,
    source: str,
    data_time: datetime,
) -> folium.Map:
    """``grids`` (id, name, geometry) outlined; ``households`` (a point each, with building_name, unit, room,
    and as text: groups, worker_name, last_visit and due_at in Beijing time; days_overdue a number) as
    markers with a card."""
    fmap = new_map(base, tuple(grids.total_bounds))
    fmap.get_root().header.add_child(
        folium.Element(f"<title>{html.escape(TITLE)} · {beijing_text(data_time)}</title>"), name="title"
    )
    folium.GeoJson(
        features(grids[["id", "name", "geometry"]], base),
        name="网格 Grids",
        style_function=lambda _f: {"fill": False, "color": "#555", "weight": 1.5},
        tooltip=folium.GeoJsonTooltip(["name"], labels=False),
    ).add_to(fmap)
    layer = folium.FeatureGroup(name="逾期户 Overdue households", show=True)
    shown = for_display(households, base)
    for row, point in zip(households.itertuples(), shown.geometry, strict=True):
        card = (
            f"<b>{safe(row.building_name)} {safe(row.unit)}单元 {safe(row.room)}</b>"
            f"<br>特殊群体 groups: {safe(row.groups)}"
            f"<br>网格员 worker: {safe(row.worker_name)}"
            f"<br>上次走访 last visit: {safe(row.last_visit or '从未 never')}"
            f"<br>应访 due: {safe(row.due_at)} · 逾期 {row.days_overdue:g} 天 days"
        )
        folium.CircleMarker(
            [point.y, point.x],
            radius=6,
            color=band_colour(row.days_overdue),
            fill=True,
            fill_opacity=0.85,
            weight=1,
            tooltip=safe(f"{row.building_name} {row.room} · {row.days_overdue:g} 天"),
            popup=folium.Popup(card, max_width=320),
        ).add_to(layer)
    layer.add_to(fmap)
    add_panel(
        fmap,
        TITLE,
        [(colour, text) for _, colour, text in BANDS] + [LONGER],
        source=source,
        data_time=data_time,
        note=f"{len(households)} 户逾期 households overdue · 仅限工作人员 staff only",
    )
    return fmap
