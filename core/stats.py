"""Service-level figures (issue 17): how many cases each category, grid, assignee, community or street had in
a period, how many are open or overdue now, and how long they took, as a median and a 90th percentile.

The rates in ``core.scores`` say whether deadlines were kept; these figures say how long the work took, so
an office sees a slow category or a grid worker whose cases wait. Over the incidents reported in
[from, to), merged ones never counted:
* ``reported``: the cases; ``accepted``: first accepted (ever); ``resolved``: resolved now (a case reopened
  and not yet resolved again is not);
* ``open``: not resolved, verified or closed now; ``overdue``: open and past its current deadline now
  (the list's ``overdue=true``); ``reopened``: reopened at least once; ``duban``: under supervision (督办);
* hours to accept: report → first acceptance; hours to resolve: report → the (last) resolution; each the
  median and the 90th percentile (``percentile_cont``, interpolated) of the cases that have the moment,
  null when none has.
Grouped by assignee, a case counts for whoever holds it now (a person, or a level's command centre).
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Connection

from core.errors import Invalid
from core.vocabulary import ASSIGNEE_LABELS
from store import stats as stored

GROUPINGS: tuple[str, ...] = stored.GROUPINGS
COUNTS = ("reported", "accepted", "resolved", "open", "overdue", "reopened", "duban")
HOURS = ("accept_median_h", "accept_p90_h", "resolve_median_h", "resolve_p90_h")
HEADERS = {
    "id": "编号 id",
    "name": "名称 name",
    "reported": "上报 reported",
    "accepted": "受理 accepted",
    "resolved": "办结 resolved",
    "open": "未办结 open",
    "overdue": "超时未办 overdue now",
    "reopened": "重办 reopened",
    "duban": "督办 supervised",
    "accept_median_h": "受理时长中位数 hours to accept, median",
    "accept_p90_h": "受理时长90分位 hours to accept, 90th pct",
    "resolve_median_h": "办结时长中位数 hours to resolve, median",
    "resolve_p90_h": "办结时长90分位 hours to resolve, 90th pct",
}


def _row(by: str, figures: dict) -> dict:
    name = figures["name"]
    if by == "assignee" and name is None:
        name = ASSIGNEE_LABELS.get(figures["kind"], figures["kind"])
    hours = {k: None if figures[k] is None else round(float(figures[k]), 2) for k in HOURS}
    return {"id": figures["group_id"], "name": name, **{k: figures[k] for k in COUNTS}, **hours}


def stats(
    conn: Connection,
    by: str,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    scope: tuple[str, str | None] | None = None,
) -> list[dict]:
    """One row per group with cases reported in the period, in id order; ``scope`` is an admin's area."""
    if by not in GROUPINGS:
        raise Invalid(f"by {by!r} is not one of {', '.join(GROUPINGS)}")
    rows = stored.group_figures(conn, by, since=since, until=until, now=now, scope=scope)
    return [_row(by, r) for r in rows]


def stat_sheets(
    conn: Connection,
    by: str,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    scope: tuple[str, str | None] | None,
) -> dict[str, pd.DataFrame]:
    """The figures as one sheet with Chinese headers (English beside), for CSV or Excel."""
    rows = stats(conn, by, since=since, until=until, now=now, scope=scope)
    return {"服务时效 stats": pd.DataFrame(rows, columns=list(HEADERS)).rename(columns=HEADERS)}
