"""`wangge grids`: drawing and re-splitting grids, on files or on the database (previews, apply, history)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import click

from api.cli.common import fail, stage_bar
from core.vocabulary import beijing_text
from store.engine import get_engine


@click.group("grids", help="网格划分 Draw grids of about 500 households.")
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
                help="道路文件 Roads (preferred cut lines): any GIS file or an OSM extract (.osm.pbf).",
            ),
            click.option(
                "--buildings-layer",
                help="楼栋图层 Layer of the buildings file (default: buildings, or the first).",
            ),
            click.option(
                "--roads-layer", help="道路图层 Layer of the roads file (default: roads, or the first)."
            ),
            click.option(
                "--skip-outside",
                is_flag=True,
                help="跳过界外楼栋 Leave out buildings outside the boundary (listed by id) instead of refusing.",
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


@dataclass(frozen=True)
class Shared:
    """The options drawing and re-splitting share (see ``_grid_options``)."""

    roads_file: Path | None
    buildings_layer: str | None
    roads_layer: str | None
    skip_outside: bool
    households_field: str
    target: int
    tolerance: float
    out: Path | None
    community: str | None
    street: str | None
    assignments: Path | None

    @property
    def on_database(self) -> bool:
        return bool(self.community or self.street)

    @property
    def band(self) -> dict:
        """What the partition functions take of these options."""
        return {"households_field": self.households_field, "target": self.target, "tolerance": self.tolerance}


def _run_partition(
    action: str,
    partition: Callable,
    buildings_file: Path,
    parent: tuple[Path | None, str | None, str],
    run: Shared,
    barriers: bool = False,
    step: Callable[[str], None] | None = None,
    **extra: object,
) -> dict:
    """Read the files, run ``partition(buildings, parent, roads)`` (the boundary to draw in, or the grids to
    re-split: ``parent`` is its file, layer and default layer name; no file: a boundary derived from the
    data), write grids and assignments; exit 2 on bad input. Reading is inside, so a bad file fails as the
    drawing does, after the band's check. ``barriers``: the roads input's major roads, railways and water
    are passed as barriers. ``step`` hears each stage (reading, ``action``, writing) as it begins."""
    from boundaries.load import ShapeRefused, write_frame
    from boundaries.osm import read_barriers

    if run.target <= 0 or not 0 < run.tolerance < 1:
        fail(
            f"--target must be positive and --tolerance between 0 and 1 (got {run.target}, {run.tolerance})",
            2,
        )
    step = step or (lambda _label: None)
    try:
        step("读取 reading")
        buildings, parent_frame, roads, left_out = _inputs(buildings_file, parent, run)
        if barriers and run.roads_file:
            extra["barriers"] = read_barriers(run.roads_file, run.roads_layer)
        step(action)
        result = partition(buildings, parent_frame, roads, **run.band, **extra)
    except (ValueError, OSError) as exc:  # PartitionError, ReadError, OsmError and GDAL's errors among them
        fail(f"{action} failed: {exc}", 2)
    try:
        step("写出 writing")
        write_frame(result.grids, run.out, "grids", drawn=True)
        if run.assignments:
            write_frame(_assigned(buildings, result, left_out), run.assignments, "buildings")
    except ShapeRefused as exc:
        fail(str(exc), 1)
    return result.report


def _inputs(buildings_file: Path, parent: tuple[Path | None, str | None, str], run: Shared) -> tuple:
    """Buildings, the parent frame, roads, and the buildings left out (``--skip-outside``, said by id)."""
    from boundaries.osm import read_buildings_or_osm, read_file_layer, read_lines_or_osm
    from geo.partition import building_names, buildings_outside, derived_boundary

    buildings = read_buildings_or_osm(buildings_file, run.buildings_layer)
    roads = read_lines_or_osm(run.roads_file, run.roads_layer) if run.roads_file else None
    path, layer, default = parent
    frame = read_file_layer(path, layer, default) if path else derived_boundary(buildings, roads)
    left_out = buildings.iloc[:0]
    if run.skip_outside:
        outside = buildings_outside(buildings, frame)
        if outside.any():
            click.echo(
                f"跳过界外楼栋 left out {int(outside.sum())} building(s) outside the boundary: "
                f"{building_names(buildings, outside)}"
            )
        left_out, buildings = buildings[outside], buildings[~outside]
    return buildings, frame, roads, left_out


def _assigned(buildings, result, left_out):
    """Buildings with their grid (and, split by units, which grid holds which units); left-out ones with none."""
    import pandas as pd

    assigned = buildings.assign(grid_id=result.assignments.to_numpy())
    if result.units is not None and len(result.units):
        # A building split by units: which grid holds which units, e.g. "1-2:G23 3-5:G22".
        runs = result.units.assign(
            run=[f"{r.unit_from}-{r.unit_to}:{r.grid_id}" for r in result.units.itertuples()]
        )
        assigned["unit_grids"] = buildings.index.map(runs.groupby("building")["run"].agg(" ".join))
    if len(left_out):
        assigned = pd.concat([assigned, left_out.assign(grid_id=None)])
    return assigned


@grids_group.command(
    "draw",
    help="划分网格 Draw grids: on files (--buildings --boundary) or on the database "
    "(--community/--street, a preview to apply).",
)
@click.option("--buildings", "buildings_file", type=click.Path(path_type=Path), help="楼栋文件 Buildings.")
@click.option(
    "--boundary",
    "boundary_file",
    type=click.Path(path_type=Path),
    help="边界文件 Parent boundary (without it: derived from the buildings and roads).",
)
@click.option(
    "--boundary-layer", help="边界图层 Layer of the boundary file (default: streets, or the first)."
)
@_grid_options
@click.option(
    "--units-field", help="单元数字段 Units per building: a building above the band is split by its units."
)
@click.option(
    "--scheduler",
    envvar="DASK_SCHEDULER_ADDRESS",
    help="Dask 调度器 Scheduler address (tcp://host:8786) for a boundary of several features, one task each; "
    "without it a large city runs on a local cluster, a small one in this process.",
)
def grids_draw(buildings_file, boundary_file, boundary_layer, units_field, scheduler, **shared) -> None:
    run = Shared(**shared)
    if run.on_database and units_field:
        fail("--units-field works on files: in the database a building row belongs to one grid", 2)
    if _previewed("draw", run, {"--buildings": buildings_file}):
        return
    parent = (boundary_file, boundary_layer, "streets")
    r = _run_partition(
        "划分 drawing",
        _city_drawer(scheduler),
        buildings_file,
        parent,
        run,
        barriers=True,
        units_field=units_field,
    )
    click.echo(
        f"已划分 {r['n_grids']} 个网格 / {r['n_grids']} grids: in band {r['in_band_share']:.0%}, "
        f"mean deviation {r['mean_abs_deviation']:.1%}, Polsby–Popper median {r['polsby_popper_median']:.2f}"
        + (f", boundary on roads {r['road_share']:.0%}" if r["road_share"] is not None else "")
        + f", 跨越主干道/铁路/水域 grids across a barrier {r['barrier_crossings']}"
    )
    for g in r["out_of_band"]:
        click.echo(f"  {g['id']}: {g['households']} 户 households — {g['reason']}")
    for u in r.get("split_buildings", []):
        click.echo(
            f"  楼栋 building {u['building']} 单元 units {u['unit_from']}–{u['unit_to']} → {u['grid_id']} "
            f"({u['households']} 户 households)"
        )


def _city_drawer(scheduler: str | None) -> Callable:
    """``draw_grids`` with each feature of the boundary a task, here or on Dask, with a progress bar."""

    def draw(buildings, boundary, roads, **options):
        from tqdm import tqdm

        from core.bulk_draw import draw_city

        with tqdm(total=len(buildings), unit="栋 bldg", desc="划分 drawing", disable=None) as bar:
            return draw_city(
                buildings,
                boundary,
                roads,
                scheduler=scheduler,
                announce=lambda line: click.echo(line, err=True),
                progress=bar.update,
                **options,
            )

    return draw


def _previewed(kind: str, run: Shared, files: dict[str, Path | None]) -> bool:
    """On the database: make a preview and say so (True). On files: check they are all named (False)."""
    if run.on_database:
        _db_preview(kind, run)
        return True
    if not (all(files.values()) and run.out):
        fail(f"say {', '.join(files)} and --out (files), or --community/--street (database)", 2)
    return False


def _db_preview(kind: str, run: Shared) -> None:
    """Compute a drawing or re-split on the database and store it as a preview (nothing changes yet)."""
    from core.errors import ServiceError
    from core.grids import make_preview, scope_communities

    try:
        with get_engine().begin() as conn:
            communities = scope_communities(conn, community=run.community, street=run.street)
            actor = f"cli:{os.environ.get('USER', 'unknown')}"
            # One community at a time: a street's twelve take many seconds.
            with stage_bar(len(communities), unit="community") as step:
                result = make_preview(
                    conn,
                    kind,
                    communities,
                    target=run.target,
                    tolerance=run.tolerance,
                    actor=actor,
                    progress=lambda c: step(
                        f"{'划分 drawing' if kind == 'draw' else '调整 re-splitting'} {c}"
                    ),
                )
    except ServiceError as exc:
        fail(f"{kind} failed: {exc.detail}", 1 if exc.status == 404 else 2)
    s = result["report"]["summary"]
    if run.out:
        Path(run.out).write_text(json.dumps(result["grids"], ensure_ascii=False), encoding="utf-8")
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
@click.option("--grids-layer", help="网格图层 Layer of the grids file (default: grids, or the first).")
@_grid_options
@click.option(
    "--mapping", type=click.Path(path_type=Path), help="对应表 CSV old grid → new grid, households moved."
)
def grids_resplit(buildings_file, grids_file, grids_layer, mapping, **shared) -> None:
    import pandas as pd

    from geo.partition import resplit_grids

    run = Shared(**shared)
    if _previewed("resplit", run, {"--buildings": buildings_file, "--grids": grids_file}):
        return
    parent = (grids_file, grids_layer, "grids")
    with stage_bar(3) as step:
        r = _run_partition("调整 re-split", resplit_grids, buildings_file, parent, run, step=step)
    if mapping:
        pd.DataFrame(r["mapping"]).to_csv(mapping, index=False)
    click.echo(
        f"{r['n_grids']} 个网格 grids, in band {r['in_band_share']:.0%}; 楼栋保持 buildings kept "
        f"{r['buildings_kept_share']:.0%}, 网格未变 grids unchanged {r['grids_unchanged_share']:.0%}, "
        f"moves {len(r['moves'])}"
    )
    if r["mended"]:
        click.echo(f"  原为多块、已合为一块 came in pieces, made whole: {', '.join(r['mended'])}")
    for note in r["unimproved"]:
        where = f"社区 community {note['community']}" if note["community"] else "全部 all grids"
        click.echo(
            f"  {where} 未改变 left as it was ({', '.join(note['grids'])} out of band): {note['reason']}"
        )


@grids_group.command("apply", help="应用预览 Make a preview the current grids, in one transaction.")
@click.argument("preview_id")
def grids_apply(preview_id) -> None:
    from core.errors import ServiceError
    from core.grids import apply_preview

    try:
        with get_engine().begin() as conn:
            r = apply_preview(conn, preview_id, actor=f"cli:{os.environ.get('USER', 'unknown')}")
    except ServiceError as exc:
        fail(f"未应用 not applied, nothing changed: {exc.detail}", 1)
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
    from core.errors import ServiceError
    from core.grids import grid_history

    try:
        with get_engine().connect() as conn:
            h = grid_history(conn, grid_id)
    except ServiceError as exc:
        fail(exc.detail, 1)
    click.echo(
        f"{h['id']} {h['name']} ({h['households']} 户 households): {_when(h['valid_from'])} – "
        f"{_when(h['valid_to']) or '至今 now'}"
    )
    for label, links in (("来自 came from", h["came_from"]), ("变为 became", h["became"])):
        for link in links:
            click.echo(
                f"  {label} {link['grid']} {link['name']}: {link['households']} 户 households "
                f"({link['share']:.0%}) on {_when(link['changed_at'])}"
            )


def _when(iso: str | None) -> str:
    """An API time (ISO, Beijing offset) as the CLI prints times: ``2026-12-02 22:49 +08:00``."""
    return beijing_text(datetime.fromisoformat(iso)) if iso else ""
