"""One period parser and one way to show time: a street office reads Beijing time, the database keeps UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import Invalid
from core.periods import INCIDENT_DAYS, PATROL_DAYS, period
from core.vocabulary import beijing_iso, beijing_text, mask_phone

NOW = datetime(2026, 12, 2, 14, 49, tzinfo=UTC)  # 22:49 in Beijing


def test_times_are_shown_in_beijing_time_with_the_offset():
    assert beijing_iso(NOW) == "2026-12-02T22:49:00+08:00"
    assert beijing_text(NOW) == "2026-12-02 22:49 +08:00"
    # A naive time is what the database hands back in UTC: the same instant.
    assert beijing_iso(NOW.replace(tzinfo=None)) == "2026-12-02T22:49:00+08:00"
    assert datetime.fromisoformat(beijing_iso(NOW)) == NOW
    assert beijing_iso(None) is None and beijing_text(None) == ""


def test_a_date_without_a_zone_is_a_beijing_date():
    asked = period("2026-11-01", "2026-12-01", now=NOW)
    assert asked.since == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert asked.until == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert asked.describe() == "2026-11-01 00:00 +08:00 – 2026-12-01 00:00 +08:00"
    # An explicit offset is kept as given.
    assert period("2026-11-01T00:00+00:00", None, now=NOW).since == datetime(2026, 11, 1, tzinfo=UTC)


def test_the_defaults_are_the_same_everywhere():
    incidents = period(None, None, now=NOW)
    assert (
        incidents.until == NOW
        and incidents.since == NOW - timedelta(days=INCIDENT_DAYS)
        and INCIDENT_DAYS == 90
    )
    patrols = period(None, None, now=NOW, default_days=PATROL_DAYS)
    assert patrols.since == NOW - timedelta(days=7)
    assert period("2026-11-20", None, now=NOW).until == NOW


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        ("2026-12-01", "2026-11-01", "must be after from"),
        ("yesterday", None, "'yesterday' is not an ISO 8601 date"),
        ("2026-01-01", "2026-12-01", "at most 93 days"),
    ],
)
def test_a_bad_period_is_refused_with_a_400_that_names_the_value(since, until, message):
    with pytest.raises(Invalid, match=message) as refused:
        period(since, until, now=NOW, max_days=93)
    assert refused.value.status == 400


def test_phones_are_masked_enough_to_recognise_not_to_harvest():
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("12345") == "*****"
    assert mask_phone(None) is None
