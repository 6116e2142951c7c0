"""`wangge` command line: database, import/export, validation, demo district, locating, serving."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from store.cluster import ClusterError, EmbeddedCluster
from store.engine import database_url, get_engine, session_scope
from store.migrate import upgrade

LAYER_CHOICE = click.Choice(
    ["streets", "communities", "grids", "buildings", "roads", "road_segments", "people"]
)
CRS_CHOICE = click.Choice(["wgs84", "cgcs2000", "gcj02", "bd09"])


def _fail(message: str, code: int = 1) -> None:
    click.echo(message, err=True)
    sys.exit(code)


@click.group(help="网格化管理服务 Wangge: 街道 > 社区 > 网格 > 楼栋 grid management.")
def main() -> None:
    pass


# -- database ---------------------------------------------------------------
@main.group("db", help="数据库 Database: the embedded PostGIS cluster (or DATABASE_URL) and migrations.")
def db_group() -> None:
    pass


def _external() -> bool:
    return bool(os.environ.get("DATABASE_URL"))


@db_group.command("start", help="启动内置数据库 Start the embedded PostGIS (idempotent).")
def db_start() -> None:
    if _external():
        click.echo("DATABASE_URL 已设置，使用外部数据库 / DATABASE_URL is set: nothing to start")
        return
    try:
        url = EmbeddedCluster.default().start()
    except ClusterError as exc:
        _fail(str(exc))
    click.echo(f"数据库运行中 / database running: {url}")


@db_group.command("stop", help="停止内置数据库 Stop the embedded PostGIS.")
def db_stop() -> None:
    if _external():
        click.echo("DATABASE_URL 已设置，没有内置数据库 / DATABASE_URL is set: no embedded database")
        return
    was = EmbeddedCluster.default().stop()
    click.echo("已停止 / stopped" if was else "未运行 / not running")


@db_group.command("status", help="数据库状态 Is the database running? Exit 0 if yes, 3 if not.")
def db_status() -> None:
    if _external():
        click.echo(f"external: {database_url()}")
        return
    cluster = EmbeddedCluster.default()
    if cluster.running():
        click.echo(f"running: {cluster.url()} (data {cluster.data_dir})")
    else:
        click.echo(f"stopped (data {cluster.data_dir})")
        sys.exit(3)


@db_group.command("url", help="打印连接地址 Print the SQLAlchemy URL in use.")
def db_url() -> None:
    if _external():
        click.echo(database_url())
    else:
        click.echo(EmbeddedCluster.default().url())


@db_group.command("upgrade", help="升级数据库结构 Apply Alembic migrations up to head.")
def db_upgrade() -> None:
    from core.catalogue import ensure_default_catalogue

    upgrade()
    with get_engine().begin() as conn:
        ensure_default_catalogue(conn)
    click.echo("数据库结构已是最新 / schema at head")


# -- import / export ----------------------------------------------------------
def _print_problems(problems, title: str) -> None:
    click.echo(title, err=True)
    click.echo(f"{'index':>6}  {'id':<20} {'lon':>12} {'lat':>11}  reason", err=True)
    for p in problems:
        lon = f"{p.lon:.6f}" if p.lon is not None else "-"
        lat = f"{p.lat:.6f}" if p.lat is not None else "-"
        click.echo(f"{p.index:>6}  {str(p.id or '-'):<20} {lon:>12} {lat:>11}  {p.reason}", err=True)


@main.command(
    "import", help="导入图层 Import one layer file (GeoJSON, GeoPackage, Shapefile) in one transaction."
)
@click.argument("layer", type=LAYER_CHOICE)
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--layer-name",
    "source_layer",
    help="文件内图层 Layer inside a multi-layer file (default: LAYER or the first).",
)
@click.option("--id-field", help="编号字段 Field holding the id.")
@click.option("--name-field", help="名称字段 Field holding the name.")
@click.option(
    "--parent-field", help="上级编号字段 Field holding the parent's id (street_id, community_id or grid_id)."
)
@click.option("--households-field", help="户数字段 Field holding households.")
@click.option(
    "--field",
    "extra",
    multiple=True,
    metavar="OURS=THEIRS",
    help="其他字段映射 Map any other column, repeatable.",
)
@click.option(
    "--crs",
    type=CRS_CHOICE,
    default="wgs84",
    show_default=True,
    help="坐标系 gcj02/bd09 for data digitised on Chinese web maps.",
)
@click.option(
    "--repair", is_flag=True, help="修复 Fix invalid geometries with make_valid and report each change."
)
@click.option(
    "--report", type=click.Path(path_type=Path), help="问题报告 Write the bad features as JSON here too."
)
def import_cmd(
    layer,
    file,
    source_layer,
    id_field,
    name_field,
    parent_field,
    households_field,
    extra,
    crs,
    repair,
    report,
) -> None:
    from boundaries.layers import LAYERS
    from boundaries.load import ImportRejected, import_file
    from boundaries.readers import ReadError

    spec = LAYERS[layer]
    fields = {}
    for ours, theirs in (("id", id_field), ("name", name_field), ("households", households_field)):
        if theirs:
            fields[ours] = theirs
    if parent_field:
        if not spec.parents:
            _fail(f"{layer} has no parent; --parent-field does not apply", 2)
        fields[next(iter(spec.parents))] = parent_field
    for item in extra:
        if "=" not in item:
            _fail(f"--field takes OURS=THEIRS, got {item!r}", 2)
        ours, theirs = item.split("=", 1)
        if ours not in spec.columns:
            _fail(f"{layer} has no column {ours!r}; columns: {', '.join(spec.columns)}", 2)
        fields[ours] = theirs
    try:
        with session_scope() as session:
            result = import_file(
                session, layer, file, source_layer=source_layer, fields=fields, crs=crs, repair=repair
            )
    except ReadError as exc:
        _fail(f"导入失败 import failed: {exc}", 2)
    except ImportRejected as exc:
        _print_problems(exc.problems, f"导入被拒绝，未写入任何数据 / import rejected, nothing written: {exc}")
        if report:
            report.write_text(json.dumps([p.as_dict() for p in exc.problems], ensure_ascii=False, indent=1))
        sys.exit(1)
    if result.repairs:
        _print_problems(result.repairs, f"已修复 {len(result.repairs)} 个几何 / repaired geometries:")
    click.echo(
        f"已导入 {result.imported} 条 {spec.label} / imported {result.imported} {layer} "
        f"(from {result.source_crs})"
    )


@main.command("export", help="导出图层 Write a stored layer to .gpkg, .geojson, .shp, .parquet or .csv.")
@click.argument("layer", type=LAYER_CHOICE)
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--history", is_flag=True, help="含历史网格 Include grid versions that are no longer current.")
def export_cmd(layer, file, history) -> None:
    from boundaries.load import export_layer

    with session_scope() as session:
        n = export_layer(session, layer, file, include_history=history)
    click.echo(f"已导出 {n} 条 / exported {n} {layer} to {file}")


# -- validation ---------------------------------------------------------------
@main.command("validate", help="校验层级 Check the hierarchy: containment, overlaps, gaps, sizes, owners.")
@click.option(
    "--hierarchy",
    type=click.Path(path_type=Path),
    help="校验文件 Check a district GeoPackage instead of the database.",
)
@click.option("--tolerance-m", type=float, help="拓扑容差(米) Slivers thinner than this are ignored.")
@click.option("--households-target", type=int, help="每格目标户数 Target households per grid.")
@click.option(
    "--households-tolerance", type=float, help="户数容差 Allowed share off the target (0.1 = ±10 %)."
)
@click.option("--json", "as_json", is_flag=True, help="JSON 输出 Print the findings as JSON.")
@click.option(
    "--geojson", type=click.Path(path_type=Path), help="问题位置 Write problem locations as GeoJSON."
)
@click.option("--strict", is_flag=True, help="严格 Warnings count as errors for the exit code.")
def validate_cmd(
    hierarchy, tolerance_m, households_target, households_tolerance, as_json, geojson, strict
) -> None:
    from boundaries.validate import ERROR, Tolerances, findings_geojson, validate_hierarchy
    from geo.settings import get_settings

    cfg = get_settings()
    target = households_target or cfg.households_target
    spread = cfg.households_tolerance if households_tolerance is None else households_tolerance
    tol = Tolerances(
        topology_m=cfg.topology_tolerance_m if tolerance_m is None else tolerance_m,
        households_band=(target * (1 - spread), target * (1 + spread)),
    )
    layers = _hierarchy_layers(hierarchy)
    findings = validate_hierarchy(layers, tol)
    if geojson:
        geojson.write_text(json.dumps(findings_geojson(findings), ensure_ascii=False))
    errors = [f for f in findings if f.severity == ERROR]
    if as_json:
        click.echo(json.dumps([f.as_dict() for f in findings], ensure_ascii=False, indent=1))
    else:
        click.echo(f"{'severity':<8} {'check':<22} {'layer':<14} {'id':<18} {'lon':>11} {'lat':>10}  detail")
        for f in findings:
            d = f.as_dict()
            lon = f"{d['lon']:.5f}" if d["lon"] is not None else "-"
            lat = f"{d['lat']:.5f}" if d["lat"] is not None else "-"
            click.echo(
                f"{f.severity:<8} {f.check:<22} {f.layer:<14} {str(f.id or '-'):<18} {lon:>11} {lat:>10}  {f.detail}"
            )
        click.echo(
            f"共 {len(errors)} 个错误、{len(findings) - len(errors)} 个警告 / "
            f"{len(errors)} error(s), {len(findings) - len(errors)} warning(s) "
            f"(tolerance {tol.topology_m:g} m, households {tol.households_band[0]:g}–{tol.households_band[1]:g})"
        )
    if errors or (strict and findings):
        sys.exit(1)


def _hierarchy_layers(path: Path | None) -> dict:
    """Layers from a district file when given, else from the database."""
    from boundaries.readers import ReadError, read_hierarchy_file
    from store.hierarchy import read_table

    if path is not None:
        try:
            return read_hierarchy_file(path)
        except ReadError as exc:
            _fail(str(exc), 2)
    with get_engine().connect() as conn:
        return {
            name: read_table(conn, name)
            for name in ("streets", "communities", "grids", "buildings", "roads", "road_segments", "people")
        }


# -- demo district --------------------------------------------------------------
@main.command("demo", help="示范辖区 Write (and load) the demo district modelled on Zhenxing street, Panjin.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="输出目录 Write DIR/district.gpkg.")
@click.option("--seed", type=int, default=7, show_default=True, help="随机种子 Same seed, same district.")
@click.option(
    "--scale", type=int, default=1, show_default=True, help="倍数 Streets side by side (64 grids each)."
)
@click.option(
    "--load", "load", is_flag=True, help="载入数据库 Also load it into the database (skipped if present)."
)
@click.option(
    "--incidents",
    "n_incidents",
    type=int,
    default=12_000,
    show_default=True,
    help="历史事件数 A year of incidents with their lifecycles, loaded with --load (0: none).",
)
@click.option(
    "--track-days",
    type=int,
    default=7,
    show_default=True,
    help="巡查轨迹天数 Days of patrol GPS logs up to today, loaded with --load (0: none).",
)
def demo_cmd(out_dir, seed, scale, load, n_incidents, track_days) -> None:
    from sqlalchemy import select

    from boundaries.demo import make_district, write_district
    from boundaries.load import load_layers
    from store.models import Street

    if not out_dir and not load:
        _fail("say --out DIR, --load, or both", 2)
    if scale < 1:
        _fail(f"--scale must be 1 or more, got {scale}", 2)
    if n_incidents < 0:
        _fail(f"--incidents must be 0 or more, got {n_incidents}", 2)
    if not 0 <= track_days <= 31:
        _fail(f"--track-days must be 0 to 31, got {track_days}", 2)
    layers = make_district(seed=seed, scale=scale)
    if out_dir:
        path = write_district(layers, out_dir)
        click.echo(f"示范辖区已写入 / demo district written: {path}")
    if not load:
        return
    with session_scope() as session:
        ids = set(layers["streets"]["id"])
        present = set(session.scalars(select(Street.id).where(Street.id.in_(ids))))
        if present == ids:
            click.echo("示范辖区已在库中 / demo district already loaded")
        elif present:
            _fail(
                f"some demo streets are already stored ({', '.join(sorted(present))}); "
                "use another --seed/--scale or a fresh database",
                1,
            )
        else:
            counts = load_layers(session, layers)
            click.echo("已载入 / loaded: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if n_incidents:
        _demo_history(layers, seed, n_incidents)
    if track_days:
        _demo_tracks(layers, seed, track_days)


def _demo_history(layers: dict, seed: int, n: int) -> None:
    """A year of incidents up to now, once: a database that has incidents keeps them."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    from boundaries.demo_incidents import load_history, make_history
    from core.catalogue import ensure_default_catalogue, list_categories, list_departments

    with get_engine().begin() as conn:
        if conn.execute(text("SELECT count(*) FROM incidents")).scalar_one():
            click.echo("已有事件 / incidents already present: demo history skipped")
            return
        ensure_default_catalogue(conn)
        categories = list_categories(conn)
        departments = {d["code"]: d["report_limit_min"] for d in list_departments(conn)}
        click.echo(f"生成一年事件 / generating a year of incidents ({n:,}) …")
        incidents, events = make_history(layers, categories, end=datetime.now(UTC), n=n, seed=seed)
        stored = load_history(conn, incidents, events, departments)
    click.echo(f"已载入事件 / incidents loaded: {stored:,} with {len(events):,} events")


def _demo_tracks(layers: dict, seed: int, days: int) -> None:
    """Patrol logs for the days up to today (Beijing midnight), once: a database with logs keeps them."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import text

    from boundaries.demo_tracks import load_tracks, make_tracks

    with get_engine().begin() as conn:
        if conn.execute(text("SELECT count(*) FROM patrol_tracks")).scalar_one():
            click.echo("已有巡查轨迹 / patrol logs already present: demo tracks skipped")
            return
        beijing = datetime.now(UTC) + timedelta(hours=8)
        end = datetime(beijing.year, beijing.month, beijing.day, tzinfo=UTC) + timedelta(days=1, hours=-8)
        stored = load_tracks(conn, make_tracks(layers, end=end, days=days, seed=seed))
    click.echo(f"已载入巡查轨迹 / patrol logs loaded: {stored:,} over {days} days")


# -- locating --------------------------------------------------------------------
@main.command(
    "locate",
    help="批量定位 Locate a points file (CSV, GeoJSON, GeoParquet): street, community, grid, building, segment.",
)
@click.argument("points", type=click.Path(path_type=Path))
@click.option(
    "--out", required=True, type=click.Path(path_type=Path), help="输出文件 Same format as the input."
)
@click.option(
    "--hierarchy",
    type=click.Path(path_type=Path),
    help="层级文件 A district GeoPackage instead of the database.",
)
@click.option(
    "--crs",
    type=CRS_CHOICE,
    default="wgs84",
    show_default=True,
    help="输入坐标系 Coordinate system of the points.",
)
@click.option("--lon-field", default="lon", show_default=True, help="经度列 CSV longitude column.")
@click.option("--lat-field", default="lat", show_default=True, help="纬度列 CSV latitude column.")
def locate_cmd(points, out, hierarchy, crs, lon_field, lat_field) -> None:
    from tqdm import tqdm

    from core.locating import PointsError, locate_frame, read_points, write_points
    from geo.locate import Hierarchy
    from geo.settings import get_settings

    layers = _hierarchy_layers(hierarchy)
    try:
        frame, lon, lat = read_points(points, lon_field, lat_field)
        with tqdm(total=len(lon), unit="pt", desc="定位 locating", disable=None) as bar:
            result = locate_frame(
                Hierarchy.from_layers(layers),
                frame,
                lon,
                lat,
                crs=crs,
                segment_search_m=get_settings().segment_search_m,
                progress=bar.update,
            )
        write_points(result, out)
    except PointsError as exc:
        _fail(f"定位失败 locate failed: {exc}", 2)
    counts = result["status"].value_counts()
    click.echo(f"已写入 / written {out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


# -- grids --------------------------------------------------------------------------
@main.group("grids", help="网格划分 Draw grids of about 500 households.")
def grids_group() -> None:
    pass


def _grid_options(command):
    """The options drawing and re-splitting share: roads, households field, band, outputs."""
    for option in reversed(
        [
            click.option(
                "--roads",
                "roads_file",
                type=click.Path(path_type=Path),
                help="道路文件 Roads (preferred cut lines).",
            ),
            click.option(
                "--households-field",
                default="households",
                show_default=True,
                help="户数字段 Households field.",
            ),
            click.option(
                "--target", default=500, show_default=True, type=int, help="每格户数 Households per grid."
            ),
            click.option(
                "--tolerance",
                default=0.1,
                show_default=True,
                type=float,
                help="容差 Allowed share off target.",
            ),
            click.option(
                "--out", type=click.Path(path_type=Path), help="网格输出 Grids file (with files: required)."
            ),
            click.option(
                "--community", help="社区 Work on this community in the database (a preview to apply)."
            ),
            click.option("--street", help="街道 Work on every community of this street in the database."),
            click.option(
                "--assignments",
                type=click.Path(path_type=Path),
                help="楼栋输出 Buildings with their grid_id.",
            ),
        ]
    ):
        command = option(command)
    return command


def _run_partition(
    action: str,
    buildings_file: Path,
    roads_file: Path | None,
    target: int,
    tolerance: float,
    out: Path,
    assignments: Path | None,
    compute,
):
    """Read the files, run ``compute(buildings, roads)``, write grids and assignments; exit 2 on bad input."""

    from boundaries.load import write_frame
    from boundaries.osm import read_buildings_or_osm, read_lines_or_osm
    from geo.partition import PartitionError

    if target <= 0 or not 0 < tolerance < 1:
        _fail(f"--target must be positive and --tolerance between 0 and 1 (got {target}, {tolerance})", 2)
    try:
        buildings = read_buildings_or_osm(buildings_file)
        roads = read_lines_or_osm(roads_file) if roads_file else None
        result = compute(buildings, roads)
    except (PartitionError, OSError, ValueError) as exc:
        _fail(f"{action} failed: {exc}", 2)
    write_frame(result.grids, out, "grids")
    if assignments:
        assigned = buildings.assign(grid_id=result.assignments.to_numpy())
        if result.units is not None and len(result.units):
            # A building split by units: which grid holds which units, e.g. "1-2:G23 3-5:G22".
            runs = result.units.assign(
                run=[f"{r.unit_from}-{r.unit_to}:{r.grid_id}" for r in result.units.itertuples()]
            )
            assigned["unit_grids"] = buildings.index.map(runs.groupby("building")["run"].agg(" ".join))
        write_frame(assigned, assignments, "buildings")
    return result.report


@grids_group.command(
    "draw",
    help="划分网格 Draw grids: on files (--buildings --boundary) or on the database "
    "(--community/--street, a preview to apply).",
)
@click.option("--buildings", "buildings_file", type=click.Path(path_type=Path), help="楼栋文件 Buildings.")
@click.option(
    "--boundary", "boundary_file", type=click.Path(path_type=Path), help="边界文件 Parent boundary."
)
@_grid_options
@click.option(
    "--units-field", help="单元数字段 Units per building: a building above the band is split by its units."
)
def grids_draw(
    buildings_file,
    boundary_file,
    roads_file,
    households_field,
    target,
    tolerance,
    out,
    assignments,
    community,
    street,
    units_field,
) -> None:
    import geopandas as gpd

    from geo.partition import draw_grids

    if community or street:
        if units_field:
            _fail("--units-field works on files: in the database a building row belongs to one grid", 2)
        _db_preview("draw", community, street, target, tolerance, out)
        return
    if not (buildings_file and boundary_file and out):
        _fail("say --buildings, --boundary and --out (files), or --community/--street (database)", 2)
    r = _run_partition(
        "划分 drawing",
        buildings_file,
        roads_file,
        target,
        tolerance,
        out,
        assignments,
        lambda b, roads: draw_grids(
            b,
            gpd.read_file(boundary_file),
            roads,
            households_field=households_field,
            target=target,
            tolerance=tolerance,
            units_field=units_field,
        ),
    )
    click.echo(
        f"已划分 {r['n_grids']} 个网格 / {r['n_grids']} grids: in band {r['in_band_share']:.0%}, "
        f"mean deviation {r['mean_abs_deviation']:.1%}, Polsby–Popper median {r['polsby_popper_median']:.2f}"
        + (f", boundary on roads {r['road_share']:.0%}" if r["road_share"] is not None else "")
    )
    for g in r["out_of_band"]:
        click.echo(f"  {g['id']}: {g['households']} 户 households — {g['reason']}")
    for u in r.get("split_buildings", []):
        click.echo(
            f"  楼栋 building {u['building']} 单元 units {u['unit_from']}–{u['unit_to']} → {u['grid_id']} "
            f"({u['households']} 户 households)"
        )


def _db_preview(
    kind: str, community: str | None, street: str | None, target: int, tolerance: float, out: Path | None
) -> None:
    """Compute a drawing or re-split on the database and store it as a preview (nothing changes yet)."""
    from core.grids import GridError, make_preview, scope_communities

    try:
        with get_engine().begin() as conn:
            communities = scope_communities(conn, community=community, street=street)
            result = make_preview(
                conn,
                kind,
                communities,
                target=target,
                tolerance=tolerance,
                actor=f"cli:{os.environ.get('USER', 'unknown')}",
            )
    except GridError as exc:
        _fail(f"{kind} failed: {exc.detail}", 1 if exc.status == 404 else 2)
    s = result["report"]["summary"]
    if out:
        Path(out).write_text(json.dumps(result["grids"], ensure_ascii=False), encoding="utf-8")
    click.echo(
        f"预览 preview {result['preview_id']}: {s['n_grids']} grids ({s['n_new']} new, "
        f"{s['n_unchanged']} unchanged), in band {s['in_band_share']:.0%}, buildings moved "
        f"{s['buildings_moved']}, Polsby–Popper median {s['polsby_popper_median']:.2f}"
    )
    click.echo(f"应用 apply with: wangge grids apply {result['preview_id']}")


@grids_group.command(
    "resplit",
    help="调整网格 Re-split grids after buildings changed, only what is out of band: on "
    "files (--buildings --grids) or on the database (--community/--street).",
)
@click.option(
    "--buildings", "buildings_file", type=click.Path(path_type=Path), help="楼栋文件 Buildings now."
)
@click.option("--grids", "grids_file", type=click.Path(path_type=Path), help="现有网格 Existing grids (id).")
@_grid_options
@click.option(
    "--mapping", type=click.Path(path_type=Path), help="对应表 CSV old grid → new grid, households moved."
)
def grids_resplit(
    buildings_file,
    grids_file,
    roads_file,
    households_field,
    target,
    tolerance,
    out,
    assignments,
    community,
    street,
    mapping,
) -> None:
    import geopandas as gpd
    import pandas as pd

    from geo.partition import resplit_grids

    if community or street:
        _db_preview("resplit", community, street, target, tolerance, out)
        return
    if not (buildings_file and grids_file and out):
        _fail("say --buildings, --grids and --out (files), or --community/--street (database)", 2)
    r = _run_partition(
        "调整 re-split",
        buildings_file,
        roads_file,
        target,
        tolerance,
        out,
        assignments,
        lambda b, roads: resplit_grids(
            b,
            gpd.read_file(grids_file),
            roads,
            households_field=households_field,
            target=target,
            tolerance=tolerance,
        ),
    )
    if mapping:
        pd.DataFrame(r["mapping"]).to_csv(mapping, index=False)
    click.echo(
        f"{r['n_grids']} 个网格 grids, in band {r['in_band_share']:.0%}; 楼栋保持 buildings kept "
        f"{r['buildings_kept_share']:.0%}, 网格未变 grids unchanged {r['grids_unchanged_share']:.0%}, "
        f"moves {len(r['moves'])}"
    )


@grids_group.command("apply", help="应用预览 Make a preview the current grids, in one transaction.")
@click.argument("preview_id")
def grids_apply(preview_id) -> None:
    from core.grids import GridError, apply_preview

    try:
        with get_engine().begin() as conn:
            r = apply_preview(conn, preview_id, actor=f"cli:{os.environ.get('USER', 'unknown')}")
    except GridError as exc:
        _fail(f"未应用 not applied, nothing changed: {exc.detail}", 1)
    click.echo(
        f"已应用 applied {preview_id}: retired {len(r['retired'])}, created {len(r['created'])}, "
        f"unchanged {len(r['unchanged'])}, buildings moved {r['buildings_moved']}, "
        f"workers re-pointed {r['workers_repointed']}"
    )


@grids_group.command(
    "history", help="网格沿革 A grid's versions: when it was valid, what it came from and became."
)
@click.argument("grid_id")
def grids_history(grid_id) -> None:
    from core.grids import GridError, grid_history

    try:
        with get_engine().connect() as conn:
            h = grid_history(conn, grid_id)
    except GridError as exc:
        _fail(exc.detail, 1)
    click.echo(
        f"{h['id']} {h['name']} ({h['households']} 户 households): {h['valid_from'][:16]} – "
        f"{(h['valid_to'] or '至今 now')[:16]}"
    )
    for label, links in (("来自 came from", h["came_from"]), ("变为 became", h["became"])):
        for link in links:
            click.echo(
                f"  {label} {link['grid']} {link['name']}: {link['households']} 户 households "
                f"({link['share']:.0%}) on {link['changed_at'][:16]}"
            )


# -- map assets ----------------------------------------------------------------
@main.command(
    "assets", help="地图资源 Fetch Leaflet and plugins from npm into var/static/vendor, for offline maps."
)
def assets_cmd() -> None:
    from maps.assets import AssetError, install, vendor_dir

    try:
        written = install(progress=lambda name: click.echo(f"  已获取 fetched {name}"))
    except AssetError as exc:
        _fail(f"地图资源安装失败 assets failed: {exc}")
    click.echo(f"地图资源就绪 / map assets ready in {vendor_dir()} ({len(written)} new)")


@main.command("map", help="导出地图 Write a map page (works offline: its libraries are copied beside it).")
@click.argument("kind", type=click.Choice(["grids", "board", "heat", "resplit", "coverage"]))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="输出 FILE.html")
@click.option("--base", default=None, help="底图 none (default), osm, local, tianditu, amap.")
@click.option(
    "--from", "since", help="起 Incident maps: period start, ISO date (default: 90 days before --to)."
)
@click.option("--to", "until", help="止 Incident maps: period end, ISO date (default: now).")
@click.option("--category", help="类别 Incident maps: category codes, comma-separated.")
@click.option("--tier", help="级别 Incident maps: tiers A,B,C,D.")
@click.option("--channel", help="渠道 Incident maps: channels, comma-separated.")
@click.option("--status", help="状态 Incident maps: statuses, comma-separated.")
@click.option(
    "--step", type=click.Choice(["day", "week"]), help="时间步 Heat map time slider step (default day)."
)
@click.option("--markers", help="标记数 Heat map: most recent reports drawn as markers (default 1000).")
@click.option("--preview", help="预览 Re-split map: the preview id to show.")
@click.option(
    "--street", help="街道 Coverage map: the street (default: the only one; period default 7 days)."
)
@click.option(
    "--measure",
    type=click.Choice(["households", "incidents", "score"]),
    help="指标 Grid map: shade by households (default), incidents per 1,000 households, or score.",
)
def map_cmd(kind, out, base, **filters) -> None:
    from api.http.params import ParamError
    from api.pages import render_map
    from maps.assets import AssetError, export_page
    from maps.basemaps import BaseMapError, base_map

    params = {{"since": "from", "until": "to"}.get(k, k): v for k, v in filters.items() if v}
    try:
        chosen = base_map(base)
        with get_engine().connect() as conn:
            fmap = render_map(conn, kind, chosen, params)
        export_page(fmap.get_root().render(), out)
    except (BaseMapError, AssetError, ParamError) as exc:
        _fail(f"地图导出失败 map failed: {exc}", 2)
    click.echo(f"地图已写入 / map written: {out} (底图 base: {chosen.label})")


# -- serving --------------------------------------------------------------------
@main.command("serve", help="启动服务 Serve the API and maps (waitress, a production WSGI server).")
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址 Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="端口 Port.")
@click.option("--threads", default=8, show_default=True, type=int, help="线程数 Worker threads.")
def serve_cmd(host, port, threads) -> None:
    from waitress import serve

    from api.http.app import create_app

    app = create_app()
    base = f"http://{host}:{port}"
    click.echo(
        f"服务地址 / serving at {base}/\n  健康 health: {base}/api/v1/health\n"
        f"  定位 locate: {base}/api/v1/locate?lon=122.07&lat=41.12\n  网格图 grid map: {base}/maps/grids"
    )
    serve(app, host=host, port=port, threads=threads)


def _register_workflow() -> None:
    from api.cli.workflow import COMMANDS

    for command in COMMANDS:
        main.add_command(command)


_register_workflow()

if __name__ == "__main__":  # pragma: no cover
    main()
