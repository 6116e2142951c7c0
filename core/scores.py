"""The three rates and the score (seeds: response 10 %, completion 40 %, satisfaction 50 %).

Denominators, for the incidents reported in [from, to) and located in the unit:
* merged incidents never count (their original carries the case);
* response rate: incidents accepted, or whose response deadline has passed by ``now``;
  on time = first accepted at or before the category's response deadline;
* completion rate: incidents resolved, or whose completion deadline has passed by ``now``, or ever
  reopened; on time = resolved at or before the category's completion deadline and never reopened;
  escalation does not move this deadline: an escalated incident counts against the unit it was reported
  in unless it was still finished in time (only what a level cannot close goes up, and that is what the
  rate shows); a reopened incident (by the reporter, or by their rating of 1 or 2: 督办) was not truly
  finished, so it never counts as finished in time, however quickly it is resolved again;
* satisfaction rate: incidents rated by their reporter or by a call-back (回访, a role in no scored unit);
  satisfied = rating 4 or 5; unrated incidents, and staff ratings kept from before this rule, are left out;
  a case rated again after reopening counts its last rating (the bad one stands until then);
* ``reopened`` and ``duban`` count a unit's reopened and supervised cases beside the rates;
* a rate with an empty denominator is null, and so is the score: it is ranked after every scored unit.
An incident counts for its grid, community and street, for the grid worker of its grid when it
was reported, and for the street chief of its segment when its category is a road matter.

Beside the three rates, and never inside the score, each grid worker's row carries ``overdue_visits``:
the households of their grid whose visit plan (独居老人 every 7 days, 低保 every 30…) was overdue at the
end of the period (or now, if it has not ended). It is reported apart because the seeds score cases, not
visits, and a worker's register may be large or empty.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from core.errors import Invalid
from store import scores as stored

WEIGHTS = {"response_rate": 0.1, "completion_rate": 0.4, "satisfaction_rate": 0.5}
# What can be ranked: grid, community, street, worker, chief.
UNITS: tuple[str, ...] = stored.UNIT_KINDS
# The counts each ranking row carries, in the order they are shown.
COUNTS = (
    "incidents",
    "responded",
    "response_n",
    "completed",
    "completion_n",
    "satisfied",
    "rated",
    "citizen_satisfied",
    "citizen_rated",
    "callback_satisfied",
    "callback_rated",
    "reopened",
    "duban",
)


def score(
    response_rate: float | None, completion_rate: float | None, satisfaction_rate: float | None
) -> float | None:
    """0.1·R + 0.4·C + 0.5·S; undefined when any rate is."""
    if response_rate is None or completion_rate is None or satisfaction_rate is None:
        return None
    rates = (response_rate, completion_rate, satisfaction_rate)
    return sum(w * r for w, r in zip(WEIGHTS.values(), rates, strict=True))


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def _ranked_row(unit: str, counts: dict) -> dict:
    """One unit's counts, its three rates and its score."""
    rates = {
        "response_rate": _rate(counts["responded"], counts["response_n"]),
        "completion_rate": _rate(counts["completed"], counts["completion_n"]),
        "satisfaction_rate": _rate(counts["satisfied"], counts["rated"]),
    }
    return {
        "unit": unit,
        "id": counts["unit_id"],
        "name": counts["name"],
        **{k: counts[k] for k in COUNTS},
        **rates,
        "score": score(*rates.values()),
        # The satisfaction rate's two sources apart: reporters' own ratings and call-backs'.
        "citizen_satisfaction_rate": _rate(counts["citizen_satisfied"], counts["citizen_rated"]),
        "callback_satisfaction_rate": _rate(counts["callback_satisfied"], counts["callback_rated"]),
    }


def scores(
    conn: Connection,
    unit: str,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    scope: tuple[str, str | None] | None = None,
) -> list[dict]:
    """A ranking of every unit of a kind with incidents in the period, best score first (unscored last).

    ``scope`` = (street|community|grid, id) limits the incidents (a street admin sees their street).
    """
    if unit not in UNITS:
        raise Invalid(f"unit {unit!r} is not one of {', '.join(UNITS)}")
    counts = stored.unit_counts(conn, unit, since=since, until=until, now=now, scope=scope)
    out = [_ranked_row(unit, c) for c in counts]
    if unit == "worker":
        from store import residents as register  # the register's SQL (and geopandas) only for workers

        behind = register.overdue_counts(conn, min(until, now))
        for row in out:
            row["overdue_visits"] = behind.get(row["id"], 0)
    out.sort(key=lambda row: (row["score"] is None, -(row["score"] or 0.0), row["id"]))
    for rank, row in enumerate(out, start=1):
        row["rank"] = rank
    return out
