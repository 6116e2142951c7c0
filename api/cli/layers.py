"""`wangge import`, `export` and `validate`: GIS layers in and out of the database, and the hierarchy checks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from api.cli.common import CRS_CHOICE, LAYER_CHOICE, fail, stage_bar
from api.cli.exports import CASE_TABLES, export_cases
from core.vocabulary import LAYERS as LAYER_NAMES
from store.engine import get_engine, session_scope
from store.scores import UNIT_KINDS


def _print_problems(problems, title: str) -> None:
    click.echo(title, err=True)
    click.echo(f"{'index':>6}  {'id':<20} {'lon':>12} {'lat':>11}  reason", err=True)
    for p in problems:
        lon = f"{p.lon:.6f}" if p.lon is not None else "-"
        lat = f"{p.lat:.6f}" if p.lat is not None else "-"
        click.echo(f"{p.index:>6}  {str(p.id or '-'):<20} {lon:>12} {lat:>11}  {p.reason}", err=True)


@click.command(
    "import", help="导入图层 Import one layer file (GeoJSON, GeoPackage, Shapefile) in one transaction."
)
@click.argument("layer", type=LAYER_CHOICE)
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--layer-name",
    "--buildings-layer",
    "--roads-layer",
    "--boundary-layer",
    "source_layer",
    help="文件内图层 Layer inside a multi-layer file (default: LAYER or the first); the names grids draw "
    "uses for its inputs work too.",
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
            fail(f"{layer} has no parent; --parent-field does not apply", 2)
        fields[next(iter(spec.parents))] = parent_field
    for item in extra:
        if "=" not in item:
            fail(f"--field takes OURS=THEIRS, got {item!r}", 2)
        ours, theirs = item.split("=", 1)
        if ours not in spec.columns:
            fail(f"{layer} has no column {ours!r}; columns: {', '.join(spec.columns)}", 2)
        fields[ours] = theirs
    try:
        with session_scope() as session, stage_bar(2) as step:
            result = import_file(
                session,
                layer,
                file,
                source_layer=source_layer,
                fields=fields,
                crs=crs,
                repair=repair,
                progress=step,
            )
    except ReadError as exc:
        fail(f"导入失败 import failed: {exc}", 2)
    except ImportRejected as exc:
        _print_problems(exc.problems, f"导入被拒绝，未写入任何数据 / import rejected, nothing written: {exc}")
        if report:
            report.write_text(json.dumps([p.as_dict() for p in exc.problems], ensure_ascii=False, indent=1))
        sys.exit(1)
    _say_imported(result, spec.label, layer)


def _say_imported(result, label: str, layer: str) -> None:
    """What an import wrote: its repairs, its count, the file's coordinate system, what lay outside."""
    if result.repairs:
        _print_problems(result.repairs, f"已修复 {len(result.repairs)} 个几何 / repaired geometries:")
    outside = f"; 区外 {result.outside} 条未导入 / {result.outside} outside the district left out"
    click.echo(
        f"已导入 {result.imported} 条 {label} / imported {result.imported} {layer} "
        f"(from {result.source_crs}){outside if result.outside else ''}"
    )


@click.command(
    "export",
    help="导出 Write a stored layer (.gpkg, .geojson, .shp, .parquet, .csv), or incidents or scores "
    "(.csv with a BOM, .xlsx, .gpkg, .geojson; the last 90 days unless --from/--to).",
)
@click.argument("layer", type=click.Choice([*LAYER_NAMES, *CASE_TABLES]))
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--history", is_flag=True, help="含历史网格 Include grid versions that are no longer current.")
@click.option("--from", "since", help="起 From (ISO; Beijing time without an offset).")
@click.option("--to", "until", help="止 To.")
@click.option("--street", help="街道 Incidents of these streets (comma list).")
@click.option("--community", help="社区 Of these communities.")
@click.option("--grid", help="网格 Of these grids.")
@click.option("--status", help="状态 In these statuses.")
@click.option("--category", help="类别 Of these categories.")
@click.option("--tier", help="级别 Of these tiers.")
@click.option("--channel", help="渠道 From these channels.")
@click.option("--unit", type=click.Choice(list(UNIT_KINDS)), help="排名单位 What scores rank (default grid).")
def export_cmd(layer, file, history, **options) -> None:
    if layer in CASE_TABLES:
        export_cases(layer, file, options)
        return
    from boundaries.load import ShapeRefused, export_layer

    try:
        with session_scope() as session:
            n = export_layer(session, layer, file, include_history=history)
    except ShapeRefused as exc:
        fail(str(exc), 1)
    click.echo(f"已导出 {n} 条 / exported {n} {layer} to {file}")


# -- validation ---------------------------------------------------------------
@click.command("validate", help="校验层级 Check the hierarchy: containment, overlaps, gaps, sizes, owners.")
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
    from store.informants import informant_counts

    cfg = get_settings()
    target = households_target or cfg.households_target
    spread = cfg.households_tolerance if households_tolerance is None else households_tolerance
    tol = Tolerances(
        topology_m=cfg.topology_tolerance_m if tolerance_m is None else tolerance_m,
        households_band=(target * (1 - spread), target * (1 + spread)),
        informants_per_worker=cfg.informants_per_worker,
    )
    layers = hierarchy_layers(hierarchy)
    if hierarchy is None:  # informants are kept only in the database
        with get_engine().connect() as conn:
            layers["informants"] = informant_counts(conn)
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


def hierarchy_layers(path: Path | None) -> dict:
    """Layers from a district file when given, else from the database."""
    from boundaries.readers import ReadError, read_hierarchy_file

    if path is not None:
        try:
            return read_hierarchy_file(path)
        except ReadError as exc:
            fail(str(exc), 2)
    from store.hierarchy import read_table

    with get_engine().connect() as conn:
        return {name: read_table(conn, name) for name in LAYER_NAMES}
