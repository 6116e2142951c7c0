"""The data each map page needs, gathered and filtered by what the caller may see: frames and labels that
the renderers in ``maps/`` turn into HTML. The API and the CLI ask here alike, so a page looks the same
whichever way it was made."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection

from core.access import Principal, coverage_view, require_redraw, street_in_area, visible_incidents
from core.errors import Invalid, NotFound, ServiceError
from core.periods import PATROL_DAYS, PATROL_MAX_DAYS, Period, period
from core.scores import scores
from core.vocabulary import ASSIGNEE_LABELS, CHANNELS, MAP_KINDS, MEASURES, STATUSES, TIERS
from geo.heat import HeatCells
from store import maps as store
from store.hierarchy import read_table, street_outline, street_roads, streets_of

# What each map reads of the stored layers (the re-split map reads its preview instead).
COLUMNS = {
    "streets": ["id", "name"],
    "communities": ["id", "name"],
    "grids": ["id", "name", "community_id"],
    "buildings": ["id", "grid_id", "households"],
    "road_segments": ["id", "name", "from_desc", "to_desc"],
    "people": ["id", "name", "role", "chief_kind", "phone", "grid_id", "segment_id", "duties"],
}
LAYERS_OF = {
    "grids": ("streets", "communities", "grids", "buildings", "people"),
    "board": ("streets", "grids", "road_segments", "people"),
    "heat": ("grids",),
    "resplit": (),
    "coverage": (),
}
# Incident maps show where people reported what, the coverage map where staff walked: admins only.
PRIVATE_KINDS = ("heat", "resplit", "coverage")


def is_private(kind: str, params: Mapping[str, str]) -> bool:
    """Incident and patrol maps, and grids shaded by incidents or score, are for admins only."""
    return kind in PRIVATE_KINDS or params.get("measure", "households") != "households"


def map_layers(conn: Connection, kind: str) -> dict[str, pd.DataFrame]:
    """The stored layers map ``kind`` draws, only the columns it reads."""
    if kind not in MAP_KINDS:
        raise NotFound(f"未知地图 unknown map {kind!r}; maps: {', '.join(MAP_KINDS)}")
    return {name: read_table(conn, name, COLUMNS[name]) for name in LAYERS_OF[kind]}


@dataclass(frozen=True)
class IncidentFilter:
    period: Period
    categories: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = [self.period.describe()]
        for label, values in (
            ("类别 category", self.categories),
            ("级别 tier", self.tiers),
            ("渠道 channel", self.channels),
            ("状态 status", self.statuses),
        ):
            if values:
                parts.append(f"{label}: {', '.join(values)}")
        return "; ".join(parts)


def _listed(params: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    values = tuple(v.strip() for v in (params.get(name) or "").split(",") if v.strip())
    bad = [v for v in values if v not in allowed]
    if bad:
        raise Invalid(f"{name} {bad[0]!r} is not one of {', '.join(allowed)}")
    return values


def incident_filter(conn: Connection, params: Mapping[str, str], now: datetime) -> IncidentFilter:
    """Filters from query parameters (comma lists); the period defaults to the last 90 days."""
    return IncidentFilter(
        period(params.get("from"), params.get("to"), now=now),
        _listed(params, "category", store.category_codes(conn)),
        _listed(params, "tier", TIERS),
        _listed(params, "channel", CHANNELS),
        _listed(params, "status", STATUSES),
    )


def _query(f: IncidentFilter, principal: Principal | None) -> store.IncidentQuery:
    """The filtered incidents a principal may see (all, for the CLI)."""
    return store.IncidentQuery(
        visible_incidents(principal),
        f.period.since,
        f.period.until,
        f.categories,
        f.tiers,
        f.channels,
        f.statuses,
    )


def incident_points(
    conn: Connection, f: IncidentFilter, principal: Principal | None, newest: int | None = None
) -> pd.DataFrame:
    """The filtered incidents a principal may see (all, for the CLI), one row each, WGS-84, with who holds
    each (a person's name, else the level's label); ``newest``: only that many of the most recent."""
    frame = store.incident_points(conn, _query(f, principal), newest)
    frame["assignee"] = frame["person"].fillna(frame["assignee_kind"].map(ASSIGNEE_LABELS))
    return frame


def heat_data(
    conn: Connection, f: IncidentFilter, principal: Principal | None, step: str, markers: int
) -> tuple[HeatCells, pd.DataFrame]:
    """The heat page's cells, summed in the database (never every incident read out), and the ``markers``
    most recent reports to mark."""
    return store.incident_cells(conn, _query(f, principal), step), incident_points(
        conn, f, principal, markers
    )


@dataclass(frozen=True)
class Measure:
    """What the grid map shades by, when not households: a value per grid and how to say it."""

    key: str
    title: str
    label: str  # the card's label for the value
    values: dict[str, float | None]
    higher_is_worse: bool
    period: str


def grid_measure(
    conn: Connection,
    params: Mapping[str, str],
    buildings: pd.DataFrame,
    principal: Principal | None,
    now: datetime,
) -> Measure | None:
    """What ``?measure=`` asks the grid map to shade by (households, the default, needs nothing)."""
    key = params.get("measure") or "households"
    if key not in MEASURES:
        raise Invalid(f"measure {key!r} is not one of {', '.join(MEASURES)}")
    if key == "households":
        return None
    f = incident_filter(conn, params, now)
    if key == "incidents":
        counts = incident_points(conn, f, principal).groupby("grid_id")["id"].count()
        households = buildings.groupby("grid_id")["households"].sum()
        values: dict[str, float | None] = {
            str(g): float(counts.get(g, 0)) * 1000.0 / hh for g, hh in households.items() if hh > 0
        }
        title = "每千户事件数 Incidents per 1,000 households"
        return Measure("incidents", title, "每千户事件 per 1,000 hh", values, True, f.describe())
    scope = None if principal is None else principal.area
    ranking = scores(conn, "grid", since=f.period.since, until=f.period.until, now=now, scope=scope)
    title = "三率得分 Three-rate score (响应10% 办结40% 满意50%)"
    return Measure("score", title, "得分 score", {r["id"]: r["score"] for r in ranking}, False, f.describe())


@dataclass
class CoveragePage:
    """A street's patrols in a period: the report, the frames to draw, the planned route beside them."""

    report: dict
    frames: dict[str, gpd.GeoDataFrame]
    route: dict | None


def coverage_page(
    conn: Connection, params: Mapping[str, str], principal: Principal | None, now: datetime, max_tracks: int
) -> CoveragePage:
    """The coverage page's data (default: the last 7 days); ``max_tracks`` most recent logs are drawn."""
    # Here, not at the top: coverage, tracks and routes bring the road network (SciPy, NetworkX, PyMatching),
    # a second or two that the heat, grid and board pages would otherwise pay at start.
    from core.coverage import street_coverage, street_for
    from core.patrols import plan, routes_geojson
    from core.tracks import recent_tracks

    asked = period(
        params.get("from"), params.get("to"), now=now, default_days=PATROL_DAYS, max_days=PATROL_MAX_DAYS
    )
    street = street_for(conn, principal, params.get("street"))
    outline = street_outline(conn, street)
    # As any bad parameter of a page: 400.
    if not street_in_area(principal, street):
        raise Invalid(f"no street {street!r} in your area")
    if outline.empty:
        raise Invalid(f"no street {street!r}")
    area = outline.geometry.iloc[0]
    report = street_coverage(conn, street, asked.since, asked.until)
    if principal is not None:
        report = coverage_view(report, principal)
    frames = {
        "street": outline,
        **store.coverage_frames(
            conn,
            street,
            [g["id"] for g in report["grids"]],
            [s["id"] for s in report["segments"]],
            [b["id"] for b in report["buildings_not_passed"]],
        ),
    }
    logs = recent_tracks(conn, asked.since, asked.until, area.wkt, max_tracks)  # only these are drawn
    names = store.people_names(conn, sorted({p for p, _, _ in logs}))
    frames["tracks"] = gpd.GeoDataFrame(
        {
            "person": [p for p, _, _ in logs],
            "role": [r for _, r, _ in logs],
            "name": [names.get(p, p) for p, _, _ in logs],
        },
        geometry=[t.smoothed() for _, _, t in logs],
        crs=4326,
    )
    try:
        network, routes = plan(street_roads(conn, street), area)
        route = routes_geojson(network, routes)
    except ServiceError:
        route = None  # a street whose roads give no route still shows what was walked
    return CoveragePage(report, frames, route)


@dataclass
class ResplitPage:
    """Grids as they were when a preview was made, the preview's grids, and the buildings it moves."""

    before: gpd.GeoDataFrame
    after: gpd.GeoDataFrame
    moved: gpd.GeoDataFrame
    summary: dict


def resplit_page(conn: Connection, preview_id: str | None, principal: Principal | None) -> ResplitPage:
    """A preview's before and after; for a caller, only a preview they could apply (as the API says)."""
    from core.grids import get_preview  # the grid drawing's modules, only for this page

    if not preview_id:
        raise Invalid("the re-split map needs preview=ID (from POST /api/v1/grids/resplit or draw)")
    try:
        row = get_preview(conn, preview_id)
    except NotFound as exc:  # a page's parameter naming nothing is a bad request for the page (400)
        raise Invalid(exc.detail) from None
    if principal is not None:
        require_redraw(principal, lambda: streets_of(conn, row["community_ids"]))
    before = store.grids_at(conn, row["community_ids"], row["created_at"])
    after = gpd.GeoDataFrame.from_features(row["grids"]["features"], crs=4326)
    buildings = store.buildings_by_id(conn, list(row["assignments"]))
    # A re-split lists the buildings it moves; a drawing from scratch renews every grid, so none are marked.
    old_of = {
        m["building"]: (m["from"], m["to"])
        for report in row["report"]["communities"].values()
        for m in report.get("moves", [])
    }
    moved = buildings[buildings["id"].isin(old_of)].assign(
        from_grid=lambda f: f["id"].map(lambda b: old_of[b][0]),
        to_grid=lambda f: f["id"].map(lambda b: old_of[b][1]),
    )
    return ResplitPage(before, after, moved, {**row["report"]["summary"], "preview_id": preview_id})
