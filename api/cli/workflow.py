"""`wangge users`, `wangge catalogue`, `wangge incidents`, `wangge scores`: the workflow from a terminal."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from store.engine import get_engine


def _now(raw: str | None) -> datetime:
    if not raw:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise click.BadParameter(f"{raw!r} is not an ISO 8601 date or time (e.g. 2026-11-01T08:00)") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _table(rows: list[dict], columns: list[str]) -> None:
    widths = {c: max([len(c)] + [len(_cell(r.get(c))) for r in rows]) for c in columns}
    click.echo("  ".join(c.ljust(widths[c]) for c in columns))
    for r in rows:
        click.echo("  ".join(_cell(r.get(c)).ljust(widths[c]) for c in columns))


def _cell(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}"
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M")
    return str(v)


# -- users ----------------------------------------------------------------------------------
@click.group("users", help="用户令牌 API tokens: add, list, revoke.")
def users_group() -> None:
    pass


@users_group.command("add", help="新增令牌 Create a token (printed once; only its hash is stored).")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    type=click.Choice(
        [
            "citizen",
            "grid_worker",
            "street_chief",
            "community_admin",
            "street_admin",
            "district_admin",
            "department",
        ]
    ),
    help="角色 Role.",
)
@click.option(
    "--scope", "scope_id", help="范围 Grid, segment, community, street or department id of the role."
)
@click.option(
    "--person", "person_id", help="人员编号 The person (grid worker, street chief) the token belongs to."
)
@click.option("--phone", help="电话 A citizen's phone, used when they report.")
def users_add(name, role, scope_id, person_id, phone) -> None:
    from core.tokens import AuthError, add_user

    try:
        with get_engine().begin() as conn:
            token_id, token = add_user(conn, name, role, scope_id=scope_id, person_id=person_id, phone=phone)
    except AuthError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"令牌 {token_id} 已创建 / token {token_id} created for {name} ({role}); keep it, it is shown once:"
    )
    click.echo(token)


@users_group.command("list", help="列出令牌 List tokens (never the secrets).")
def users_list() -> None:
    from core.tokens import list_users

    with get_engine().connect() as conn:
        _table(list_users(conn), ["id", "name", "role", "scope_id", "person_id", "created_at", "revoked_at"])


@users_group.command("revoke", help="吊销令牌 Revoke a token by id; it stops working at once.")
@click.argument("token_id", type=int)
def users_revoke(token_id) -> None:
    from core.tokens import AuthError, revoke_user

    try:
        with get_engine().begin() as conn:
            revoke_user(conn, token_id, datetime.now(UTC))
    except AuthError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"令牌 {token_id} 已吊销 / token {token_id} revoked")


# -- catalogue -------------------------------------------------------------------------------
@click.group("catalogue", help="事件目录 The incident catalogue: categories, tiers, departments, limits.")
def catalogue_group() -> None:
    pass


@catalogue_group.command(
    "load", help="载入目录 Validate a catalogue JSON file and add or update its entries."
)
@click.argument("file", type=click.Path(path_type=Path), required=False)
def catalogue_load(file) -> None:
    from core.catalogue import (
        DEFAULT_FILE,
        CatalogueError,
        known_departments,
        parse_catalogue,
        save_catalogue,
    )

    path = file or DEFAULT_FILE
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        with get_engine().begin() as conn:
            counts = save_catalogue(conn, parse_catalogue(data, known_departments(conn)))
    except (OSError, json.JSONDecodeError, CatalogueError) as exc:
        raise click.ClickException(f"目录无效 catalogue not loaded, nothing changed: {exc}") from None
    click.echo(f"已载入 / loaded: {counts['departments']} departments, {counts['categories']} categories")


@catalogue_group.command("list", help="列出类别 List the categories.")
def catalogue_list() -> None:
    from core.catalogue import list_categories

    with get_engine().connect() as conn:
        _table(
            list_categories(conn),
            [
                "code",
                "tier",
                "name_zh",
                "name_en",
                "road_related",
                "departments",
                "response_limit_min",
                "completion_limit_h",
            ],
        )


# -- incidents ---------------------------------------------------------------------------------
@click.group("incidents", help="事件 Incidents: the clock's sweep.")
def incidents_group() -> None:
    pass


@incidents_group.command(
    "tick", help="超时升级 Escalate every open incident past its deadline (cron; safe twice at once)."
)
@click.option("--now", "now_raw", help="当前时间 Pretend it is this ISO time (default: now).")
def incidents_tick(now_raw) -> None:
    from core.incidents.service import tick
    from geo.settings import get_settings
    from store.hierarchy import metric_epsg

    with get_engine().begin() as conn:
        escalated = tick(conn, now=_now(now_raw), settings=get_settings(), srid=metric_epsg(conn))
    click.echo(
        f"已升级 / escalated: {len(escalated)}"
        + (
            f" ({', '.join(map(str, escalated[:20]))}{' …' if len(escalated) > 20 else ''})"
            if escalated
            else ""
        )
    )


# -- scores --------------------------------------------------------------------------------------
@click.command(
    "scores", help="三率排名 Rank grids, workers, chiefs, communities or streets by the three-rate score."
)
@click.option(
    "--unit",
    type=click.Choice(["grid", "worker", "chief", "community", "street"]),
    default="grid",
    show_default=True,
    help="单位 What to rank.",
)
@click.option("--from", "since", help="起 Period start, ISO date (default: 30 days before --to).")
@click.option("--to", "until", help="止 Period end, ISO date (default: now).")
@click.option("--json", "as_json", is_flag=True, help="JSON 输出 Print JSON instead of a table.")
def scores_cmd(unit, since, until, as_json) -> None:
    from core.scores import scores

    end = _now(until)
    start = _now(since) if since else end - timedelta(days=30)
    with get_engine().connect() as conn:
        rows = scores(conn, unit, since=start, until=end, now=datetime.now(UTC))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    click.echo(
        f"{unit} 排名 ranking {start:%Y-%m-%d} – {end:%Y-%m-%d}  (score = 0.1·响应率 + 0.4·办结率 + 0.5·满意率)"
    )
    _table(
        rows,
        ["rank", "id", "name", "incidents", "response_rate", "completion_rate", "satisfaction_rate", "score"],
    )


# -- patrols -------------------------------------------------------------------------------------
@click.group("patrol", help="巡查 Patrol routes that walk every road of an area, and what was walked.")
def patrol_group() -> None:
    pass


def _lonlat(raw: str | None) -> tuple[float, float] | None:
    if not raw:
        return None
    try:
        lon, lat = (float(v) for v in raw.split(","))
    except ValueError:
        raise click.BadParameter(f"{raw!r} is not LON,LAT") from None
    return lon, lat


@patrol_group.command(
    "plan",
    help="规划路线 A closed walk over every road of the area (optimal when the roads "
    "connect), as GeoJSON and GPX.",
)
@click.option(
    "--roads",
    "roads_file",
    type=click.Path(path_type=Path),
    help="道路文件 Road lines (with name), or an OSM extract (.osm.pbf).",
)
@click.option(
    "--area", "area_file", type=click.Path(path_type=Path), help="范围 Polygon: walk the roads in it."
)
@click.option("--grid", "grid_id", help="网格 Plan for this grid from the database (its street's roads).")
@click.option("--street", "street_id", help="街道 Plan for a whole street from the database.")
@click.option("--chief", "chief_id", help="街长 Plan a street chief's walk of their responsible segment.")
@click.option(
    "--patrollers", default=1, show_default=True, type=int, help="人数 Share the roads among K patrollers."
)
@click.option("--start", help="起点 LON,LAT (WGS-84); default: the road nearest the middle of the area.")
@click.option("--speed-kmh", default=4.0, show_default=True, type=float, help="步速 Walking speed.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="输出 ROUTE.geojson")
@click.option("--gpx", "gpx_file", type=click.Path(path_type=Path), help="GPX 输出 For patrol phones.")
@click.option(
    "--both-sides", is_flag=True, help="两侧 Walk each street along both sides (shops on both sides)."
)
@click.option(
    "--budget",
    "budget_min",
    type=float,
    help="时长 Minutes: a hot-spot route that fits them, stopping "
    "12 min at the top hot spots, instead of every road.",
)
@click.option(
    "--incidents",
    "incidents_file",
    type=click.Path(exists=True, path_type=Path),
    help="事件点 Points (with tier) weighing a --budget route; default from the database: last 90 days.",
)
def patrol_plan(
    roads_file,
    area_file,
    grid_id,
    street_id,
    chief_id,
    patrollers,
    start,
    speed_kmh,
    out,
    gpx_file,
    both_sides,
    budget_min,
    incidents_file,
) -> None:
    import geopandas as gpd

    from boundaries.osm import read_lines_or_osm
    from core.patrols import area_inputs, plan, recent_incidents, write_geojson, write_gpx
    from geo.patrol import PatrolError, balance

    try:
        incidents = gpd.read_file(incidents_file) if incidents_file else None
        labels = None
        if grid_id or street_id or chief_id:
            with get_engine().connect() as conn:
                roads, area, labels = area_inputs(conn, grid=grid_id, street=street_id, chief=chief_id)
                if budget_min is not None and incidents is None:
                    incidents = recent_incidents(conn, area)
        elif roads_file:
            roads = read_lines_or_osm(roads_file)
            area = gpd.read_file(area_file).to_crs(4326).union_all() if area_file else None
        else:
            raise PatrolError("say --roads FILE (and --area FILE), or --grid ID")
        network, routes = plan(
            roads,
            area,
            _lonlat(start),
            speed_kmh=speed_kmh,
            patrollers=patrollers,
            sides=both_sides,
            budget_min=budget_min,
            incidents=incidents,
            labels=labels,
        )
    except (PatrolError, OSError, ValueError) as exc:
        raise click.ClickException(f"无法规划 cannot plan: {exc}") from None
    write_geojson(network, routes, out)
    if gpx_file:
        write_gpx(network, routes, gpx_file)
    for i, route in enumerate(routes, start=1):
        click.echo(
            f"路线 route {i}: {route.length_m:,.0f} m, {route.duration_min:.0f} min; roads to walk "
            f"{route.required_length_m:,.0f} m, repeated {route.deadhead_length_m:,.0f} m; "
            f"{'optimal' if route.optimal else 'heuristic'}"
        )
    extra = routes[0].extra
    if extra:
        click.echo(
            f"热点 hot spots: covered {extra['weight_share']:.0%} of the incident weight, used "
            f"{extra['budget_share']:.0%} of {extra['budget_min']:g} min; stops: "
            + ", ".join(f"{d['lon']:.5f},{d['lat']:.5f} ({d['minutes']:g} min)" for d in extra["dwell"])
        )
    if len(routes) > 1:
        click.echo(f"均衡 balance (longest ÷ average): {balance(routes):.3f}")
    else:
        for step in routes[0].steps[:40]:
            click.echo(f"  {step['text']}")


@patrol_group.command(
    "coverage",
    help="巡查覆盖 Store GPS logs (GPX, GeoJSON, CSV), then report what was walked in "
    "the period: roads, segments, grids, workers, chiefs, the twice-a-week rule.",
)
@click.argument("tracks", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--person", help="人员 Whose logs TRACKS are (needed when TRACKS are given).")
@click.option(
    "--crs",
    type=click.Choice(["wgs84", "cgcs2000", "gcj02", "bd09"]),
    default="wgs84",
    show_default=True,
    help="坐标系 Coordinates of TRACKS.",
)
@click.option("--from", "since", help="起 Period start, ISO date (default: 7 days before --to).")
@click.option("--to", "until", help="止 Period end, ISO date (default: now).")
@click.option("--street", "street_id", help="街道 Street to report on (default: the only one).")
@click.option(
    "--within-m",
    default=20.0,
    show_default=True,
    type=float,
    help="距离 A road within this of a track counts as walked.",
)
@click.option("--json", "as_json", is_flag=True, help="JSON 输出 Print the whole report as JSON.")
def patrol_coverage(tracks, person, crs, since, until, street_id, within_m, as_json) -> None:
    from sqlalchemy import text

    from core.coverage import street_coverage
    from core.tracks import import_track
    from geo.tracks import TrackError, guess_format

    if tracks and not person:
        raise click.UsageError("say whose logs these are: --person ID")
    end = _now(until)
    start = _now(since) if since else end - timedelta(days=7)
    if start >= end:
        raise click.BadParameter("--from must be before --to")
    with get_engine().begin() as conn:
        for path in tracks:
            try:
                stored = import_track(
                    conn, person, path.read_bytes(), guess_format(path.name), crs, uploaded_by="cli"
                )
            except TrackError as exc:
                raise click.ClickException(f"无法导入 cannot import {path}: {exc}") from None
            c = stored["cleaning"]
            click.echo(
                f"已导入 stored {path.name} as log {stored['id']}: {c['kept']} of {c['points']} points kept "
                f"({c['jumps']} jumps, {c['gaps']} gaps, {c['too_fast_cuts']} too fast), "
                f"{c['length_m']:,.0f} m"
            )
        streets = (
            [street_id]
            if street_id
            else conn.execute(text("SELECT id FROM streets ORDER BY id")).scalars().all()
        )
        reports = [street_coverage(conn, s, start, end, within_m=within_m) for s in streets]
    if as_json:
        click.echo(json.dumps(reports if len(reports) > 1 else reports[0], ensure_ascii=False, indent=1))
        return
    for r in reports:
        roads = r["roads"]
        click.echo(
            f"街道 street {r['street_id']}  {start:%Y-%m-%d} – {end:%Y-%m-%d}: {r['tracks']} logs; "
            f"roads walked {roads['walked_share']:.0%} of {roads['length_m']:,.0f} m; "
            f"nobody walked {roads['unwalked_length_m']:,.0f} m; "
            f"buildings not passed {len(r['buildings_not_passed'])}"
        )
        _table(
            r["grids"],
            [
                "id",
                "worker_id",
                "road_length_m",
                "walked_share",
                "worker_share",
                "buildings",
                "buildings_passed",
            ],
        )
        late = [w for w in r["workers"] if any(wk["complete"] and not wk["ok"] for wk in w["weeks"])]
        click.echo(f"{r['rule']}: {len(late)} of {len(r['workers'])} workers fell short in a complete week")
        for f in r["unwalked"]["features"]:
            click.echo(
                f"  无人巡查 not walked: {f['properties']['name']} {f['properties']['length_m']:.0f} m"
            )


COMMANDS = (users_group, catalogue_group, incidents_group, scores_cmd, patrol_group)
