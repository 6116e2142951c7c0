"""`wangge outbox send` and `wangge outbox failures`: deliver queued messages (cron), list what failed."""

from __future__ import annotations

import json

import click

from api.cli.common import now_option, table
from store.engine import get_engine


@click.group("outbox", help="通知 Outbox: messages the events queued (SMS gateway, signed webhook).")
def outbox_group() -> None:
    pass


@outbox_group.command("send", help="发送 Deliver every due message once (cron; two at once share the work).")
@click.option("--now", "now_raw", help="当前时间 Pretend it is this ISO time (default: now).")
@click.option(
    "--limit", default=500, show_default=True, type=click.IntRange(1, 100_000), help="每批 At most this many."
)
def outbox_send(now_raw, limit) -> None:
    from core.outbox import send_due
    from geo.settings import get_settings

    with get_engine().begin() as conn:
        counts = send_due(conn, now=now_option(now_raw), settings=get_settings(), limit=limit)
    click.echo(
        f"已发送 sent: {counts['sent']}  待重试 retrying: {counts['retrying']}  已放弃 failed: {counts['failed']}"
    )


@outbox_group.command("failures", help="失败 Messages not delivered after a failure: retrying or given up.")
@click.option("--json", "as_json", is_flag=True, help="JSON 输出 Print JSON instead of a table.")
def outbox_failures(as_json) -> None:
    from core.outbox import messages

    with get_engine().connect() as conn:
        rows, total = messages(conn, None, failures=True, limit=1000)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1, default=str))
        return
    click.echo(f"未送达 undelivered: {total}")
    table(
        rows,
        [
            "id",
            "incident_id",
            "kind",
            "channel",
            "recipient",
            "status",
            "attempts",
            "next_attempt_at",
            "last_error",
        ],
    )
