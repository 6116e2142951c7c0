"""The three rates and the score (seeds: response 10 %, completion 40 %, satisfaction 50 %).

Denominators, for the incidents reported in [from, to) and located in the unit:
* merged incidents never count (their original carries the case);
* response rate: incidents accepted, or whose response deadline has passed by ``now``;
  on time = first accepted at or before the category's response deadline;
* completion rate: incidents resolved, or whose completion deadline has passed by ``now``;
  on time = resolved at or before the category's completion deadline; escalation does not move
  this deadline: an escalated incident counts against the unit it was reported in unless it was
  still finished in time (only what a level cannot close goes up, and that is what the rate shows);
* satisfaction rate: rated incidents; satisfied = rating 4 or 5; unrated incidents are left out;
* a rate with an empty denominator is null, and so is the score: it is ranked after every scored unit.
An incident counts for its grid, community and street, for the grid worker of its grid when it
was reported, and for the street chief of its segment when its category is a road matter.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, text

WEIGHTS = {"response_rate": 0.1, "completion_rate": 0.4, "satisfaction_rate": 0.5}
UNITS = {
    "grid": ("i.grid_id", "SELECT id, name FROM grids"),
    "community": ("i.community_id", "SELECT id, name FROM communities"),
    "street": ("i.street_id", "SELECT id, name FROM streets"),
    "worker": ("i.worker_id", "SELECT id, name FROM people"),
    "chief": ("CASE WHEN c.road_related THEN i.chief_id END", "SELECT id, name FROM people"),
}


def score(
    response_rate: float | None, completion_rate: float | None, satisfaction_rate: float | None
) -> float | None:
    """0.1·R + 0.4·C + 0.5·S; undefined when any rate is."""
    rates = (response_rate, completion_rate, satisfaction_rate)
    if any(r is None for r in rates):
        return None
    return sum(w * r for w, r in zip(WEIGHTS.values(), rates, strict=True))


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def scores(
    conn: Connection,
    unit: str,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    scope: tuple[str, str] | None = None,
) -> list[dict]:
    """A ranking of every unit of a kind with incidents in the period, best score first.

    ``scope`` = (column, id) limits the incidents (a street admin sees their street).
    """
    if unit not in UNITS:
        raise ValueError(f"unit {unit!r} is not one of {', '.join(UNITS)}")
    key, names = UNITS[unit]
    where = ""
    params = {"since": since, "until": until, "now": now}
    if scope is not None:
        column = {"street": "i.street_id", "community": "i.community_id", "grid": "i.grid_id"}[scope[0]]
        where = f" AND {column} = :scope"
        params["scope"] = scope[1]
    # key, names and column come from the fixed tables above; values are bound.
    sql = text(f"""
        WITH u AS (
          SELECT {key} AS unit_id,
            count(*) FILTER (WHERE i.accepted_at IS NOT NULL OR i.response_due <= :now) AS response_n,
            count(*) FILTER (WHERE i.accepted_at <= i.response_due) AS responded,
            count(*) FILTER (WHERE i.resolved_at IS NOT NULL OR i.completion_due <= :now) AS completion_n,
            count(*) FILTER (WHERE i.resolved_at <= i.completion_due) AS completed,
            count(*) FILTER (WHERE i.rating IS NOT NULL) AS rated,
            count(*) FILTER (WHERE i.rating >= 4) AS satisfied,
            count(*) AS incidents
          FROM incidents i JOIN categories c ON c.code = i.category_code
          WHERE i.status <> 'merged' AND i.reported_at >= :since AND i.reported_at < :until{where}
          GROUP BY 1)
        SELECT u.*, n.name FROM u LEFT JOIN ({names}) n ON n.id = u.unit_id
        WHERE u.unit_id IS NOT NULL""")  # noqa: S608
    out = []
    for r in conn.execute(sql, params).mappings():
        rates = {
            "response_rate": _rate(r["responded"], r["response_n"]),
            "completion_rate": _rate(r["completed"], r["completion_n"]),
            "satisfaction_rate": _rate(r["satisfied"], r["rated"]),
        }
        out.append(
            {
                "unit": unit,
                "id": r["unit_id"],
                "name": r["name"],
                "incidents": r["incidents"],
                "responded": r["responded"],
                "response_n": r["response_n"],
                "completed": r["completed"],
                "completion_n": r["completion_n"],
                "satisfied": r["satisfied"],
                "rated": r["rated"],
                **rates,
                "score": score(*rates.values()),
            }
        )
    out.sort(key=lambda row: (row["score"] is None, -(row["score"] or 0.0), row["id"]))
    for rank, row in enumerate(out, start=1):
        row["rank"] = rank
    return out
