"""A small world for workflow tests: a private copy of the demo district, an injectable clock,
tokens for every role, and points whose grid, worker and chiefs are known from PostGIS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from api.http.app import create_app
from core.tokens import add_user

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # 08:00 in Panjin


class Clock:
    """The app's clock, moved by the test instead of by sleeping."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Place:
    lon: float
    lat: float
    grid_id: str
    community_id: str
    worker_id: str


class World:
    def __init__(self, url: str):
        self.engine = create_engine(url)
        self.clock = Clock(START)
        self.app = create_app({"TESTING": True, "ENGINE": self.engine, "CLOCK": self.clock})
        self.client = self.app.test_client()
        with self.engine.begin() as c:
            self.street_id = c.execute(text("SELECT id FROM streets ORDER BY id LIMIT 1")).scalar_one()
            # The centre of the largest circle inside a grid: as far from its edges as it gets.
            rows = c.execute(
                text("""
                SELECT g.id, g.community_id, ST_X(m.center), ST_Y(m.center), p.id AS worker
                FROM grids g CROSS JOIN LATERAL ST_MaximumInscribedCircle(g.geom) m
                JOIN people p ON p.grid_id = g.id AND p.role = 'grid_worker'
                WHERE g.valid_to IS NULL ORDER BY g.id""")
            ).all()
        self.places = [Place(r[2], r[3], r[0], r[1], r[4]) for r in rows]
        self.tokens: dict[str, str] = {}
        self.district = self.user("区指挥中心", "district_admin")
        self.street = self.user("街道指挥中心", "street_admin", scope=self.street_id)

    def user(
        self,
        name: str,
        role: str,
        *,
        scope: str | None = None,
        person: str | None = None,
        phone: str | None = None,
    ) -> str:
        with self.engine.begin() as c:
            _, token = add_user(c, name, role, scope_id=scope, person_id=person, phone=phone)
        return token

    def sql(self, query: str, **params):
        with self.engine.begin() as c:
            result = c.execute(text(query), params)
            return result.all() if result.returns_rows else result.rowcount

    def post(self, path: str, token: str | None, body: dict | None = None, **headers: str):
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.post(path, json=body if body is not None else {}, headers=headers)

    def get(self, path: str, token: str | None = None):
        return self.client.get(path, headers={"Authorization": f"Bearer {token}"} if token else {})

    def report(
        self,
        token: str,
        place: Place | tuple[float, float],
        category: str = "A01",
        *,
        key: str | None = None,
        **extra,
    ):
        lon, lat = (place.lon, place.lat) if isinstance(place, Place) else place
        body = {"lon": lon, "lat": lat, "category": category, "description": "测试", **extra}
        headers = {"Idempotency-Key": key} if key else {}
        return self.post("/api/v1/incidents", token, body, **headers)

    def step(self, token: str, incident_id: int, action: str, **body):
        return self.post(f"/api/v1/incidents/{incident_id}/{action}", token, body)

    def close(self) -> None:
        self.engine.dispose()


@pytest.fixture
def world(workflow_url: str):
    w = World(workflow_url)
    yield w
    w.close()
