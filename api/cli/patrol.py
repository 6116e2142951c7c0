"""`wangge patrol`: routes that walk every road of an area, and what the GPS logs walked."""

from __future__ import annotations

import json
from pathlib import Path

import click
from sqlalchemy import Connection

from api.cli.common import CRS_CHOICE, period_of, table
from core.periods import PATROL_DAYS, PATROL_MAX_DAYS
from store.engine import get_engine


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
    from tqdm import tqdm

    from core.errors import ServiceError
    from core.patrols import plan, plan_seconds, write_geojson, write_gpx

    how = {"speed_kmh": speed_kmh, "patrollers": patrollers, "sides": both_sides, "budget_min": budget_min}
    # Stages of a plan; the bar shows on a terminal, with the time the roads' count predicts.
    with tqdm(total=3, desc="读取 reading", unit="stage", disable=None, leave=False) as bar:

        def stage(name: str) -> None:
            bar.set_description(name)
            bar.update(1)

        try:
            roads, area, labels, incidents = _plan_inputs(
                roads_file, area_file, grid_id, street_id, chief_id, incidents_file, budget_min
            )
            bar.set_postfix_str(f"预计 about {plan_seconds(roads):.0f} s")
            network, routes = plan(
                roads, area, _lonlat(start), incidents=incidents, labels=labels, progress=stage, **how
            )
        except (ServiceError, OSError, ValueError) as exc:
            raise click.ClickException(f"无法规划 cannot plan: {exc}") from None
        stage("写出 writing")
        write_geojson(network, routes, out)
        if gpx_file:
            write_gpx(network, routes, gpx_file)
    _print_routes(routes, out)


def _plan_inputs(
    roads_file: Path | None,
    area_file: Path | None,
    grid_id: str | None,
    street_id: str | None,
    chief_id: str | None,
    incidents_file: Path | None,
    budget_min: float | None,
) -> tuple:
    """Roads, the area to walk, edge labels and weighting incidents: from the database or from files."""
    import geopandas as gpd

    from boundaries.osm import is_osm, read_lines_or_osm
    from core.patrols import area_inputs, check_extract, recent_incidents

    incidents = gpd.read_file(incidents_file) if incidents_file else None
    if grid_id or street_id or chief_id:
        with get_engine().connect() as conn:
            roads, area, labels = area_inputs(conn, grid=grid_id, street=street_id, chief=chief_id)
            if budget_min is not None and incidents is None:
                incidents = recent_incidents(conn, area)
        return roads, area, labels, incidents
    if not roads_file:
        raise click.ClickException("无法规划 cannot plan: say --roads FILE (and --area FILE), or --grid ID")
    area = gpd.read_file(area_file).to_crs(4326).union_all() if area_file else None
    if area is None and is_osm(roads_file) and roads_file.is_file():
        check_extract(roads_file.stat().st_size)
    return read_lines_or_osm(roads_file), area, None, incidents


MAX_PRINTED_STEPS = 200  # more than a screenful is read in the GeoJSON, where every step is


def _print_routes(routes: list, out: Path) -> None:
    """Each route's figures, every note, and its steps (past ``MAX_PRINTED_STEPS`` in all, how many are left
    out and where they are)."""
    from geo.patrol import balance

    room = MAX_PRINTED_STEPS // len(routes)
    for i, route in enumerate(routes, start=1):
        click.echo(
            f"路线 route {i}: {route.length_m:,.0f} m, {route.duration_min:.0f} min; roads to walk "
            f"{route.required_length_m:,.0f} m, repeated {route.deadhead_length_m:,.0f} m; "
            f"{'optimal' if route.optimal else 'heuristic'}"
        )
        for note in route.notes:
            click.echo(f"  注 note: {note}")
        for step in route.steps[:room]:
            click.echo(f"  {step['text']}")
        if len(route.steps) > room:
            click.echo(
                f"  … 另有 {len(route.steps) - room:,} 步未列出 {len(route.steps) - room:,} more steps of "
                f"{len(route.steps):,} not shown: all are in {out} (features[{i - 1}].properties.steps)"
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


@patrol_group.command(
    "coverage",
    help="巡查覆盖 Store GPS logs (GPX, GeoJSON, CSV), then report what was walked in "
    "the period: roads, segments, grids, workers, chiefs, the twice-a-week rule.",
)
@click.argument("tracks", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--person", help="人员 Whose logs TRACKS are (needed when TRACKS are given).")
@click.option(
    "--crs",
    type=CRS_CHOICE,
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
    from tqdm import tqdm

    from core.coverage import street_coverage
    from store.hierarchy import street_ids

    if tracks and not person:
        raise click.UsageError("say whose logs these are: --person ID")
    asked = period_of(since, until, default_days=PATROL_DAYS, max_days=PATROL_MAX_DAYS)
    with get_engine().begin() as conn:
        for path in tracks:
            _store_log(conn, path, person, crs)
        streets = [street_id] if street_id else street_ids(conn)
        # A street-week takes seconds: the bar (on a terminal) counts streets and shows the time spent.
        reports = [
            street_coverage(conn, s, asked.since, asked.until, within_m=within_m)
            for s in tqdm(streets, desc="覆盖 coverage", unit="street", disable=None, leave=False)
        ]
    if as_json:
        click.echo(json.dumps(reports if len(reports) > 1 else reports[0], ensure_ascii=False, indent=1))
        return
    for r in reports:
        _print_coverage(r, asked.describe())


def _store_log(conn: Connection, path: Path, person: str, crs: str) -> None:
    from core.errors import ServiceError
    from core.tracks import import_track
    from geo.tracks import TrackError, guess_format

    try:
        stored = import_track(
            conn, person, path.read_bytes(), guess_format(path.name), crs, uploaded_by="cli"
        )
    except (ServiceError, TrackError) as exc:
        raise click.ClickException(f"无法导入 cannot import {path}: {exc}") from None
    c = stored["cleaning"]
    click.echo(
        f"已导入 stored {path.name} as log {stored['id']}: {c['kept']} of {c['points']} points kept "
        f"({c['jumps']} jumps, {c['gaps']} gaps, {c['too_fast_cuts']} too fast), {c['length_m']:,.0f} m"
    )


def _print_coverage(r: dict, period: str) -> None:
    roads = r["roads"]
    click.echo(
        f"街道 street {r['street_id']}  {period}: {r['tracks']} logs; "
        f"roads walked {roads['walked_share']:.0%} of {roads['length_m']:,.0f} m; "
        f"nobody walked {roads['unwalked_length_m']:,.0f} m; "
        f"buildings not passed {len(r['buildings_not_passed'])}"
    )
    columns = [
        "id",
        "worker_id",
        "road_length_m",
        "walked_share",
        "worker_share",
        "buildings",
        "buildings_passed",
    ]
    table(r["grids"], columns)
    late = [w for w in r["workers"] if any(wk["complete"] and not wk["ok"] for wk in w["weeks"])]
    click.echo(f"{r['rule']}: {len(late)} of {len(r['workers'])} workers fell short in a complete week")
    for f in r["unwalked"]["features"]:
        click.echo(f"  无人巡查 not walked: {f['properties']['name']} {f['properties']['length_m']:.0f} m")
