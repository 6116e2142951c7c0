"""`wangge db`: the embedded PostGIS cluster (or DATABASE_URL) and its migrations."""

from __future__ import annotations

import os
import sys

import click

from api.cli.common import fail
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
