"""The shape the code keeps so a reader can find a room by its name: no module over 500 lines (migrations
are history and exempt), no function over 60, and every layer's imports as ARCHITECTURE.md draws them
(import-linter checks those in `make lint`; here only what it does not)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("geo", "store", "core", "boundaries", "maps", "api", "bench", "tests")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


def _modules() -> list[Path]:
    return sorted(
        p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts
    )


def test_no_module_is_over_500_lines():
    long = {str(p.relative_to(ROOT)): n for p in _modules() if (n := len(p.read_text().splitlines())) > 500}
    assert long == {}


def test_no_function_is_over_60_lines():
    long = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = lines
    assert long == {}


def test_the_layers_are_folders_a_reader_can_see():
    for folder in ("geo", "store", "core", "boundaries", "maps", "api/http", "api/cli"):
        assert (ROOT / folder / "__init__.py").exists(), folder
    assert (ROOT / "ARCHITECTURE.md").exists()
