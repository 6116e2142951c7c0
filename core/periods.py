"""Periods and times as people give them: one parser and one set of defaults for the API, the CLI and the
maps, so a ranking, a heat map and an Open311 list asked without dates all cover the same days.

A date or time without a zone is Beijing time (that is what people in the office type); everything is
compared and stored in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.errors import Invalid
from core.vocabulary import BEIJING, beijing_iso, beijing_text

# Incident views (lists over Open311, scores, heat, grid measures, hot-spot patrols): the last 90 days.
INCIDENT_DAYS = 90
# Patrol coverage and the joint-walk rule are read by the week.
PATROL_DAYS = 7
# The longest coverage period one request may ask for (a quarter).
PATROL_MAX_DAYS = 93


def parse_time(name: str, raw: str | None) -> datetime | None:
    """An ISO 8601 date or time (a naive one is Beijing time), in UTC; None when absent or empty."""
    if raw is None or not str(raw).strip():
        return None
    try:
        value = datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{name} {raw!r} is not an ISO 8601 date or time (e.g. 2026-11-01)") from None
    return (value if value.tzinfo else value.replace(tzinfo=BEIJING)).astimezone(UTC)


@dataclass(frozen=True)
class Period:
    """[since, until) in UTC."""

    since: datetime
    until: datetime

    @property
    def days(self) -> float:
        return (self.until - self.since).total_seconds() / 86400.0

    def describe(self) -> str:
        """For map legends and CLI headers: both ends in Beijing time with the offset."""
        return f"{beijing_text(self.since)} – {beijing_text(self.until)}"


def period(
    raw_from: str | datetime | None,
    raw_to: str | datetime | None,
    *,
    now: datetime,
    default_days: float = INCIDENT_DAYS,
    max_days: float | None = None,
) -> Period:
    """The period asked for: ``to`` defaults to now, ``from`` to ``default_days`` before ``to``."""
    until = _moment("to", raw_to) or now
    since = _moment("from", raw_from) or until - timedelta(days=default_days)
    if until <= since:
        raise Invalid(f"to ({beijing_iso(until)}) must be after from ({beijing_iso(since)}), not before it")
    if max_days is not None and until - since > timedelta(days=max_days):
        asked = Period(since, until)
        raise Invalid(f"a period may be at most {max_days:g} days; this one is {asked.days:g} days")
    return Period(since, until)


def _moment(name: str, raw: str | datetime | None) -> datetime | None:
    if isinstance(raw, datetime):
        return (raw if raw.tzinfo else raw.replace(tzinfo=BEIJING)).astimezone(UTC)
    return parse_time(name, raw)
