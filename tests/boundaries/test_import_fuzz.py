"""Hypothesis over the importer: whatever names and ids a file carries, `wangge import` either stores them
exactly as written or refuses the whole file with a reason; never a traceback, never a silent change."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from core.inputs import ID_PATTERN
from tests.boundaries.test_import_export import GRID_1, street_db, write_geojson  # noqa: F401 (fixture)

_serial = itertools.count()
# Names as people and hostile files write them: any character (controls and NUL included), any length.
NAMES = st.one_of(
    st.text(max_size=120),
    st.sampled_from(["</script><img src=x onerror=alert(1)>", "a\x00b", "名" * 101, "`${x}`", " 前后空格 "]),
)
IDS = st.one_of(st.from_regex(ID_PATTERN, fullmatch=True), st.text(min_size=1, max_size=70))


def _stored(url: str, grid_id: str) -> list[tuple]:
    if "\x00" in grid_id:  # no row can hold it (and PostgreSQL refuses it as a parameter)
        return []
    engine = create_engine(url)
    with engine.connect() as c:
        rows = c.execute(text("SELECT id, name FROM grids WHERE id = :i"), {"i": grid_id}).all()
    engine.dispose()
    return [tuple(r) for r in rows]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NAMES, raw_id=IDS)
def test_import_stores_exactly_or_refuses_whole(street_db, cli, tmp_path, name, raw_id):  # noqa: F811
    grid_id = f"{raw_id}{next(_serial)}" if raw_id.isascii() and raw_id.isalnum() else raw_id
    row = {"id": grid_id, "name": name, "community_id": "211103001001", "households": 400}
    path = write_geojson(tmp_path / f"g{next(_serial)}.geojson", [row], [GRID_1.buffer(-0.0001)])
    before = _stored(street_db, grid_id)
    r = cli(street_db, "import", "grids", str(path))
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    if r.exit_code == 0:
        assert before == [] and _stored(street_db, grid_id) == [(grid_id, name.strip() or grid_id)]
    else:
        # A feature refused (exit 1) or a file that cannot be read at all (exit 2), each with its reason.
        assert r.exit_code in (1, 2) and ("nothing written" in r.output or "导入失败" in r.output), r.output[
            -400:
        ]
        assert _stored(street_db, grid_id) == before
