"""Faults: while PostgreSQL is down every route answers 503 problem+json with ``Retry-After`` (never 500,
never a bare HTML page); a connection that dies under the service is answered 503 once and replaced;
and PostgreSQL stopped in the middle of a load through gunicorn loses no acknowledged report, and the
service comes back by itself when PostgreSQL does."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.http.app import create_app
from geo.settings import PROJECT_ROOT
from store.backup import backup, restore
from store.cluster import EmbeddedCluster
from tests.browser import live_server
from tests.faults import Post, assert_outage, post_report
from tests.workflow import Place, World

TRACK = '{"type": "LineString", "coordinates": [[122.07, 41.12], [122.071, 41.121]]}'
# One request for every route the app registers, shaped as a client would send it.
EVERY_ROUTE = [
    ("GET", "/api/v1/health", {}),
    ("GET", "/api/v1/health/ready", {}),
    ("GET", "/api/v1/locate?lon=122.07&lat=41.12", {}),
    ("POST", "/api/v1/grids/draw", {"json": {"community": "C01"}}),
    ("POST", "/api/v1/grids/resplit", {"json": {"community": "C01"}}),
    ("GET", "/api/v1/grids/previews/p1", {}),
    ("POST", "/api/v1/grids/previews/p1/apply", {}),
    ("GET", "/api/v1/grids/G01/history", {}),
    ("GET", "/api/v1/grids", {}),
    ("GET", "/api/v1/grids/G01", {}),
    ("GET", "/maps/board?base=none", {}),
    ("GET", "/api/v1/categories", {}),
    ("POST", "/api/v1/categories", {"json": {"categories": [], "departments": []}}),
    ("POST", "/api/v1/incidents", {"json": {"lon": 122.07, "lat": 41.12, "category": "A01"}}),
    ("GET", "/api/v1/incidents", {}),
    ("GET", "/api/v1/incidents/1", {}),
    ("GET", "/api/v1/incidents/1/events", {}),
    ("POST", "/api/v1/incidents/1/accept", {"json": {}}),
    ("POST", "/api/v1/incidents/1/photos", {"data": {"stage": "after"}}),
    ("GET", "/api/v1/photos/" + "a" * 64, {}),
    ("GET", "/api/v1/photos/" + "a" * 64 + "/thumb", {}),
    ("GET", "/api/v1/scores", {}),
    ("GET", "/api/v1/stats", {}),
    ("GET", "/api/v1/stats.csv", {}),
    ("GET", "/api/v1/outbox", {}),
    ("GET", "/open311/v2/services.json", {}),
    ("GET", "/open311/v2/services/A01.json", {}),
    ("GET", "/open311/v2/requests.json", {}),
    ("GET", "/open311/v2/requests/1.json", {}),
    (
        "POST",
        "/open311/v2/requests.json",
        {"data": {"api_key": "k" * 43, "service_code": "A01", "lat": "41.12", "long": "122.07"}},
    ),
    ("POST", "/api/v1/patrols/plan", {"json": {"grid": "G01"}}),
    ("POST", "/api/v1/patrols/tracks?person=P01&format=geojson", {"data": TRACK}),
    ("GET", "/api/v1/patrols/coverage", {}),
    ("GET", "/api/v1/residents", {}),
    ("POST", "/api/v1/residents", {"json": {"building": "B01", "room": "101", "name": "王秀英"}}),
    ("GET", "/api/v1/residents/1", {}),
    ("PATCH", "/api/v1/residents/1", {"json": {"phone": None}}),
    ("POST", "/api/v1/residents/search", {"json": {"id_number": "11010519491231002X"}}),
    ("GET", "/api/v1/residents/groups", {}),
    ("POST", "/api/v1/residents/groups", {"json": {"code": "x", "name_zh": "x", "name_en": "x"}}),
    ("POST", "/api/v1/residents/visits", {"json": {"household": 1}}),
    ("GET", "/api/v1/residents/visits/overdue", {}),
    ("GET", "/api/v1/residents/access-log", {}),
    ("GET", "/api/v1/residents/informants", {}),
    ("POST", "/api/v1/residents/informants", {"json": {"name": "信息员"}}),
    ("GET", "/maps/visits", {}),
    ("GET", "/api/v1/volunteers/teams", {}),
    ("POST", "/api/v1/volunteers/teams", {"json": {"name": "x", "kind": "service"}}),
    ("POST", "/api/v1/volunteers/requests", {"json": {"household": 1, "need": "x"}}),
    ("POST", "/api/v1/volunteers/requests/1/dispatch", {"json": {"team": 1}}),
    ("GET", "/api/v1/volunteers/hours", {}),
    ("GET", "/api/v1/incidents.csv", {}),
    ("GET", "/api/v1/scores.xlsx", {}),
    ("GET", "/ogc/collections", {}),
    ("GET", "/ogc/collections/grids", {}),
    ("GET", "/ogc/collections/grids/items?bbox=122,41,122.1,41.2", {}),
    ("GET", "/ogc/collections/grids/items/G01", {}),
]
# Routes that never touch the database: they keep answering.
WITHOUT_DATABASE = [
    ("GET", "/api/v1/health/live", 200),
    ("GET", "/api/v1/openapi.json", 200),
    ("GET", "/open311/v2/discovery.json", 200),
    ("GET", "/docs", 200),
    ("GET", "/ogc", 200),
    ("GET", "/ogc/conformance", 200),
    ("GET", "/", 200),
    ("GET", "/favicon.ico", 204),
    ("GET", "/static/vendor/none.js", 404),
    ("GET", "/static/none.css", 404),
]


def _nothing_listening() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql+psycopg://wangge@127.0.0.1:{port}/wangge"


def test_every_route_answers_503_problem_json_with_retry_after_while_the_database_is_down():
    app = create_app({"TESTING": True, "DATABASE_URL": _nothing_listening()})
    client = app.test_client()
    adapter = app.url_map.bind("localhost")
    reached = set()
    for method, path, body in EVERY_ROUTE:
        answer = client.open(path, method=method, headers={"Authorization": "Bearer " + "t" * 43}, **body)
        assert_outage(answer.status_code, answer.headers, answer.get_data(as_text=True), f"{method} {path}")
        reached.add(adapter.match(path.split("?")[0], method)[0])
    for method, path, status in WITHOUT_DATABASE:
        assert client.open(path, method=method).status_code == status, path
        reached.add(adapter.match(path, method)[0])
    assert {rule.endpoint for rule in app.url_map.iter_rules()} - reached == set(), "a route left untried"


def _terminate_backends(admin_url: str, database: str) -> int:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        killed = c.execute(
            text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :d"),
            {"d": database},
        ).scalar_one()
    admin.dispose()
    return killed


def test_connections_killed_under_the_service_are_answered_503_once_then_replaced(
    world: World, admin_url: str
):
    citizen = world.user("居民", "citizen", phone="13800003333")
    place = world.places[0]
    with live_server(world.app, threads=4) as base:
        assert post_report(base, citizen, place, "before").status == 201
        assert world.get("/api/v1/incidents", world.district).status_code == 200
        assert _terminate_backends(admin_url, make_url(world.engine.url).database) >= 1
        after = [post_report(base, citizen, place, f"after-{n}") for n in range(3)]
    # The connection the service held was dead: that one request is refused properly, the next ones work.
    first: Post = after[0]
    assert_outage(first.status, first.headers, first.body, "the first post after the kill")
    assert [a.status for a in after[1:]] == [201, 201]
    assert world.get("/api/v1/incidents", world.district).status_code == 200


@pytest.mark.parametrize("route", ["/api/v1/health/ready", "/api/v1/health/live"])
def test_ready_and_live_answer_200_when_the_database_is_at_head(client, route):
    answer = client.get(route)
    assert answer.status_code == 200 and answer.get_json()["status"] in ("ready", "live")


def test_ready_answers_503_when_the_schema_is_behind_and_live_still_200(fresh_url):
    engine = create_engine(fresh_url)
    with engine.begin() as c:
        c.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    client = create_app({"TESTING": True, "ENGINE": engine}).test_client()
    ready = client.get("/api/v1/health/ready")
    assert_outage(ready.status_code, ready.headers, ready.get_data(as_text=True), "ready")
    assert "wangge db upgrade" in ready.get_json()["detail"]
    assert client.get("/api/v1/health/live").status_code == 200
    engine.dispose()


# ---- PostgreSQL stopped under a load through gunicorn ------------------------------------------

CLIENTS = 4  # threads posting reports, each waiting for its answer before the next
BEFORE_S, DOWN_S, AFTER_S = 1.5, 2.5, 3.0  # load, then PostgreSQL down, then up again
SETTLE_S = 1.0  # after PostgreSQL is back, every post begun later than this must succeed
PAUSE_S = 0.1  # a client refused with 503 pauses (a phone app would wait Retry-After; the test is shorter)


@pytest.fixture
def own_cluster(tmp_path: Path, workflow_url: str) -> Iterator[tuple[EmbeddedCluster, str]]:
    """A throw-away PostgreSQL holding a copy of the demo district: the test stops it, never the shared one."""
    cluster = EmbeddedCluster(tmp_path / "pg")
    url = cluster.start()
    backup(workflow_url, tmp_path / "district.dump")
    restore(url, tmp_path / "district.dump")
    try:
        yield cluster, url
    finally:
        cluster.stop()
        shutil.rmtree(cluster.base, ignore_errors=True)


@contextmanager
def gunicorn(url: str, log: Path) -> Iterator[str]:
    """The service under gunicorn (two workers of four threads) on a free port, until the block ends."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "4"]
    command += ["--bind", f"127.0.0.1:{port}", "--graceful-timeout", "3", "--no-control-socket"]
    command += ["api.http.app:create_app()"]
    with open(log, "wb") as out:
        server = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env={**os.environ, "DATABASE_URL": url}, stdout=out, stderr=out
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"{base}/api/v1/health/ready", timeout=2):
                    break
            except OSError:
                assert server.poll() is None, log.read_text()[-2000:]
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=15)


class Load:
    """CLIENTS threads posting reports with fresh Idempotency-Keys until stopped; every answer kept."""

    def __init__(self, base: str, token: str, places: list[Place]):
        self.base, self.token, self.places = base, token, places
        self.posts: list[tuple[float, Post]] = []  # (when the post was sent, what came back)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._client, args=(c,)) for c in range(CLIENTS)]

    def _client(self, c: int) -> None:
        n = 0
        while not self._stop.is_set():
            sent = time.monotonic()
            post = post_report(self.base, self.token, self.places[(c + n) % len(self.places)], f"c{c}-{n}")
            with self._lock:
                self.posts.append((sent, post))
            if post.status == 503:
                time.sleep(PAUSE_S)
            n += 1

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)


def _outage_under(load: Load, cluster: EmbeddedCluster, base: str) -> tuple[float, float]:
    """Stop PostgreSQL under the load, check health says so, start it again: (when down, when up)."""
    time.sleep(BEFORE_S)
    down = time.monotonic()
    cluster.stop()  # pg_ctl stop -m fast: every session is cut off mid-statement
    time.sleep(DOWN_S / 2)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{base}/api/v1/health/ready", timeout=5)
    assert_outage(refused.value.code, refused.value.headers, refused.value.read().decode(), "ready")
    with urllib.request.urlopen(f"{base}/api/v1/health/live", timeout=5) as live:
        assert live.status == 200
    time.sleep(DOWN_S / 2)
    cluster.start()
    up = time.monotonic()
    time.sleep(AFTER_S)
    return down, up


def test_postgresql_stopped_under_load_through_gunicorn_loses_no_acknowledged_report(own_cluster, tmp_path):
    cluster, url = own_cluster
    world = World(url)
    citizen = world.user("居民", "citizen", phone="13800004444")
    with gunicorn(url, tmp_path / "gunicorn.log") as base:
        with Load(base, citizen, world.places) as load:
            down, up = _outage_under(load, cluster, base)
        # Each client retries what was refused, with the same key: answered now, and never stored twice.
        outage = [post for _, post in load.posts if post.status == 503]
        retried = [post_report(base, citizen, world.places[0], post.key) for post in outage]
    # gunicorn served throughout, never restarted.
    posts = [post for _, post in load.posts]
    for post in posts:
        if post.status not in (200, 201):
            assert_outage(post.status, post.headers, post.body, f"post {post.key}")
    assert outage, "the load saw no outage: PostgreSQL was not stopped under it"
    assert any(sent < down and post.status == 201 for sent, post in load.posts)
    late = [post.status for sent, post in load.posts if sent > up + SETTLE_S]
    assert late and set(late) == {201}, "the service did not come back by itself"
    assert {r.status for r in retried} <= {200, 201}, [r.body for r in retried if r.status not in (200, 201)]

    acknowledged = {p.key: p.incident_id for p in posts + retried if p.incident_id is not None}
    world.engine.dispose()  # its connections died with the server
    stored = dict(world.sql("SELECT idempotency_key, id FROM incidents WHERE idempotency_key LIKE 'c%'"))
    lost = {k: i for k, i in acknowledged.items() if stored.get(k) != i}
    assert lost == {} and len(stored) == len(acknowledged) == len({p.key for p in posts})
    print(
        f"fault test: {len(posts)} posts, {len(posts) - len(outage)} acknowledged, {len(outage)} answered 503 "
        f"(all acknowledged on retry), 0 lost; down {up - down:.1f} s"
    )
    world.close()
