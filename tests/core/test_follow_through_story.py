"""Issue 17's story end to end, against the controlled clock and the fake gateway: a hotline ticket imported
twice is one case, its assignee is told, it escalates to the street, which summons departments; a resident's
case is resolved, rated 2, reopened under 督办, resolved again and rated 5. Every message is in the outbox,
and a gateway that fails twice delivers each exactly once; the scores are the hand-computed ones."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from core.incidents.lifecycle import tick
from core.outbox import send_due
from geo.settings import Settings, get_settings
from store.hierarchy import metric_epsg
from tests.gateway import fake_gateway

CALLER = {"name": "王大妈", "phone": "13700001111"}


def test_the_story_of_two_cases_and_every_message_they_owe(world):
    resident = world.user("张三", "citizen", phone="13812345678")
    place, hotline_place = world.places[0], world.places[7]
    worker = world.user("网格员", "grid_worker", person=place.worker_id)
    ticket = {"channel": "hotline_12345", "reporter": CALLER, "external_ref": "T-1"}
    hotline = world.report(world.street, hotline_place, "A01", **ticket).get_json()
    assert world.report(world.street, hotline_place, "A01", **ticket).status_code == 200

    # 08:00 the resident reports; the worker resolves at 10:20; rated 2 at 11:00 it is reopened under 督办.
    case = world.report(resident, place, "A01").get_json()
    world.clock.advance(minutes=20)
    for action in ("accept", "start"):
        world.step(worker, case["id"], action)
    world.clock.advance(hours=2)
    world.step(worker, case["id"], "resolve")
    world.clock.advance(minutes=40)
    assert world.step(resident, case["id"], "rate", rating=2).get_json()["status"] == "reopened"
    for action in ("accept", "start"):
        assert world.step(worker, case["id"], action).status_code == 200
    world.clock.advance(hours=2)
    assert world.step(worker, case["id"], "resolve").status_code == 200
    assert world.step(resident, case["id"], "rate", rating=5).get_json()["rating"] == 5

    # The hotline case is not touched for a day: the clock escalates it to the street, which summons.
    world.clock.advance(hours=24)
    with world.engine.begin() as conn:
        escalated = tick(conn, now=world.clock.now, settings=get_settings(), srid=metric_epsg(conn))
    assert escalated == [hotline["id"]]
    world.step(world.street, hotline["id"], "accept")
    world.step(world.street, hotline["id"], "summon", departments=["urban_enforcement"])

    kinds = Counter(r.kind for r in world.sql("SELECT kind FROM outbox"))
    # assigned: the two new cases and the escalation; resolved: the resident, twice (the caller of the
    # ticket hears nothing yet); reopened and duban: the worker and the street; status: the ticket's
    # reported, escalated, accepted.
    assert kinds == Counter(assigned=3, status=3, resolved=2, reopened=1, duban=1, summoned=1)

    with fake_gateway(fail_first=2) as gateway:
        settings = dataclasses.replace(
            Settings(), webhook_url=gateway.url + "/hook", sms_url=gateway.url + "/sms", webhook_secret="k"
        )
        with world.engine.begin() as conn:
            first = send_due(conn, now=world.clock.now, settings=settings)
        world.clock.advance(minutes=1)
        with world.engine.begin() as conn:
            second = send_due(conn, now=world.clock.now, settings=settings)
    assert (first["retrying"], first["sent"] + second["sent"]) == (2, 11)
    delivered = Counter(r.headers["X-Wangge-Message-Id"] for r in gateway.delivered())
    assert len(delivered) == 11 and set(delivered.values()) == {1}
    listed = world.get("/api/v1/outbox?status=sent&limit=50", world.district).get_json()
    assert listed["total"] == 11 and {m["status"] for m in listed["messages"]} == {"sent"}
    pushed = [m["body"]["status"] for m in reversed(listed["messages"]) if m["kind"] == "status"]
    assert pushed == ["reported", "escalated", "accepted"]

    ranking = world.get("/api/v1/scores?unit=grid&from=2026-03-01&to=2026-03-10", world.district).get_json()
    row = {r["id"]: r for r in ranking["ranking"]}[place.grid_id]
    # Responded in time (1/1), never completed on time since reopened (0/1), last rating 5 (1/1).
    assert (row["completion_rate"], row["satisfaction_rate"], row["duban"]) == (0.0, 1.0, 1)
    assert row["score"] == pytest.approx(0.6)
