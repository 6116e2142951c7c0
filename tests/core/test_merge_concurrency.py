"""Merges under pressure: two dispatchers merge a→b and b→a at the same moment, twelve times over a live
server; each time one wins, the other is refused cleanly, and no pair ends merged into each other. And a
community admin cannot merge into another community's incident, nor learn anything about it by trying."""

from __future__ import annotations

import http.client
import json
import threading
from urllib.parse import urlsplit

import pytest

from tests.browser import live_server
from tests.workflow import Place, World

PAIRS = 12


@pytest.fixture
def citizen(world: World) -> str:
    return world.user("李四", "citizen", phone="13900002222")


def _pair(world: World, citizen: str, place: Place, n: int) -> tuple[int, int]:
    """Two reports a few metres apart in the same grid."""
    ids = []
    for k in range(2):
        answer = world.report(citizen, (place.lon + (2 * n + k) * 2e-6, place.lat), "A01")
        assert answer.status_code == 201, answer.get_json()
        ids.append(answer.get_json()["id"])
    return ids[0], ids[1]


def _merge(base: str, token: str, source: int, into: int, start: threading.Barrier) -> tuple[int, dict]:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    body = json.dumps({"into": into})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    start.wait()
    conn.request("POST", f"/api/v1/incidents/{source}/merge", body=body, headers=headers)
    response = conn.getresponse()
    answer = response.status, json.loads(response.read())
    conn.close()
    return answer


def _cross_merge(base: str, token: str, a: int, b: int) -> list[tuple[int, dict]]:
    """a→b and b→a sent at the same instant, each from its own thread and connection."""
    start = threading.Barrier(2)
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def run(source: int, into: int) -> None:
        answer = _merge(base, token, source, into, start)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=run, args=args) for args in ((a, b), (b, a))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return answers


def test_twelve_cross_merges_at_once_one_wins_one_is_refused_none_deadlocks(world, citizen):
    place = world.places[0]
    pairs = [_pair(world, citizen, place, n) for n in range(PAIRS)]
    with live_server(world.app, threads=8) as base:
        outcomes = [_cross_merge(base, world.street, a, b) for a, b in pairs]
    for (a, b), answers in zip(pairs, outcomes, strict=True):
        statuses = sorted(status for status, _ in answers)
        assert statuses == [200, 409], (a, b, answers)
        # The loser waited for the winner and was refused by the rules, not by PostgreSQL's deadlock detector.
        loser = next(body for status, body in answers if status == 409)
        assert "is itself merged" in loser["detail"], loser
        merged = world.sql(
            "SELECT id, merged_into FROM incidents WHERE id IN (:a, :b) AND status = 'merged'", a=a, b=b
        )
        assert len(merged) == 1, (a, b, merged)  # exactly one was merged, into the other
        winner = next(body for status, body in answers if status == 200)
        assert (winner["id"], winner["merged_into"]) == tuple(merged[0])


def test_a_community_admin_cannot_merge_into_another_community_nor_learn_its_state(world, citizen):
    here = world.places[0]
    there = next(p for p in world.places if p.community_id != here.community_id)
    admin = world.user("社区书记", "community_admin", scope=here.community_id)
    own = world.report(citizen, here, "A01").get_json()["id"]
    foreign = world.report(citizen, there, "A01").get_json()["id"]
    assert world.step(world.district, foreign, "merge", into=own).status_code == 200  # now 'merged'
    events_before = world.sql("SELECT count(*) FROM incident_events")

    unknown = world.step(admin, own, "merge", into=999_999)
    hidden = world.step(admin, own, "merge", into=foreign)
    # Answered exactly as an id that does not exist: not 409 'itself merged', which would tell its state.
    assert hidden.status_code == unknown.status_code == 422
    assert hidden.get_json()["detail"].replace(str(foreign), "N") == unknown.get_json()["detail"].replace(
        "999999", "N"
    )
    assert world.sql("SELECT status FROM incidents WHERE id = :i", i=own)[0][0] == "reported"
    assert world.sql("SELECT count(*) FROM incident_events") == events_before
