"""`wangge export incidents|scores FILE`: cases and rankings as CSV (with a BOM), Excel, GeoPackage or
GeoJSON, filtered as the API's lists are; the operator sees everything, phones included."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from api.cli.common import fail, period_of

CASE_TABLES = ("incidents", "scores")
FILTERS = ("street", "community", "grid", "status", "category", "tier", "channel")


def export_cases(kind: str, file: Path, options: dict) -> None:
    """Write incidents (with their events) or the ranking of ``options['unit']`` over the period asked."""
    # Imported here: pandas and GDAL would slow every other command's start.
    from boundaries.tables import TableRefused, write_tables
    from core.exports import incident_sheets, score_sheets
    from core.incidents.views import IncidentQuery
    from store.engine import get_engine

    asked = period_of(options.get("since"), options.get("until"))
    with get_engine().connect() as conn:
        if kind == "incidents":
            filters = {k: tuple(v.split(",")) for k in FILTERS if (v := options.get(k))}
            sheets = incident_sheets(conn, None, IncidentQuery(filters, asked.since, asked.until))
        else:
            sheets = score_sheets(
                conn,
                options.get("unit") or "grid",
                since=asked.since,
                until=asked.until,
                now=datetime.now(UTC),
                scope=None,
            )
    try:
        n = write_tables(sheets, file)
    except TableRefused as exc:
        fail(str(exc), 1)
    click.echo(f"已导出 {n} 行 / exported {n} rows of {kind} ({asked.describe()}) to {file}")
