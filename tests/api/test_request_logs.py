"""Request logs: one JSON line per request, with the id the answer carries in ``X-Request-Id``, who asked
and how it ended; never a phone, an ID-card number or a description, not even when the server fails."""

from __future__ import annotations

import json
import logging
import re

import pytest

from tests.workflow import World

PHONE = "13912345678"
ID_CARD = "210102198001011234"
DESCRIPTION = f"3单元502王奶奶独居，身份证{ID_CARD}"
SECRETS = (PHONE, ID_CARD, "王奶奶", "独居")


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "wangge.request"]


def assert_no_secrets(caplog: pytest.LogCaptureFixture) -> None:
    everything = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert [s for s in SECRETS if s in everything] == []


def test_a_report_is_logged_in_one_line_without_the_reporters_phone_or_words(world: World, logs):
    citizen = world.user("王奶奶的邻居", "citizen", phone=PHONE)
    place = world.places[0]
    answer = world.client.post(
        f"/api/v1/incidents?phone={PHONE}",
        json={
            "lon": place.lon,
            "lat": place.lat,
            "category": "A09",
            "description": DESCRIPTION,
            "reporter": {"name": "王奶奶", "phone": PHONE},
        },
        headers={"Authorization": f"Bearer {citizen}", "X-Request-Id": "app-7f3a.42"},
    )
    assert answer.status_code == 201, answer.get_json()
    assert answer.headers["X-Request-Id"] == "app-7f3a.42"
    (line,) = request_lines(logs)
    assert line["request_id"] == "app-7f3a.42"
    assert (line["method"], line["path"], line["status"], line["role"]) == (
        "POST",
        "/api/v1/incidents",
        201,
        "citizen",
    )
    assert isinstance(line["token_id"], int) and line["duration_ms"] >= 0
    assert_no_secrets(logs)


def test_a_refused_report_leaves_no_trace_of_what_it_carried(world: World, logs):
    citizen = world.user("居民", "citizen", phone=PHONE)
    answer = world.post(
        "/api/v1/incidents",
        citizen,
        {"lon": "东经", "lat": PHONE, "category": "A09", "description": DESCRIPTION},
    )
    assert answer.status_code == 400
    (line,) = request_lines(logs)
    assert (line["status"], line["request_id"]) == (400, answer.headers["X-Request-Id"])
    assert_no_secrets(logs)


@pytest.mark.parametrize("sent", ["", "has space", "x" * 65, 'x"}, {"status": 200', "<script>", "编号1"])
def test_a_request_id_that_is_not_a_short_plain_token_is_replaced(world: World, logs, sent: str):
    answer = world.client.get("/api/v1/health/live", headers={"X-Request-Id": sent} if sent else {})
    given = answer.headers["X-Request-Id"]
    assert given != sent and re.fullmatch(r"[0-9a-f]{32}", given)
    assert [line["request_id"] for line in request_lines(logs)] == [given]


def test_a_server_error_is_logged_without_the_message_that_quotes_the_caller(world: World, logs):
    @world.app.post("/api/v1/test-only/fail")
    def fail():  # an unforeseen error whose message quotes what the caller sent
        raise ValueError(f"cannot read {PHONE}: {DESCRIPTION}")

    answer = world.post(
        "/api/v1/test-only/fail", world.district, {"phone": PHONE, "description": DESCRIPTION}
    )
    assert answer.status_code == 500
    assert answer.mimetype == "application/problem+json"
    assert PHONE not in answer.get_data(as_text=True)
    errors = [r for r in logs.records if r.levelno >= logging.ERROR]
    assert errors and "ValueError" in errors[0].getMessage()  # the failure itself is logged, with its stack
    assert answer.headers["X-Request-Id"] in errors[0].getMessage()
    assert_no_secrets(logs)
