"""The counts behind the three rates (response, completion, satisfaction), per unit, in one query.

What counts is written in ``core.scores``; here it is SQL. Each kind of unit is a column of the incident
(or, for a street chief, of a road-related incident only) and a table its names are read from.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, text

# Each kind of unit: the table its names are read from, and the incident's column naming it (a street
# chief answers only for road-related incidents).
_TABLES = {
    "grid": "grids",
    "community": "communities",
    "street": "streets",
    "worker": "people",
    "chief": "people",
}
_COLUMNS = {
    "grid": "i.grid_id",
    "community": "i.community_id",
    "street": "i.street_id",
    "worker": "i.worker_id",
}
_CHIEF = "CASE WHEN c.road_related THEN i.chief_id END"
UNIT_KINDS: tuple[str, ...] = tuple(_TABLES)
# An admin's area limits the incidents: (street|community|grid, id).
Scope = tuple[str, str | None] | None


def unit_counts(
    conn: Connection, unit: str, *, since: datetime, until: datetime, now: datetime, scope: Scope = None
) -> list[dict]:
    """Per unit with incidents reported in [since, until) (merged ones never count): unit_id, name,
    incidents, and each rate's numerator and denominator as of ``now``."""
    key, names = _CHIEF if unit == "chief" else _COLUMNS[unit], _TABLES[unit]
    where = ""
    params: dict[str, object] = {"since": since, "until": until, "now": now}
    if scope is not None:
        where = f" AND {_COLUMNS[scope[0]]} = :scope"
        params["scope"] = scope[1]
    # key, names and the scope's column come from the fixed tables above; values are bound.
    sql = text(f"""
        WITH u AS (
          SELECT {key} AS unit_id,
            count(*) FILTER (WHERE i.accepted_at IS NOT NULL OR i.response_due <= :now) AS response_n,
            count(*) FILTER (WHERE i.accepted_at <= i.response_due) AS responded,
            count(*) FILTER (
              WHERE i.resolved_at IS NOT NULL OR i.completion_due <= :now OR i.reopens > 0) AS completion_n,
            count(*) FILTER (WHERE i.resolved_at <= i.completion_due AND i.reopens = 0) AS completed,
            count(*) FILTER (WHERE i.reopens > 0) AS reopened,
            count(*) FILTER (WHERE i.duban) AS duban,
            count(*) FILTER (WHERE i.rated_by IN ('reporter', 'callback')) AS rated,
            count(*) FILTER (WHERE i.rated_by IN ('reporter', 'callback') AND i.rating >= 4) AS satisfied,
            count(*) FILTER (WHERE i.rated_by = 'reporter') AS citizen_rated,
            count(*) FILTER (WHERE i.rated_by = 'reporter' AND i.rating >= 4) AS citizen_satisfied,
            count(*) FILTER (WHERE i.rated_by = 'callback') AS callback_rated,
            count(*) FILTER (WHERE i.rated_by = 'callback' AND i.rating >= 4) AS callback_satisfied,
            count(*) AS incidents
          FROM incidents i JOIN categories c ON c.code = i.category_code
          WHERE i.status <> 'merged' AND i.reported_at >= :since AND i.reported_at < :until{where}
          GROUP BY 1)
        SELECT u.*, n.name FROM u LEFT JOIN {names} n ON n.id = u.unit_id
        WHERE u.unit_id IS NOT NULL""")  # noqa: S608
    return [dict(r) for r in conn.execute(sql, params).mappings()]
