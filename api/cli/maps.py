"""`wangge assets` and `wangge map`: map libraries from npm, and map pages that open offline."""

from __future__ import annotations

from pathlib import Path

import click

from api.cli.common import fail
from core.errors import ServiceError
from core.vocabulary import MAP_KINDS, MEASURES
from store.engine import get_engine


@click.command(
    "assets", help="地图资源 Fetch Leaflet and plugins from npm into var/static/vendor, for offline maps."
)
def assets_cmd() -> None:
    from maps.assets import AssetError, install, vendor_dir

    try:
        written = install(progress=lambda name: click.echo(f"  已获取 fetched {name}"))
    except AssetError as exc:
        fail(f"地图资源安装失败 assets failed: {exc}")
    click.echo(f"地图资源就绪 / map assets ready in {vendor_dir()} ({len(written)} new)")


@click.command("map", help="导出地图 Write a map page (works offline: its libraries are copied beside it).")
@click.argument("kind", type=click.Choice(MAP_KINDS))
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
@click.option("--step", help="时间步 Heat map time slider step: day (default) or week.")
@click.option("--markers", help="标记数 Heat map: most recent reports drawn as markers (default 1000).")
@click.option("--preview", help="预览 Re-split map: the preview id to show.")
@click.option(
    "--street", help="街道 Coverage map: the street (default: the only one; period default 7 days)."
)
@click.option(
    "--measure",
    type=click.Choice(MEASURES),
    help="指标 Grid map: shade by households (default), incidents per 1,000 households, or score.",
)
def map_cmd(kind, out, base, **filters) -> None:
    from tqdm import tqdm

    from api.pages import render_map
    from maps.assets import AssetError, export_page
    from maps.basemaps import BaseMapError, base_map

    params = {{"since": "from", "until": "to"}.get(k, k): v for k, v in filters.items() if v}
    # A coverage page or a long heat period can take seconds: the bar (on a terminal) says which stage runs.
    with tqdm(total=2, desc="读取绘制 reading and drawing", unit="stage", disable=None, leave=False) as bar:
        try:
            chosen = base_map(base)
            with get_engine().connect() as conn:
                fmap = render_map(conn, kind, chosen, params)
            bar.set_description("写出 writing")
            bar.update(1)
            export_page(fmap.get_root().render(), out)
            bar.update(1)
        except (BaseMapError, AssetError, ServiceError) as exc:
            fail(f"地图导出失败 map failed: {exc}", 2)
    click.echo(f"地图已写入 / map written: {out} (底图 base: {chosen.label})")
