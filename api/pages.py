"""Map pages for the API and the CLI alike: the data from ``core.mapdata``, drawn by ``maps/``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime

import folium
from sqlalchemy.engine import Connection

from core import mapdata
from core.access import Principal
from core.errors import Invalid
from core.vocabulary import beijing_text
from geo.heat import STEPS
from geo.settings import get_settings
from maps.basemaps import BaseMap, set_title
from maps.board import board_map
from maps.coverage import MAX_TRACKS_DRAWN, coverage_map
from maps.grids import GridMeasure, grids_map
from maps.heat import HeatOptions, incident_heat_map
from maps.resplit import resplit_map

MAX_MARKERS = 5000


def heat_options(params: Mapping[str, str], note: str) -> HeatOptions:
    """The heat page's time step and how many recent reports it marks."""
    step = params.get("step") or "day"
    if step not in STEPS:
        raise Invalid(f"step {step!r} is not one of {', '.join(STEPS)}")
    raw = params.get("markers") or "1000"
    if not raw.isdigit() or int(raw) > MAX_MARKERS:
        raise Invalid(f"markers {raw!r} must be a whole number from 0 to {MAX_MARKERS}")
    return HeatOptions(step=step, markers=int(raw), note=note)


def render_map(
    conn: Connection,
    kind: str,
    base: BaseMap,
    params: Mapping[str, str] | None = None,
    principal: Principal | None = None,
    now: datetime | None = None,
) -> folium.Map:
    """Build map ``kind`` from the stored data, stamped with the database and the time read, and named (its
    ``<title>``) by the map and its period."""
    params = params or {}
    now = now or datetime.now(UTC)
    fmap, period = _render(conn, kind, base, params, principal, now)
    set_title(fmap, kind, period)
    return fmap


def _render(
    conn: Connection,
    kind: str,
    base: BaseMap,
    params: Mapping[str, str],
    principal: Principal | None,
    now: datetime,
) -> tuple[folium.Map, str]:
    """The page, and the period it shows (or the moment, for a map of how things stand)."""
    layers = mapdata.map_layers(conn, kind)
    stamp = {"source": f"Wangge 数据库 database {conn.engine.url.database}", "data_time": now}
    band = get_settings().households_band
    current = f"现状 as of {beijing_text(now)}"
    if kind == "grids":
        measure = mapdata.grid_measure(conn, params, layers["buildings"], principal, now)
        shade = GridMeasure(**asdict(measure)) if measure else None
        return grids_map(layers, band, base, measure=shade, **stamp), measure.period if measure else current
    if kind == "board":
        return board_map(layers, base, **stamp), current
    if kind == "heat":
        f = mapdata.incident_filter(conn, params, now)
        options = heat_options(params, f.describe())
        heat, recent = mapdata.heat_data(conn, f, principal, options.step, options.markers)
        return incident_heat_map(heat, recent, layers, base, options=options, **stamp), f.describe()
    if kind == "coverage":
        page = mapdata.coverage_page(conn, params, principal, now, MAX_TRACKS_DRAWN)
        walked = f"{page.report['from'][:10]} – {page.report['to'][:10]}"
        return coverage_map(page.report, page.frames, base, route=page.route, **stamp), walked
    page = mapdata.resplit_page(conn, params.get("preview"), principal)
    fmap = resplit_map(page.before, page.after, page.moved, band, base, summary=page.summary, **stamp)
    return fmap, f"预览 preview {page.summary['preview_id']}"
