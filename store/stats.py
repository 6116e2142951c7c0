"""Service-level figures per group in one query: counts, and the median and 90th percentile of the hours to
accept and to resolve, computed by PostgreSQL (``percentile_cont``) so a year of cases never leaves the
database. What each figure means is written in ``core.stats``; here it is SQL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, text

# Each grouping: the expression naming the group, and how its name is found.
_KEYS = {
    "category": "i.category_code",
    "grid": "i.grid_id",
    "community": "i.community_id",
    "street": "i.street_id",
    # The current holder: a person by id, a command centre by its level (and area, when it has one).
    "assignee": "i.assignee_kind || COALESCE(':' || i.assignee_id, '')",
}
_NAMES = {
    "category": "LEFT JOIN categories n ON n.code = g.group_id",
    "grid": "LEFT JOIN grids n ON n.id = g.group_id",
    "community": "LEFT JOIN communities n ON n.id = g.group_id",
    "street": "LEFT JOIN streets n ON n.id = g.group_id",
    "assignee": """LEFT JOIN LATERAL (
        SELECT COALESCE(
          (SELECT p.name FROM people p WHERE g.kind = 'person' AND p.id = g.holder),
          (SELECT s.name FROM streets s WHERE g.kind = 'street' AND s.id = g.holder),
          (SELECT c.name FROM communities c WHERE g.kind = 'community' AND c.id = g.holder)) AS name) n ON true""",
}
_NAME = {"category": "n.name_zh"}
_AREA = {"street": "i.street_id", "community": "i.community_id", "grid": "i.grid_id"}
GROUPINGS: tuple[str, ...] = tuple(_KEYS)
# Hours from the report to a moment, for percentile_cont.
_HOURS = "extract(epoch FROM {moment} - i.reported_at) / 3600.0"


def _percentiles(name: str, moment: str) -> str:
    hours = _HOURS.format(moment=moment)
    return ",\n".join(
        f"percentile_cont({q}) WITHIN GROUP (ORDER BY {hours}) FILTER (WHERE {moment} IS NOT NULL) AS {name}_{label}"
        for q, label in ((0.5, "median_h"), (0.9, "p90_h"))
    )


def group_figures(
    conn: Connection,
    by: str,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    scope: tuple[str, str | None] | None = None,
) -> list[dict]:
    """Per group with incidents reported in [since, until) (merged ones never count), in id order."""
    params: dict[str, object] = {"since": since, "until": until, "now": now}
    where = ""
    if scope is not None:
        where = f" AND {_AREA[scope[0]]} = :scope"
        params["scope"] = scope[1]
    # Keys, joins and the scope's column come from the fixed tables above; values are bound.
    sql = text(f"""
        WITH g AS (
          SELECT {_KEYS[by]} AS group_id, min(i.assignee_kind) AS kind, min(i.assignee_id) AS holder,
            count(*) AS reported,
            count(*) FILTER (WHERE i.accepted_at IS NOT NULL) AS accepted,
            count(*) FILTER (WHERE i.resolved_at IS NOT NULL) AS resolved,
            count(*) FILTER (WHERE i.status NOT IN ('resolved', 'verified', 'closed')) AS open,
            count(*) FILTER (
              WHERE i.status NOT IN ('resolved', 'verified', 'closed') AND i.due_at < :now) AS overdue,
            count(*) FILTER (WHERE i.reopens > 0) AS reopened,
            count(*) FILTER (WHERE i.duban) AS duban,
            {_percentiles("accept", "i.accepted_at")},
            {_percentiles("resolve", "i.resolved_at")}
          FROM incidents i
          WHERE i.status <> 'merged' AND i.reported_at >= :since AND i.reported_at < :until{where}
          GROUP BY 1)
        SELECT g.*, {_NAME.get(by, "n.name")} AS name FROM g {_NAMES[by]}
        WHERE g.group_id IS NOT NULL ORDER BY g.group_id""")  # noqa: S608
    return [dict(r) for r in conn.execute(sql, params).mappings()]
