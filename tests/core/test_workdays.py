"""The working-day calendar (issue 17): weekends and the official holidays off, 调休 Saturdays and Sundays
worked, in Beijing time; and completion deadlines counted in it when the office says so."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime

import pytest

from core.errors import Invalid
from core.vocabulary import BEIJING
from core.workdays import DEFAULT_FILE, calendar, completion_due, load
from geo.settings import Settings

SHIPPED = load(DEFAULT_FILE)


def bj(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING)


def test_across_a_weekend():
    friday = bj("2026-03-06 10:00")
    assert SHIPPED.add_workdays(friday, 1) == bj("2026-03-09 10:00")  # Monday
    assert SHIPPED.add_workdays(friday, 3) == bj("2026-03-11 10:00")
    assert SHIPPED.add_work_hours(bj("2026-03-06 20:00"), 12) == bj("2026-03-09 08:00")  # 4 h Fri, 8 h Mon
    # A report on a day off starts the clock at the next working day's midnight: the end of Monday.
    assert SHIPPED.add_workdays(bj("2026-03-07 10:00"), 1) == bj("2026-03-10 00:00")
    assert SHIPPED.add_work_hours(friday, 0) == friday


def test_across_national_day():
    # 2026: 1 to 7 October off; 2025: 国庆 and 中秋 together, 1 to 8 October.
    assert SHIPPED.add_workdays(bj("2026-09-30 10:00"), 1) == bj("2026-10-08 10:00")
    assert SHIPPED.add_workdays(bj("2025-09-30 10:00"), 1) == bj("2025-10-09 10:00")
    assert not any(SHIPPED.is_workday(bj(f"2026-10-0{d} 12:00").date()) for d in range(1, 8))
    assert SHIPPED.add_workdays(bj("2025-01-27 09:00"), 1) == bj("2025-02-05 09:00")  # 春节 2025


def test_adjusted_weekend_days_are_worked():
    # Friday 9 October 2026 + 1 working day: Saturday the 10th is worked (调休), so the deadline falls on it.
    assert SHIPPED.add_workdays(bj("2026-10-09 10:00"), 1) == bj("2026-10-10 10:00")
    # Sunday 20 September 2026 is worked: 12 working hours from Saturday noon end on Sunday at noon.
    assert SHIPPED.add_work_hours(bj("2026-09-19 12:00"), 12) == bj("2026-09-20 12:00")
    assert SHIPPED.is_workday(bj("2025-02-08 00:00").date()) and SHIPPED.is_workday(
        bj("2025-01-26 00:00").date()
    )
    assert not SHIPPED.is_workday(bj("2026-10-11 00:00").date())  # an ordinary Sunday


def test_the_setting_and_an_office_file(tmp_path):
    friday = bj("2026-03-06 10:00")
    assert completion_due(friday, 24, Settings()) == bj("2026-03-07 10:00")  # off by default: the clock
    on = dataclasses.replace(Settings(), workday_deadlines=True)
    assert completion_due(friday, 24, on) == bj("2026-03-09 10:00")
    own = tmp_path / "holidays.json"
    own.write_text(
        json.dumps(
            {"holidays": [{"name": "本地 local", "from": "2026-03-09", "to": "2026-03-09", "workdays": []}]}
        ),
        encoding="utf-8",
    )
    office = dataclasses.replace(on, holidays_file=own)
    assert completion_due(friday, 24, office) == bj("2026-03-10 10:00")
    assert calendar(office).add_workdays(bj("2026-10-09 10:00"), 1) == bj("2026-10-12 10:00")  # no 调休 here
    own.write_text(json.dumps({"holidays": [{"from": "2026-03-09"}]}), encoding="utf-8")
    with pytest.raises(Invalid, match="holiday file"):
        load(own)
    with pytest.raises(Invalid, match="cannot be read"):
        calendar(dataclasses.replace(on, holidays_file=tmp_path / "missing.json"))


def test_a_case_reported_on_friday_is_due_on_monday(world):
    """Reported Friday 08:00 (A01: respond in 30 min, finish in 24 h): the response is due at 08:30, the
    completion on Monday at 08:00; rated 2 on Friday at 11:00, reopened and due on Monday at 11:00."""
    world.app.config["SETTINGS"] = dataclasses.replace(world.app.config["SETTINGS"], workday_deadlines=True)
    place = world.places[0]
    citizen = world.user("张三", "citizen", phone="13812345678")
    worker = world.user("网格员", "grid_worker", person=place.worker_id)
    world.clock.advance(days=4)  # Friday 6 March 2026, 08:00
    inc = world.report(citizen, place, "A01").get_json()
    assert inc["deadlines"]["response_due"] == "2026-03-06T08:30:00+08:00"
    assert inc["deadlines"]["completion_due"] == "2026-03-09T08:00:00+08:00"
    for action in ("accept", "start", "resolve"):
        assert world.step(worker, inc["id"], action).status_code == 200
    world.clock.advance(hours=3)
    rated = world.step(citizen, inc["id"], "rate", rating=2).get_json()
    assert rated["status"] == "reopened" and rated["deadlines"]["due_at"] == "2026-03-09T11:00:00+08:00"
    # Escalated on Friday at 11:00 to the street (tier B: 72 h), it is due three working days later.
    other = world.report(citizen, place, "A02").get_json()
    escalated = world.step(world.street, other["id"], "escalate").get_json()
    assert (escalated["tier"], escalated["deadlines"]["due_at"]) == ("B", "2026-03-11T11:00:00+08:00")
