"""`wangge locate`: bulk locating of a points file, in this process or on a Dask cluster."""

from __future__ import annotations

from pathlib import Path

import click

from api.cli.common import CRS_CHOICE, fail
from api.cli.layers import hierarchy_layers

SPLITTABLE = (".parquet", ".csv")


@click.command(
    "locate",
    help="批量定位 Locate a points file (CSV, GeoJSON, GeoParquet) or a directory of Parquet/CSV parts: "
    "street, community, grid, building, segment.",
)
@click.argument("points", type=click.Path(path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="输出 Same format as the input; a directory of parts gives a directory of Parquet parts.",
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
@click.option(
    "--scheduler",
    envvar="DASK_SCHEDULER_ADDRESS",
    help="Dask 调度器 Scheduler address (tcp://host:8786); without it a large input runs on a local "
    "cluster, a small one in this process.",
)
def locate_cmd(points, out, hierarchy, crs, lon_field, lat_field, scheduler) -> None:
    from boundaries.point_parts import plan_parts
    from boundaries.points import PointsError
    from core.bulk_locate import use_cluster
    from geo.settings import get_settings

    layers = hierarchy_layers(hierarchy)
    options = {"crs": crs, "lon_field": lon_field, "lat_field": lat_field}
    try:
        splittable = points.is_dir() or (
            points.suffix.lower() in SPLITTABLE and out.suffix.lower() in SPLITTABLE
        )
        if scheduler and not splittable:
            raise PointsError(
                f"分布式定位只读写 Parquet 和 CSV distributed locate reads and writes .parquet and .csv, not {points.name}"
            )
        parts = plan_parts(points, out, get_settings().locate_part_points) if splittable else []
        if points.is_dir() or (parts and use_cluster(sum(p.rows for p in parts), scheduler)):
            counts = _in_parts(layers, parts, out, scheduler, options)
        else:
            counts = _in_process(layers, points, out, options)
    except PointsError as exc:
        fail(f"定位失败 locate failed: {exc}", 2)
    click.echo(f"已写入 / written {out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


def _in_process(layers: dict, points: Path, out: Path, options: dict) -> dict:
    from tqdm import tqdm

    from boundaries.points import read_points, write_points
    from core.locating import locate_frame
    from geo.locate import Hierarchy
    from geo.settings import get_settings

    frame, lon, lat = read_points(points, options["lon_field"], options["lat_field"])
    with tqdm(total=len(lon), unit="pt", desc="定位 locating", disable=None) as bar:
        result = locate_frame(
            Hierarchy.from_layers(layers),
            frame,
            lon,
            lat,
            crs=options["crs"],
            segment_search_m=get_settings().segment_search_m,
            progress=bar.update,
        )
    write_points(result, out)
    return dict(result["status"].value_counts())


def _in_parts(layers: dict, parts: list, out: Path, scheduler: str | None, options: dict) -> dict:
    from tqdm import tqdm

    from boundaries.point_parts import assemble, locate_part_file
    from core.bulk_locate import locate_parts
    from geo.locate import Hierarchy

    weights = [p.rows for p in parts]
    with tqdm(total=sum(weights), unit="pt", desc="定位 locating", disable=None) as bar:
        counts = locate_parts(
            Hierarchy.from_layers(layers),
            locate_part_file,
            parts,
            weights=weights,
            scheduler=scheduler,
            announce=lambda line: click.echo(line, err=True),
            progress=bar.update,
            **options,
        )
    assemble(parts, out)
    counts.pop("rows", None)
    return dict(counts)
