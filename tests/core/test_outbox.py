"""The outbox (issue 17): every event that concerns someone queues a message in its own transaction, and
the sender delivers each exactly once through a fake gateway on loopback, retrying with back-off."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import threading
from datetime import timedelta

import pytest

from core.outbox import SIGNATURE_HEADER, send_due
from geo.settings import Settings
from tests.gateway import fake_gateway

PHONE = "13812345678"
SECRET = "测试密钥-s3cret"


@pytest.fixture
def citizen(world):
    return world.user("张三", "citizen", phone=PHONE)


def _settings(gateway_url: str, **over: object) -> Settings:
    return dataclasses.replace(
        Settings(),
        webhook_url=gateway_url + "/hook",
        sms_url=gateway_url + "/sms",
        webhook_secret=SECRET,
        outbox_backoff_s=60.0,
        **over,
    )


def _outbox(world):
    return world.sql(
        "SELECT incident_id, kind, channel, recipient, body, status, attempts FROM outbox ORDER BY id"
    )


def _send(world, settings: Settings, **kw):
    with world.engine.begin() as conn:
        return send_due(conn, now=world.clock.now, settings=settings, **kw)


def test_a_case_tells_its_assignee_the_reporter_and_the_summoned_departments(world, citizen):
    place = world.places[0]
    worker_phone = world.sql("SELECT phone FROM people WHERE id = :p", p=place.worker_id)[0][0]
    worker = world.user("网格员", "grid_worker", person=place.worker_id)
    inc = world.report(citizen, place, "A01").get_json()
    [new] = _outbox(world)
    assert new.incident_id == inc["id"] and new.kind == "assigned" and new.status == "pending"
    assert (new.channel, new.recipient) == (
        ("sms", worker_phone) if worker_phone else ("webhook", f"person:{place.worker_id}")
    )
    assert "2026-03-03 08:00" in new.body["text"]  # the completion deadline, in Beijing time

    assert world.step(worker, inc["id"], "resolve").status_code == 409  # a refused step queues nothing
    assert len(_outbox(world)) == 1
    for action in ("accept", "start", "resolve"):
        assert world.step(worker, inc["id"], action).status_code == 200
    done = _outbox(world)[-1]
    assert (done.kind, done.channel, done.recipient) == ("resolved", "sms", PHONE)
    assert done.body["link"].endswith(f"/api/v1/incidents/{inc['id']}/rate")
    assert len(_outbox(world)) == 2  # accept and start concern nobody new

    b = world.report(citizen, world.places[2], "B01").get_json()
    assert _outbox(world)[-1].recipient == f"street:{world.street_id}"  # a command centre: the webhook
    world.step(world.street, b["id"], "accept")
    world.step(world.street, b["id"], "summon")
    world.step(world.street, b["id"], "summon")  # summoned again: nobody is told twice
    summons = [m for m in _outbox(world) if m.kind == "summoned"]
    assert sorted(m.recipient for m in summons) == ["department:housing", "department:urban_enforcement"]


def test_a_gateway_failing_twice_then_succeeding_delivers_each_message_exactly_once(world, citizen):
    for place in world.places[:3]:
        world.report(citizen, place, "A01")
    b = world.report(citizen, world.places[3], "B01").get_json()  # its street centre: the webhook
    queued = world.sql("SELECT id, channel FROM outbox ORDER BY id")
    assert len(queued) == 4
    with fake_gateway(fail_first=2) as gateway:
        settings = _settings(gateway.url)
        assert _send(world, settings) == {"sent": 2, "retrying": 2, "failed": 0}
        assert _send(world, settings) == {"sent": 0, "retrying": 0, "failed": 0}  # backing off
        world.clock.advance(seconds=59)
        assert _send(world, settings)["sent"] == 0
        world.clock.advance(seconds=1)
        assert _send(world, settings) == {"sent": 2, "retrying": 0, "failed": 0}
        world.clock.advance(days=1)
        assert _send(world, settings)["sent"] == 0  # nothing is sent twice
    delivered = [int(r.headers["X-Wangge-Message-Id"]) for r in gateway.delivered()]
    assert sorted(delivered) == [q.id for q in queued]
    assert len(gateway.received) == 6
    assert [(m.status, m.attempts) for m in _outbox(world)] == [("sent", 2)] * 2 + [("sent", 1)] * 2
    hook = next(r for r in gateway.delivered() if r.path == "/hook")
    expected = "sha256=" + hmac.new(SECRET.encode(), hook.raw, hashlib.sha256).hexdigest()
    assert hook.headers[SIGNATURE_HEADER] == expected
    assert hook.json["incident_id"] == b["id"] and hook.json["recipient"] == f"street:{world.street_id}"
    sms = next(r for r in gateway.delivered() if r.path == "/sms")
    assert set(sms.json) == {"message_id", "to", "text"}


def test_two_senders_at_once_never_send_the_same_message(world, citizen):
    for place in world.places[:6]:
        world.report(citizen, place, "A01")
    with fake_gateway(delay_s=0.2) as gateway:
        settings = _settings(gateway.url)
        results: list[dict] = []
        threads = [threading.Thread(target=lambda: results.append(_send(world, settings))) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sum(r["sent"] for r in results) == 6
    ids = [r.headers["X-Wangge-Message-Id"] for r in gateway.received]
    assert len(ids) == len(set(ids)) == 6


def test_messages_given_up_are_listed_for_the_district(world, citizen, cli, workflow_url, monkeypatch):
    inc = world.report(citizen, world.places[0], "A01").get_json()
    with fake_gateway(always_fail=True) as gateway:
        settings = _settings(gateway.url, outbox_max_attempts=3)
        assert _send(world, settings)["retrying"] == 1
        world.clock.advance(seconds=60)
        assert _send(world, settings)["retrying"] == 1
        world.clock.advance(seconds=119)
        assert _send(world, settings)["retrying"] == 0  # the second wait is twice the first
        world.clock.advance(seconds=1)
        assert _send(world, settings) == {"sent": 0, "retrying": 0, "failed": 1}
    [m] = _outbox(world)
    assert (m.status, m.attempts) == ("failed", 3)

    listed = world.get("/api/v1/outbox?failures=true", world.district).get_json()
    assert listed["total"] == 1 and listed["messages"][0]["incident_id"] == inc["id"]
    assert "HTTP 503" in listed["messages"][0]["last_error"]
    assert world.get("/api/v1/outbox?status=sent", world.district).get_json()["total"] == 0
    assert world.get("/api/v1/outbox", world.street).status_code == 403
    assert world.get("/api/v1/outbox").status_code == 401

    printed = cli(workflow_url, "outbox failures")
    assert printed.exit_code == 0 and "undelivered: 1" in printed.output and "HTTP 503" in printed.output


def test_the_cli_sends_through_the_configured_gateway(world, citizen, cli, workflow_url, monkeypatch):
    world.report(citizen, world.places[0], "A01")
    with fake_gateway() as gateway:
        monkeypatch.setenv("WANGGE_SMS_URL", gateway.url + "/sms")
        monkeypatch.setenv("WANGGE_WEBHOOK_URL", gateway.url + "/hook")
        at = (world.clock.now + timedelta(minutes=1)).isoformat()
        first = cli(workflow_url, "outbox", "send", "--now", at)
        again = cli(workflow_url, "outbox", "send", "--now", at)
    assert "sent: 1" in first.output and "sent: 0" in again.output
    assert len(gateway.received) == 1


def test_the_sweep_reminds_the_assignee_once_per_deadline(world, citizen, cli, workflow_url):
    place = world.places[0]
    inc = world.report(citizen, place, "A01").get_json()  # 08:00, due 08:00 the next day

    def tick(at: str) -> str:
        result = cli(workflow_url, "incidents", "tick", "--now", at)
        assert result.exit_code == 0, result.output
        return result.output

    assert "reminded: 0" in tick("2026-03-03T07:25:00+08:00")  # 35 minutes before
    assert "reminded: 1" in tick("2026-03-03T07:31:00+08:00")
    assert "reminded: 0" in tick("2026-03-03T07:50:00+08:00")  # once per deadline
    out = tick("2026-03-03T08:01:00+08:00")  # escalated to the street, with a deadline of its own
    assert f"escalated: 1 ({inc['id']})" in out and "reminded: 0" in out
    due = world.get(f"/api/v1/incidents/{inc['id']}", world.district).get_json()["deadlines"]["due_at"]
    assert due == "2026-03-06T08:01:00+08:00"  # B: 72 hours
    assert "reminded: 1" in tick("2026-03-06T07:45:00+08:00")
    reminders = [m for m in _outbox(world) if m.kind == "due_soon"]
    assert [m.recipient for m in reminders][1] == f"street:{world.street_id}"
    assert "2026-03-03 08:00" in reminders[0].body["text"]
