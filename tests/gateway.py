"""A fake SMS gateway and webhook receiver on loopback (http.server in a thread): the outbox's tests send
real HTTP to it, and nothing leaves the machine."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    raw: bytes
    status: int

    @property
    def json(self) -> dict:
        return json.loads(self.raw)


@dataclass
class Gateway:
    """Answers 503 to the first ``fail_first`` requests (or to all with ``always_fail``), 200 after."""

    fail_first: int = 0
    always_fail: bool = False
    delay_s: float = 0.0
    received: list[Received] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, headers: dict[str, str], raw: bytes) -> int:
        time.sleep(self.delay_s)
        with self.lock:
            failing = self.always_fail or len(self.received) < self.fail_first
            status = 503 if failing else 200
            self.received.append(Received(path, headers, raw, status))
        return status

    def delivered(self) -> list[Received]:
        """Requests the gateway accepted (200)."""
        return [r for r in self.received if r.status == 200]


@contextmanager
def fake_gateway(**kwargs: object) -> Iterator[Gateway]:
    gateway = Gateway(**kwargs)  # type: ignore[arg-type]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = gateway.answer(self.path, dict(self.headers), raw)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
