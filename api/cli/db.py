"""`wangge db`: the embedded PostGIS cluster (or DATABASE_URL) and its migrations."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from api.cli.common import fail
from store.backup import BackupError, backup, restore
from store.cluster import ClusterError, EmbeddedCluster
from store.engine import database_url, get_engine
from store.migrate import upgrade


@click.group("db", help="数据库 Database: the embedded PostGIS cluster (or DATABASE_URL) and migrations.")
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
        fail(str(exc))
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


@db_group.command("backup", help="备份数据库 Back the whole database up to FILE (pg_dump custom format).")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def db_backup(file: Path) -> None:
    try:
        size = backup(database_url(), file)
    except (BackupError, ClusterError) as exc:
        fail(str(exc))
    click.echo(f"已备份 / backed up to {file} ({size / 1e6:.1f} MB)")


@db_group.command("restore", help="恢复数据库 Restore FILE (from `wangge db backup`) into an empty database.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--force",
    is_flag=True,
    help="数据库非空也恢复 Replace what the backup holds even if the database is not empty.",
)
def db_restore(file: Path, force: bool) -> None:
    try:
        tables = restore(database_url(), file, force=force)
    except (BackupError, ClusterError) as exc:
        fail(str(exc))
    click.echo(f"已恢复 / restored {len(tables)} tables from {file}")
