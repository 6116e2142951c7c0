"""The heat page's cells summed in PostGIS are the cells ``geo.heat`` bins from the same incidents read out
one by one: the same weights at the same weighted means, for the whole period and for each day or week;
nothing dropped, and what the page draws is only the cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from core.access import Principal
from core.mapdata import IncidentFilter, heat_data, incident_points
from core.periods import period
from geo.heat import HEAT_CELL_M, TIME_CELLS_M, bin_points, tier_weights, time_keys
from tests.conftest import HISTORY_END


@pytest.fixture(scope="module")
def history(history_url):
    engine = create_engine(history_url)
    with engine.connect() as conn:
        yield conn
    engine.dispose()


def _same_cells(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    order = ["key", "lon", "lat"]
    a = ours.sort_values(order).reset_index(drop=True)
    b = theirs.sort_values(order).reset_index(drop=True)
    assert len(a) == len(b)
    for column in ("key", "n"):
        assert (a[column].to_numpy() == b[column].to_numpy()).all()
    for column in ("lon", "lat", "weight"):
        assert np.allclose(a[column].to_numpy(), b[column].to_numpy(), rtol=0, atol=1e-9)


@pytest.mark.parametrize("step", ["day", "week"])
def test_cells_summed_in_postgis_equal_the_binned_points(history, step):
    f = IncidentFilter(period("2026-05-01", "2026-11-01", now=HISTORY_END), tiers=("A", "B", "C"))
    heat, recent = heat_data(history, f, None, step, 25)
    points = incident_points(history, f, None)
    assert heat.total == len(points) > 1000 and set(points["tier"]) == {"A", "B", "C"}
    w = tier_weights(points["tier"])
    lon, lat = points["lon"], points["lat"]
    _same_cells(heat.cells, bin_points(lon, lat, w, cell_m=HEAT_CELL_M, lat0=heat.lat0))
    keys = time_keys(points["reported_at"], step)
    _same_cells(heat.frames, bin_points(lon, lat, w, cell_m=TIME_CELLS_M[0], keys=keys, lat0=heat.lat0))
    assert heat.cells["weight"].sum() == pytest.approx(w.sum())
    assert len(heat.cells) < len(points)  # cells, never more than the points
    # The markers: the 25 most recent reports, newest first.
    newest = points.sort_values("reported_at", ascending=False).head(25)
    assert recent["reported_at"].tolist() == newest["reported_at"].tolist()


def test_a_caller_sees_the_cells_of_what_they_may_see_only(history):
    community = history.execute(text("SELECT community_id FROM incidents LIMIT 1")).scalar_one()
    admin = Principal(1, "社区管理员", "community_admin", community, None, None)
    f = IncidentFilter(period("2026-01-01", "2026-11-01", now=HISTORY_END))
    mine, _ = heat_data(history, f, admin, "week", 0)
    everyone, _ = heat_data(history, f, None, "week", 0)
    assert 0 < mine.total < everyone.total
    assert mine.total == len(incident_points(history, f, admin))
