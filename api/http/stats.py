"""/api/v1/stats: service-level figures (counts, hours to accept and to resolve) for admins, as JSON or a
table to download. Thin: parse, call ``core.stats``, shape."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from api.http.context import connection, now, principal
from api.http.openapi import contract
from boundaries.tables import TABLE_TYPES, table_bytes
from core.access import require_admin
from core.errors import NotFound
from core.inputs import StatsQuery, parse_query
from core.periods import period
from core.stats import stat_sheets, stats
from core.vocabulary import beijing_iso

bp = Blueprint("stats", __name__, url_prefix="/api/v1")
TAG = "服务时效 stats"


@bp.get("/stats.<fmt>")
@contract(TAG, query=StatsQuery)
def stats_table(fmt: str):
    """The figures as CSV (with a byte-order mark) or an Excel workbook."""
    p = principal()
    require_admin(p, "service-level figures")
    query = parse_query(StatsQuery, request.args)
    if fmt not in TABLE_TYPES:
        raise NotFound(f"no table format {fmt!r}: csv or xlsx")
    asked = period(query.from_, query.to, now=now())
    sheets = stat_sheets(
        connection(), query.by, since=asked.since, until=asked.until, now=now(), scope=p.area
    )
    response = Response(table_bytes(sheets, fmt), content_type=TABLE_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="stats-{query.by}.{fmt}"'
    return response


@bp.get("/stats")
@contract(TAG, query=StatsQuery)
def service_levels():
    """Counts and hours to accept and to resolve per category, grid, assignee, community or street."""
    p = principal()
    require_admin(p, "service-level figures")
    query = parse_query(StatsQuery, request.args)
    asked = period(query.from_, query.to, now=now())
    rows = stats(connection(), query.by, since=asked.since, until=asked.until, now=now(), scope=p.area)
    return jsonify(
        {"by": query.by, "from": beijing_iso(asked.since), "to": beijing_iso(asked.until), "groups": rows}
    )
