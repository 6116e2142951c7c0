"""`wangge locate`: bulk locating of a points file."""

from __future__ import annotations

from pathlib import Path

import click

from api.cli.common import CRS_CHOICE, fail
from api.cli.layers import hierarchy_layers


@click.command(
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

    from boundaries.points import PointsError, read_points, write_points
    from core.locating import locate_frame
    from geo.locate import Hierarchy
    from geo.settings import get_settings

    layers = hierarchy_layers(hierarchy)
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
        fail(f"定位失败 locate failed: {exc}", 2)
    counts = result["status"].value_counts()
    click.echo(f"已写入 / written {out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
