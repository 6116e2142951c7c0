"""What every `wangge` command shares: choices read from the vocabulary, periods with the API's defaults,
tables with times in Beijing time, and one way to fail."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import NoReturn

import click

from core.errors import ServiceError
from core.periods import Period, parse_time, period
from core.vocabulary import COORD_SYSTEMS, LAYERS, beijing_text

LAYER_CHOICE = click.Choice(list(LAYERS))
CRS_CHOICE = click.Choice(list(COORD_SYSTEMS))


def fail(message: str, code: int = 1) -> NoReturn:
    """Say what went wrong on stderr and exit with ``code`` (1: refused, 2: could not run)."""
    click.echo(message, err=True)
    sys.exit(code)


def now_option(raw: str | None) -> datetime:
    """``--now``: an ISO time (Beijing time when it has no zone), else the clock."""
    try:
        return parse_time("--now", raw) or datetime.now(UTC)
    except ServiceError as exc:
        raise click.BadParameter(exc.detail) from None


def period_of(since: str | None, until: str | None, **defaults: float) -> Period:
    """``--from``/``--to`` as a period, with the same defaults as the API (core.periods)."""
    try:
        return period(since, until, now=datetime.now(UTC), **defaults)
    except ServiceError as exc:
        raise click.BadParameter(exc.detail) from None


def report_options(command: Callable) -> Callable:
    """``--from``, ``--to`` and ``--json``, as the report commands (scores, stats) all read them."""
    command = click.option(
        "--json", "as_json", is_flag=True, help="JSON 输出 Print JSON instead of a table."
    )(command)
    command = click.option("--to", "until", help="止 Period end, ISO date (default: now).")(command)
    return click.option(
        "--from", "since", help="起 Period start, ISO date in Beijing time (default: 90 days before --to)."
    )(command)


def table(rows: list[dict], columns: list[str]) -> None:
    """A plain aligned table: numbers to 3 places, times in Beijing time with the offset."""
    widths = {c: max([len(c)] + [len(_cell(r.get(c))) for r in rows]) for c in columns}
    click.echo("  ".join(c.ljust(widths[c]) for c in columns))
    for r in rows:
        click.echo("  ".join(_cell(r.get(c)).ljust(widths[c]) for c in columns))


def _cell(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}"
    if isinstance(v, datetime):
        return beijing_text(v)
    return str(v)


@contextmanager
def stage_bar(total: int, unit: str = "stage") -> Iterator[Callable[[str], None]]:
    """A bar of ``total`` stages on a terminal (nothing when the output is not one); yields "this stage begins"."""
    from tqdm import tqdm

    with tqdm(total=total, unit=unit, disable=None, leave=False) as bar:
        started = False

        def step(label: str) -> None:
            nonlocal started
            bar.n += 1 if started else 0  # moved silently: the description below draws it once
            bar.set_description(label)
            started = True

        yield step
