"""The working-day calendar (工作日): weekends and the official holidays off, the adjusted weekend days (调休)
worked, in Beijing time, so a deadline "in 3 working days" skips 国庆 and counts the Saturday worked after it.

The rule: a deadline's clock runs only on working days. Time on a weekend or holiday does not count, whole
day by whole day (Beijing midnight to midnight); so 24 working hours from Friday 10:00 end on Monday 10:00,
and from Saturday 10:00 (a day off) they end on Tuesday 00:00, the end of Monday. N working days are 24 × N
working hours. The shipped list (``core/data/holidays.json``, 2025 and 2026) may be replaced by an office's
own file (``WANGGE_HOLIDAYS_FILE``); a date it does not list follows the week (Monday to Friday work).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from core.errors import Invalid
from core.vocabulary import BEIJING
from geo.settings import Settings

DEFAULT_FILE = Path(__file__).with_name("data") / "holidays.json"
DAY = timedelta(days=1)
# The longest a deadline may run: beyond it the calendar is surely wrong (a year of days off, say).
_MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class WorkCalendar:
    """Days off beyond the weekend, and weekend days worked (调休)."""

    days_off: frozenset[date]
    days_worked: frozenset[date]

    def is_workday(self, day: date) -> bool:
        if day in self.days_worked:
            return True
        return day.weekday() < 5 and day not in self.days_off

    def add_work_hours(self, start: datetime, hours: float) -> datetime:
        """``start`` plus ``hours`` of time that falls on working days (Beijing), in UTC."""
        if hours < 0:
            raise ValueError("hours must not be negative")
        local = start.astimezone(BEIJING)
        day, left = local.date(), timedelta(hours=hours)
        at = local
        for _ in range(_MAX_DAYS):
            if self.is_workday(day):
                end_of_day = datetime.combine(day + DAY, time(), BEIJING)
                if at + left <= end_of_day:
                    return (at + left).astimezone(UTC)
                left -= end_of_day - at
            day += DAY
            at = datetime.combine(day, time(), BEIJING)
        raise Invalid(f"no end to {hours:g} working hours within {_MAX_DAYS} days: check the holiday file")

    def add_workdays(self, start: datetime, days: int) -> datetime:
        """``start`` plus ``days`` working days: the same time of day on a working day (see the rule above)."""
        return self.add_work_hours(start, 24 * days)


def load(path: Path) -> WorkCalendar:
    """A holiday file read and checked; a bad one is refused naming the entry."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        off: set[date] = set()
        worked: set[date] = set()
        for entry in document["holidays"]:
            first, last = date.fromisoformat(entry["from"]), date.fromisoformat(entry["to"])
            if last < first or (last - first).days > 31:
                raise ValueError(
                    f"{entry.get('name')}: {first} to {last} is not a holiday of at most a month"
                )
            off.update(first + DAY * i for i in range((last - first).days + 1))
            worked.update(date.fromisoformat(d) for d in entry.get("workdays", []))
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise Invalid(f"节假日文件无效 holiday file {path} is not usable: {exc}") from None
    return WorkCalendar(frozenset(off), frozenset(worked - off))


_CACHE: dict[tuple[Path, float], WorkCalendar] = {}


def calendar(settings: Settings) -> WorkCalendar:
    """The office's calendar: its own file if it names one, else the shipped list; read again when changed."""
    path = settings.holidays_file or DEFAULT_FILE
    try:
        key = (path, path.stat().st_mtime)
    except OSError as exc:
        raise Invalid(f"节假日文件无法读取 holiday file {path} cannot be read: {exc}") from None
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = load(path)
    return _CACHE[key]


def completion_due(start: datetime, hours: float, settings: Settings) -> datetime:
    """A completion deadline ``hours`` after ``start``: on the clock, or in working time when the office
    counts working days (``WANGGE_WORKDAY_DEADLINES``)."""
    if not settings.workday_deadlines:
        return start + timedelta(hours=hours)
    return calendar(settings).add_work_hours(start, hours)
