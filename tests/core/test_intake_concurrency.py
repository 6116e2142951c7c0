"""50 clients post 5,000 incidents at once, some retrying with the same Idempotency-Key:
exactly the expected incidents exist afterwards, each located, none twice, no event lost."""

from __future__ import annotations

import http.client
import json
import threading
from urllib.parse import urlsplit

from tests.browser import live_server
from tests.workflow import Place, World

CLIENTS, POSTS, TOKENS = 50, 100, 10


def test_fifty_clients_five_thousand_incidents(world):
    tokens = [world.user(f"居民{t}", "citizen", phone=f"1380000{t:04d}") for t in range(TOKENS)]
    answers = _fifty_clients_at_once(world, tokens)
    assert answers.failures == []
    expected = CLIENTS * (POSTS - POSTS // 10) + TOKENS * (POSTS // 10)
    assert len(answers.ids) == expected
    # Every retry and every race got the first incident.
    assert all(len(ids) == 1 for ids in answers.ids.values())
    ((count, located, keys, reports),) = world.sql("""
        SELECT count(*), count(grid_id), count(DISTINCT (idempotency_scope, idempotency_key)),
               (SELECT count(*) FROM incident_events WHERE action = 'report') FROM incidents""")
    assert (count, located, keys, reports) == (expected, expected, expected, expected)
    assert {i for ids in answers.ids.values() for i in ids} == {
        r[0] for r in world.sql("SELECT id FROM incidents")
    }


class Answers:
    """What the clients were answered, kept under a lock: the ids per (token, key), and every failure."""

    def __init__(self) -> None:
        self.ids: dict[tuple[int, str], set[int]] = {}
        self.failures: list[str] = []
        self._lock = threading.Lock()

    def record(self, token: int, key: str, status: int, payload: dict) -> None:
        with self._lock:
            if status not in (200, 201):
                self.failures.append(f"{status} {payload}")
            else:
                self.ids.setdefault((token, key), set()).add(payload["id"])


def _fifty_clients_at_once(world: World, tokens: list[str]) -> Answers:
    """CLIENTS threads, each posting its POSTS reports to a live server at the same time."""
    answers = Answers()
    with live_server(world.app, threads=12) as base:
        threads = [
            threading.Thread(target=_client, args=(c, base, tokens[c % TOKENS], world.places, answers))
            for c in range(CLIENTS)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return answers


def _client(c: int, base: str, token: str, places: list[Place], answers: Answers) -> None:
    """Client ``c`` posts its reports over one connection, retrying some with the same key."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    for i in range(POSTS):
        # Every tenth key is shared by the five clients holding the same token: they race on it.
        key = f"shared-{i}" if i % 10 == 0 else f"c{c}-{i}"
        seed = i if i % 10 == 0 else c * POSTS + i
        body = _body(places[seed % len(places)], seed, key)
        for _attempt in range(2 if i % 7 == 3 else 1):  # some clients retry after a (pretend) timeout
            conn.request(
                "POST",
                "/api/v1/incidents",
                body=body,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Idempotency-Key": key,
                    "Content-Type": "application/json",
                },
            )
            response = conn.getresponse()
            answers.record(c % TOKENS, key, response.status, json.loads(response.read()))
    conn.close()


def _body(place: Place, seed: int, key: str) -> str:
    """A report near ``place`` (shifted east by the seed, about a metre a step), its key in the description."""
    return json.dumps(
        {
            "lon": place.lon + (seed % 7) * 1e-5,
            "lat": place.lat,
            "category": "A01",
            "description": f"并发 {key}",
        }
    )
