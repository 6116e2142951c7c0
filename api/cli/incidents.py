"""`wangge incidents tick`, `wangge scores` and `wangge stats`: the clock's sweep, the three-rate ranking and
the service-level figures."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from api.cli.common import now_option, period_of, report_options, table
from core.scores import UNITS
from store.engine import get_engine
from store.stats import GROUPINGS


@click.group("incidents", help="事件 Incidents: the clock's sweep.")
def incidents_group() -> None:
    pass


@incidents_group.command(
    "tick",
    help="超时升级 Escalate every open incident past its deadline, and remind the assignees of those due "
    "within 30 minutes (cron; safe twice at once).",
)
@click.option("--now", "now_raw", help="当前时间 Pretend it is this ISO time (default: now).")
def incidents_tick(now_raw) -> None:
    from core.incidents.lifecycle import tick
    from core.outbox import warn_due_soon
    from geo.settings import get_settings
    from store.hierarchy import metric_epsg

    now, settings = now_option(now_raw), get_settings()
    with get_engine().begin() as conn:
        escalated = tick(conn, now=now, settings=settings, srid=metric_epsg(conn))
        warned = warn_due_soon(conn, now=now, settings=settings)
    click.echo(
        f"已升级 / escalated: {len(escalated)}"
        + (
            f" ({', '.join(map(str, escalated[:20]))}{' …' if len(escalated) > 20 else ''})"
            if escalated
            else ""
        )
        + f"  即将到期提醒 / reminded: {len(warned)}"
    )


# -- scores --------------------------------------------------------------------------------------
@click.command(
    "scores", help="三率排名 Rank grids, workers, chiefs, communities or streets by the three-rate score."
)
@click.option(
    "--unit",
    type=click.Choice(list(UNITS)),
    default="grid",
    show_default=True,
    help="单位 What to rank.",
)
@report_options
def scores_cmd(unit, since, until, as_json) -> None:
    from core.scores import scores

    asked = period_of(since, until)
    with get_engine().connect() as conn:
        rows = scores(conn, unit, since=asked.since, until=asked.until, now=datetime.now(UTC))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    click.echo(f"{unit} 排名 ranking {asked.describe()}  (score = 0.1·响应率 + 0.4·办结率 + 0.5·满意率)")
    table(
        rows,
        ["rank", "id", "name", "incidents", "response_rate", "completion_rate", "satisfaction_rate", "score"],
    )


# -- stats ---------------------------------------------------------------------------------------
@click.command(
    "stats",
    help="服务时效 Counts, open and overdue cases, hours to accept and to resolve (median, 90th percentile) "
    "per category, grid, assignee, community or street.",
)
@click.option(
    "--by",
    type=click.Choice(list(GROUPINGS)),
    default="category",
    show_default=True,
    help="分组 How to group the cases.",
)
@report_options
def stats_cmd(by, since, until, as_json) -> None:
    from core.stats import COUNTS, HOURS, stats

    asked = period_of(since, until)
    with get_engine().connect() as conn:
        rows = stats(conn, by, since=asked.since, until=asked.until, now=datetime.now(UTC))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    click.echo(f"按 {by} 服务时效 service levels by {by} {asked.describe()}  (小时 hours)")
    table(rows, ["id", "name", *COUNTS, *HOURS])
