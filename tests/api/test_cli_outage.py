"""The command line with the database away: one clear message and exit 1, never a traceback."""

from __future__ import annotations

import socket

import pytest


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens on it once the socket is closed


@pytest.mark.parametrize("command", ["users list", "scores", "validate", "incidents tick"])
def test_commands_say_the_database_is_away(cli, command):
    url = f"postgresql+psycopg://wangge@127.0.0.1:{_closed_port()}/wangge"
    r = cli(url, command)
    assert r.exit_code == 1, (r.exit_code, r.output)
    assert "the database is unavailable" in r.output and "Traceback" not in r.output
