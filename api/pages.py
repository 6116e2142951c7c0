"""Gathering what a map needs from the database, for the API and the CLI alike."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import folium
import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection

from api.http.params import ParamError, iso_time
from core.incidents.service import visibility
from core.tokens import Principal
from core.vocabulary import CHANNELS, STATUSES, TIERS
from geo.heat import STEPS
from geo.settings import get_settings
from maps.basemaps import BaseMap
from maps.board import board_map
from maps.coverage import MAX_TRACKS_DRAWN, coverage_map
from maps.grids import GridMeasure, grids_map
from maps.heat import HeatOptions, incident_heat_map
from maps.resplit import resplit_map
from store.hierarchy import read_table

MAP_KINDS = ("grids", "board", "heat", "resplit", "coverage")
MEASURES = ("households", "incidents", "score")
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
DEFAULT_DAYS = 90
MAX_MARKERS = 5000


class MapRequestError(ParamError):
    """A filter or option the map cannot take; the message says which and why."""


@dataclass(frozen=True)
class IncidentFilter:
    since: datetime
    until: datetime
    categories: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = [f"{self.since:%Y-%m-%d} – {self.until:%Y-%m-%d}"]
        for label, values in (
            ("类别 category", self.categories),
            ("级别 tier", self.tiers),
            ("渠道 channel", self.channels),
            ("状态 status", self.statuses),
        ):
            if values:
                parts.append(f"{label}: {', '.join(values)}")
        return "; ".join(parts)


def _listed(params: Mapping[str, str], name: str, allowed: tuple[str, ...] | None) -> tuple[str, ...]:
    values = tuple(v.strip() for v in (params.get(name) or "").split(",") if v.strip())
    bad = [v for v in values if allowed is not None and v not in allowed]
    if bad:
        raise MapRequestError(f"{name} {bad[0]!r} is not one of {', '.join(allowed)}")
    return values


def incident_filter(params: Mapping[str, str], categories: tuple[str, ...], now: datetime) -> IncidentFilter:
    """Filters from query parameters (comma lists); the period defaults to the last 90 days."""
    until = iso_time("to", params.get("to")) or now
    since = iso_time("from", params.get("from")) or until - timedelta(days=DEFAULT_DAYS)
    if until <= since:
        raise MapRequestError(f"to ({until.isoformat()}) must be after from ({since.isoformat()})")
    return IncidentFilter(
        since,
        until,
        _listed(params, "category", categories),
        _listed(params, "tier", TIERS),
        _listed(params, "channel", CHANNELS),
        _listed(params, "status", STATUSES),
    )


def heat_options(params: Mapping[str, str], note: str) -> HeatOptions:
    step = params.get("step") or "day"
    if step not in STEPS:
        raise MapRequestError(f"step {step!r} is not one of {', '.join(STEPS)}")
    raw = params.get("markers") or "1000"
    if not raw.isdigit() or int(raw) > MAX_MARKERS:
        raise MapRequestError(f"markers {raw!r} must be a whole number from 0 to {MAX_MARKERS}")
    return HeatOptions(step=step, markers=int(raw), note=note)


_ASSIGNEE_LABELS = {
    "street": "街道指挥中心 street centre",
    "community": "社区 community",
    "district": "区指挥中心 district centre",
    "city": "市指挥中心 city centre",
}


def incident_points(conn: Connection, f: IncidentFilter, principal: Principal | None) -> pd.DataFrame:
    """The filtered incidents a principal may see (all, for the CLI), one row each, WGS-84."""
    where, params = visibility(principal) if principal is not None else ("true", {})
    sql = text(f"""
        SELECT i.id, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, i.tier, i.reported_at, c.name_zh AS category,
               i.status, i.grid_id, g.name AS grid, i.assignee_kind, p.name AS person
        FROM incidents i JOIN categories c ON c.code = i.category_code
        LEFT JOIN grids g ON g.id = i.grid_id
        LEFT JOIN people p ON i.assignee_kind = 'person' AND p.id = i.assignee_id
        WHERE i.reported_at >= :since AND i.reported_at < :until AND {where}
          AND (cardinality(CAST(:cats AS text[])) = 0 OR i.category_code = ANY(CAST(:cats AS text[])))
          AND (cardinality(CAST(:tiers AS text[])) = 0 OR i.tier = ANY(CAST(:tiers AS text[])))
          AND (cardinality(CAST(:channels AS text[])) = 0 OR i.channel = ANY(CAST(:channels AS text[])))
          AND (cardinality(CAST(:statuses AS text[])) = 0 OR i.status = ANY(CAST(:statuses AS text[])))""")  # noqa: S608
    frame = pd.read_sql(
        sql,
        conn,
        params={
            **params,
            "since": f.since,
            "until": f.until,
            "cats": list(f.categories),
            "tiers": list(f.tiers),
            "channels": list(f.channels),
            "statuses": list(f.statuses),
        },
    )
    frame["assignee"] = frame["person"].fillna(frame["assignee_kind"].map(_ASSIGNEE_LABELS))
    frame["reported_at"] = pd.to_datetime(frame["reported_at"], utc=True)
    return frame


def grid_measure(
    conn: Connection,
    params: Mapping[str, str],
    buildings: pd.DataFrame,
    principal: Principal | None,
    now: datetime,
) -> GridMeasure | None:
    """What ``?measure=`` asks the grid map to shade by (households, the default, needs nothing)."""
    from core.scores import scores

    key = params.get("measure") or "households"
    if key not in MEASURES:
        raise MapRequestError(f"measure {key!r} is not one of {', '.join(MEASURES)}")
    if key == "households":
        return None
    f = incident_filter(params, _category_codes(conn), now)
    if key == "incidents":
        counts = incident_points(conn, f, principal).groupby("grid_id")["id"].count()
        households = buildings.groupby("grid_id")["households"].sum()
        values = {g: float(counts.get(g, 0)) * 1000.0 / hh for g, hh in households.items() if hh > 0}
        return GridMeasure(
            "incidents",
            "每千户事件数 Incidents per 1,000 households",
            "每千户事件 per 1,000 hh",
            values,
            True,
            f.describe(),
        )
    scope = None if principal is None else principal.area
    ranking = scores(conn, "grid", since=f.since, until=f.until, now=now, scope=scope)
    values = {r["id"]: r["score"] for r in ranking}
    return GridMeasure(
        "score",
        "三率得分 Three-rate score (响应10% 办结40% 满意50%)",
        "得分 score",
        values,
        False,
        f.describe(),
    )


def _category_codes(conn: Connection) -> tuple[str, ...]:
    return tuple(conn.execute(text("SELECT code FROM categories ORDER BY code")).scalars())


def render_map(
    conn: Connection,
    kind: str,
    base: BaseMap,
    params: Mapping[str, str] | None = None,
    principal: Principal | None = None,
    now: datetime | None = None,
) -> folium.Map:
    """Build map ``kind`` from the stored data, stamped with the database and the time read."""
    params = params or {}
    now = now or datetime.now(UTC)
    if kind not in MAP_KINDS:
        raise KeyError(kind)
    layers = {name: read_table(conn, name, COLUMNS[name]) for name in LAYERS_OF[kind]}
    source = f"Wangge 数据库 database {conn.engine.url.database}"
    local_now = now.astimezone().replace(tzinfo=None)
    if kind == "grids":
        measure = grid_measure(conn, params, layers["buildings"], principal, now)
        return grids_map(
            layers, get_settings().households_band, base, source=source, data_time=local_now, measure=measure
        )
    if kind == "board":
        return board_map(layers, base, source=source, data_time=local_now)
    if kind == "heat":
        f = incident_filter(params, _category_codes(conn), now)
        options = heat_options(params, f.describe())
        return incident_heat_map(
            incident_points(conn, f, principal),
            layers,
            base,
            options=options,
            source=source,
            data_time=local_now,
        )
    if kind == "coverage":
        return _coverage(conn, params, base, source, local_now, now, principal)
    return _resplit(conn, params, base, source, local_now)


def _coverage(
    conn: Connection,
    params: Mapping[str, str],
    base: BaseMap,
    source: str,
    data_time: datetime,
    now: datetime,
    principal: Principal | None,
) -> folium.Map:
    """A street's patrols in the period (default: the last 7 days), with its planned route beside them."""
    import geopandas as gpd

    from core.coverage import street_coverage, street_for, visible
    from core.patrols import plan, routes_geojson
    from core.tracks import tracks_between
    from geo.patrol import PatrolError

    until = iso_time("to", params.get("to")) or now
    since = iso_time("from", params.get("from")) or until - timedelta(days=7)
    if until <= since or until - since > timedelta(days=93):
        raise MapRequestError("from must be before to, and the period at most 93 days")
    street = street_for(conn, principal, params.get("street"))
    if (
        principal is not None
        and principal.area
        and principal.area[0] == "street"
        and street != principal.scope_id
    ):
        raise MapRequestError(f"no street {street!r} in your area")
    outline = gpd.read_postgis(
        text("SELECT id, name, geom FROM streets WHERE id = :s"), conn, geom_col="geom", params={"s": street}
    )
    if outline.empty:
        raise MapRequestError(f"no street {street!r}")
    logs = tracks_between(conn, since, until, outline.geometry.iloc[0].wkt)
    report = street_coverage(conn, street, since, until, tracks=logs)
    if principal is not None:
        report = visible(report, principal)
    frames = {"street": outline.rename_geometry("geometry")}
    for name, sql in (
        (
            "grids",
            "SELECT g.id, COALESCE(p.name, '无 none') AS worker, g.geom FROM grids g JOIN communities c "
            "ON c.id = g.community_id LEFT JOIN people p ON p.grid_id = g.id AND p.role = 'grid_worker' "
            "WHERE c.street_id = :s AND g.valid_to IS NULL AND g.id = ANY(:g) ORDER BY g.id",
        ),
        (
            "segments",
            "SELECT id, name, geom FROM road_segments WHERE street_id = :s AND id = ANY(:seg) ORDER BY id",
        ),
        ("buildings", "SELECT id, geom FROM buildings WHERE id = ANY(:b) ORDER BY id"),
    ):
        frames[name] = gpd.read_postgis(
            text(sql),
            conn,
            geom_col="geom",
            params={
                "s": street,
                "g": [g["id"] for g in report["grids"]],
                "seg": [x["id"] for x in report["segments"]],
                "b": [b["id"] for b in report["buildings_not_passed"]],
            },
        ).rename_geometry("geometry")
    frames["grids"] = frames["grids"].drop_duplicates("id")
    logs = logs[-MAX_TRACKS_DRAWN:]  # only the most recent are drawn: smooth no more than those
    names = dict(
        conn.execute(
            text("SELECT id, name FROM people WHERE id = ANY(:p)"), {"p": sorted({p for p, _, _ in logs})}
        ).all()
    )
    frames["tracks"] = gpd.GeoDataFrame(
        {
            "person": [p for p, _, _ in logs],
            "role": [r for _, r, _ in logs],
            "name": [names.get(p, p) for p, _, _ in logs],
        },
        geometry=[t.smoothed() for _, _, t in logs],
        crs=4326,
    )
    roads = gpd.read_postgis(
        text("SELECT name, geom FROM roads WHERE street_id = :s"), conn, geom_col="geom", params={"s": street}
    )
    try:
        network, routes = plan(roads, outline.geometry.iloc[0])
        route = routes_geojson(network, routes)
    except PatrolError:
        route = None
    return coverage_map(report, frames, base, route=route, source=source, data_time=data_time)


def _resplit(conn: Connection, params: Mapping[str, str], base: BaseMap, source: str, data_time: datetime):
    """Grids as they were when the preview was made, the preview's grids, and the buildings it moves."""
    import geopandas as gpd

    from core.grids import GridError, get_preview

    preview_id = params.get("preview")
    if not preview_id:
        raise MapRequestError("the re-split map needs preview=ID (from POST /api/v1/grids/resplit or draw)")
    try:
        row = get_preview(conn, preview_id)
    except GridError as exc:
        raise MapRequestError(exc.detail) from None
    before = gpd.read_postgis(
        text("""
        SELECT id, households, geom FROM grids WHERE community_id = ANY(:c) AND valid_from <= :t
          AND (valid_to IS NULL OR valid_to > :t) ORDER BY id"""),
        conn,
        geom_col="geom",
        params={"c": row["community_ids"], "t": row["created_at"]},
    ).rename_geometry("geometry")
    after = gpd.GeoDataFrame.from_features(row["grids"]["features"], crs=4326)
    buildings = gpd.read_postgis(
        text("SELECT id, households, geom FROM buildings WHERE id = ANY(:ids)"),
        conn,
        geom_col="geom",
        params={"ids": list(row["assignments"])},
    ).rename_geometry("geometry")
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
    summary = {**row["report"]["summary"], "preview_id": preview_id}
    return resplit_map(
        before,
        after,
        moved,
        get_settings().households_band,
        base,
        summary=summary,
        source=source,
        data_time=data_time,
    )
