"""What the fault tests share: a report posted over real HTTP, and what an outage answer must look like."""

from __future__ import annotations

import http.client
import json
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from tests.workflow import Place


@dataclass
class Post:
    """One report as the client saw it: its key, and the answer (status 0: no answer at all)."""

    key: str
    status: int
    headers: Mapping[str, str]
    body: str

    @property
    def incident_id(self) -> int | None:
        return json.loads(self.body)["id"] if self.status in (200, 201) else None


def post_report(base: str, token: str, place: Place, key: str, *, timeout: float = 30) -> Post:
    """POST one report with an ``Idempotency-Key``, on its own connection, as a phone app would."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    body = json.dumps({"lon": place.lon, "lat": place.lat, "category": "A01", "description": f"故障 {key}"})
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key, "Content-Type": "application/json"}
    try:
        conn.request("POST", "/api/v1/incidents", body=body, headers=headers)
        response = conn.getresponse()
        return Post(key, response.status, response.headers, response.read().decode())
    except (OSError, http.client.HTTPException) as exc:
        return Post(key, 0, {}, f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


def assert_outage(status: int, headers: Mapping[str, str], body: str, what: str) -> None:
    """A 503 in problem+json that says when to retry: what every answer during an outage must be."""
    assert status == 503, f"{what}: {status} {body[:300]}"
    assert headers.get("Content-Type", "").startswith("application/problem+json"), (what, body[:300])
    assert (headers.get("Retry-After") or "").isdigit(), (what, dict(headers))
    assert json.loads(body)["status"] == 503, what
