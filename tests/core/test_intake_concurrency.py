"""50 clients post 5,000 incidents at once, some retrying with the same Idempotency-Key:
exactly the expected incidents exist afterwards, each located, none twice, no event lost."""

from __future__ import annotations

import http.client
import json
import threading
from urllib.parse import urlsplit

from tests.browser import live_server

CLIENTS, POSTS, TOKENS = 50, 100, 10


def test_fifty_clients_five_thousand_incidents(world):
    tokens = [world.user(f"居民{t}", "citizen", phone=f"1380000{t:04d}") for t in range(TOKENS)]
    places = world.places
    answers: dict[tuple[int, str], set[int]] = {}
    failures: list[str] = []
    lock = threading.Lock()

    def client(c: int, base: str) -> None:
        token = tokens[c % TOKENS]
        parts = urlsplit(base)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        for i in range(POSTS):
            # Every tenth key is shared by the five clients holding the same token: they race on it.
            key = f"shared-{i}" if i % 10 == 0 else f"c{c}-{i}"
            seed = i if i % 10 == 0 else c * POSTS + i
            place = places[seed % len(places)]
            body = json.dumps(
                {
                    "lon": place.lon + (seed % 7) * 1e-5,
                    "lat": place.lat,
                    "category": "A01",
                    "description": f"并发 {key}",
                }
            )
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
                payload = json.loads(response.read())
                with lock:
                    if response.status not in (200, 201):
                        failures.append(f"{response.status} {payload}")
                    else:
                        answers.setdefault((c % TOKENS, key), set()).add(payload["id"])
        conn.close()

    with live_server(world.app, threads=12) as base:
        threads = [threading.Thread(target=client, args=(c, base)) for c in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert failures == []
    expected = CLIENTS * (POSTS - POSTS // 10) + TOKENS * (POSTS // 10)
    assert len(answers) == expected
    assert all(len(ids) == 1 for ids in answers.values())  # every retry and every race got the first incident
    ((count, located, keys, reports),) = world.sql("""
        SELECT count(*), count(grid_id), count(DISTINCT (idempotency_scope, idempotency_key)),
               (SELECT count(*) FROM incident_events WHERE action = 'report') FROM incidents""")
    assert (count, located, keys, reports) == (expected, expected, expected, expected)
    assert {i for ids in answers.values() for i in ids} == {
        r[0] for r in world.sql("SELECT id FROM incidents")
    }
