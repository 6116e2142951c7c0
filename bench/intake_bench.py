"""Intake benchmark: POST /api/v1/incidents through gunicorn on loopback, driven by ApacheBench.

Each request is a full intake: token check, catalogue, locating in PostGIS, boundary and
duplicate checks, the insert and its event in one statement. ab cannot vary a body, so
8 ab processes run side by side, each posting its own point and category (one grid each);
every request's time comes from ab's ``-g`` log, so p50/p99 are over all requests.
Target (issue #4): at least 500 posts/s with p99 under 50 ms on this 2-core machine.
BENCH_INTAKE_POSTS (per round), _ROUNDS, _STREAMS and _WORKERS set the load; BENCH_GUNICORN_ARGS adds gunicorn options
(e.g. ``-k gthread --threads 2``) to compare worker kinds.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from boundaries.demo import make_district
from boundaries.load import load_layers
from core.catalogue import ensure_default_catalogue
from core.tokens import add_user
from store.cluster import ensure_database
from store.engine import database_url
from store.migrate import upgrade

BENCH_DB = "wangge_bench_intake"
N_POSTS = int(os.environ.get("BENCH_INTAKE_POSTS", 20_000))
STREAMS = int(os.environ.get("BENCH_INTAKE_STREAMS", 8))
WORKERS = int(os.environ.get("BENCH_INTAKE_WORKERS", 3))
ROUNDS = int(os.environ.get("BENCH_INTAKE_ROUNDS", 3))
CATEGORIES = ("A01", "A02", "A06", "A07", "A09", "A10", "B01", "B03")
# One measured round: posts per second, each post's ms, streams that had non-2xx answers.
Round = tuple[float, np.ndarray, int]


def _database() -> str:
    base = make_url(database_url())
    ensure_database(str(base.set(database="postgres")), BENCH_DB, fresh=True)
    url = base.set(database=BENCH_DB).render_as_string(hide_password=False)
    upgrade(url)
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        load_layers(session, make_district(seed=7, scale=1))
    with engine.begin() as conn:
        ensure_default_catalogue(conn)
    # Setting up wrote the whole district: flush it now, or the checkpoint lands in the measured run.
    with engine.connect() as conn:
        try:
            conn.execute(text("CHECKPOINT"))
        except DBAPIError:  # not a superuser on someone else's server: measure with it
            pass
    engine.dispose()
    return url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bodies(url: str, folder: Path) -> tuple[str, list[Path]]:
    engine = create_engine(url)
    with engine.begin() as conn:
        _, token = add_user(conn, "bench", "citizen", phone="13800001111")
        points = conn.execute(
            text("""
            SELECT ST_X(m.center), ST_Y(m.center) FROM grids g CROSS JOIN LATERAL ST_MaximumInscribedCircle(g.geom) m
            ORDER BY g.id LIMIT :n"""),
            {"n": STREAMS},
        ).all()
    engine.dispose()
    files = []
    for i, (lon, lat) in enumerate(points):
        path = folder / f"body{i}.json"
        path.write_text(
            json.dumps(
                {
                    "lon": lon,
                    "lat": lat,
                    "category": CATEGORIES[i % len(CATEGORIES)],
                    "description": "压力测试 bench",
                    "channel": "app",
                },
                ensure_ascii=False,
            )
        )
        files.append(path)
    return token, files


def _ab(url: str, token: str, body: Path, n: int, log: Path | None) -> subprocess.Popen:
    cmd = [
        "ab",
        "-q",
        "-k",
        "-n",
        str(n),
        "-c",
        "1",
        "-p",
        str(body),
        "-T",
        "application/json",
        "-H",
        f"Authorization: Bearer {token}",
    ]
    if log:
        cmd += ["-g", str(log)]
    return subprocess.Popen(cmd + [url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _times(logs: list[Path]) -> np.ndarray:
    times = []
    for log in logs:
        for line in log.read_text().splitlines()[1:]:
            times.append(float(line.split("\t")[4]))  # ttime, ms
    return np.array(times)


def _round(target: str, token: str, bodies: list[Path], folder: Path, n: int) -> Round:
    """One measured round: every stream posts its share; returns posts/s, each post's ms, streams with errors."""
    logs = [folder / f"ab{i}.tsv" for i in range(len(bodies))]
    start = time.perf_counter()
    procs = [_ab(target, token, b, n // len(bodies), log) for b, log in zip(bodies, logs, strict=True)]
    outputs = [p.communicate()[0] for p in procs]
    wall = time.perf_counter() - start
    times = _times(logs)
    return len(times) / wall, times, sum("Non-2xx" in o for o in outputs)


def run() -> list[str]:
    if shutil.which("ab") is None:
        return [
            "## Incident intake",
            "",
            "ab (apache2-utils) is not installed: `make bench` installs it.",
            "",
        ]
    url = _database()
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        rounds = _measure(url, port, Path(tmp))
    stored, durable = _stored(url)
    return _report(rounds, stored, durable)


def _gunicorn(url: str, port: int) -> subprocess.Popen:
    """The app under gunicorn on loopback, serving the bench database."""
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(WORKERS),
            *os.environ.get("BENCH_GUNICORN_ARGS", "").split(),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "api.http.app:create_app()",
        ],
        env=env,
    )


def _wait_until_up(port: int) -> None:
    """Until the health check answers (ten seconds at most; the rounds then show what is wrong)."""
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
            break
        except OSError:
            time.sleep(0.1)


def _measure(url: str, port: int, folder: Path) -> list[Round]:
    """Serve the app, warm every worker's caches, then run the measured rounds."""
    token, bodies = _bodies(url, folder)
    server = _gunicorn(url, port)
    target = f"http://127.0.0.1:{port}/api/v1/incidents"
    try:
        _wait_until_up(port)
        for p in [_ab(target, token, b, 50, None) for b in bodies]:  # warm every worker's caches
            p.wait()
        return [_round(target, token, bodies, folder, N_POSTS) for _ in range(ROUNDS)]
    finally:
        server.terminate()
        server.wait()


def _stored(url: str) -> tuple[tuple[int, int], list[str]]:
    """Incidents stored and those located; the server's fsync and synchronous_commit."""
    engine = create_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*), count(grid_id) FROM incidents")).one()
        durable = [
            conn.execute(text(f"SHOW {name}")).scalar_one() for name in ("fsync", "synchronous_commit")
        ]
    engine.dispose()
    return stored, durable


def _report(rounds: list[Round], stored: tuple[int, int], durable: list[str]) -> list[str]:
    """The section of bench/RESULTS.md: the median round whole, every round's rate and p99."""
    rps = [r[0] for r in rounds]
    p99s = [float(np.percentile(r[1], 99)) for r in rounds]
    middle = int(np.argsort(rps)[len(rps) // 2])  # the median round, reported whole
    p50, p99 = np.percentile(rounds[middle][1], [50, 99])
    verdict = "meets" if rps[middle] >= 500 and p99 < 50 else "misses"
    each = "; ".join(f"{r:,.0f}/s, p99 {q:.0f} ms" for r, q in zip(rps, p99s, strict=True))
    return [
        "## Incident intake (POST /api/v1/incidents)",
        "",
        f"gunicorn {WORKERS} sync workers on loopback; {STREAMS} ApacheBench streams side by side (one grid each, "
        f"{len(CATEGORIES)} categories); {ROUNDS} rounds of {N_POSTS:,} posts after a warm-up, the median round "
        f"shown; PostgreSQL on the same 2 cores with fsync {durable[0]}, synchronous_commit {durable[1]} "
        "(every answered report is on disk).",
        "",
        "| measure | wangge (median round) | target (issue #4) |",
        "| --- | ---: | ---: |",
        f"| posts per second | {rps[middle]:,.0f} | ≥ 500 |",
        f"| p50 latency | {p50:.1f} ms | |",
        f"| p99 latency | {p99:.1f} ms | < 50 ms |",
        f"| non-2xx answers | {sum(r[2] for r in rounds)} streams | 0 |",
        f"| incidents stored, located | {stored[0]:,}, {stored[1]:,} | all |",
        "",
        f"Rounds: {each}. The median round {verdict} the target.",
        "",
    ]


if __name__ == "__main__":
    print("\n".join(run()))
