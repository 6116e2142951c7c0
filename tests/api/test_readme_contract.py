"""The README's CLI and API tables are contracts other tools rely on: every command, flag and route they
spell out must exist, and everything the code registers must be in them."""

from __future__ import annotations

import re
from pathlib import Path

import click
from sqlalchemy import create_engine

from api.cli import main
from api.http.app import create_app
from core.vocabulary import SPATIAL_LAYERS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
# Routes that serve the pages' own needs rather than a client's.
UNLISTED_ROUTES = {"/favicon.ico", "/static/{}"}


def _rows(heading: str) -> list[str]:
    """The table rows of a README section (up to the next heading)."""
    section = README.split(heading, 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| ---")]


def _leaves(group: click.Group, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], click.Command]:
    out: dict[tuple[str, ...], click.Command] = {}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            out |= _leaves(command, (*path, name))
        else:
            out[(*path, name)] = command
    return out


def _documented_commands() -> dict[tuple[str, ...], set[str]]:
    """Command path → the flags its README row names (rows may name several commands: `a\\|b`, `x / y`)."""
    found: dict[tuple[str, ...], set[str]] = {}
    for row in _rows("## CLI reference"):
        cell = row.split(" | ")[0].removeprefix("| ")
        for span in re.findall(r"`([^`]+)`", cell):
            words = span.replace("\\|", "|").split()
            if words and words[0] == "wangge":
                words = words[1:]
            paths: list[tuple[str, ...]] = [()]
            group: click.Command = main
            for word in words:
                if not isinstance(group, click.Group) or word.startswith(("-", "[")):
                    break
                names = word.split("|")
                if not all(n in group.commands for n in names):
                    break
                paths = [(*p, n) for p in paths for n in names]
                group = group.commands[names[0]]
            flags = set(re.findall(r"(--[a-z][a-z0-9-]*)", span))
            for p in paths:
                if p:
                    found.setdefault(p, set()).update(flags)
    return found


def test_every_cli_command_and_flag_in_the_readme_exists_and_every_command_is_documented():
    commands = _leaves(main)
    documented = _documented_commands()
    assert set(commands) - set(documented) == set(), "commands missing from the README's CLI table"
    for path, flags in documented.items():
        assert path in commands, f"README names `wangge {' '.join(path)}`, which does not exist"
        options = {o for p in commands[path].params for o in p.opts if o.startswith("--")}
        assert flags <= options, f"`wangge {' '.join(path)}` has no {sorted(flags - options)}"


def _normalised(route: str) -> str:
    return re.sub(r"<[^>]+>|\{[^}]*\}", "{}", route)


def test_every_route_in_the_readme_is_registered_and_every_route_is_documented():
    app = create_app({"ENGINE": create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")})
    registered = {
        (method, _normalised(rule.rule))
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = set()
    for row in _rows("## API"):
        cells = [c.strip() for c in row.strip("|").split("|")]
        if cells[0] in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            documented.add((cells[0], _normalised(cells[1].strip("`"))))
    assert documented, "the README's API table has no rows"
    assert documented - registered == set(), "README routes that the app does not register"
    missing = {r for r in registered - documented if r[1] not in UNLISTED_ROUTES}
    assert missing == set(), "registered routes missing from the README's API table"


def test_the_layer_route_lists_every_spatial_layer():
    row = next(r for r in _rows("## API") if "`/api/v1/{layer}`" in r)
    assert [layer for layer in SPATIAL_LAYERS if f"`{layer}`" not in row] == []
