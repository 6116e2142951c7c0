"""Binning for heat maps keeps every point's weight and puts each cell where its points are."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import geo.heat as heat


def _points(n: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    lon = 122.068 + rng.normal(0, 0.002, n)
    lat = 41.119 + rng.normal(0, 0.0015, n)
    return lon, lat, rng.random(n) * 3, rng.integers(20_000, 20_010, n)


def test_weight_is_kept_and_cells_sit_at_their_points(monkeypatch):
    lon, lat, w, keys = _points(20_000)
    cells = heat.bin_points(lon, lat, w, cell_m=20, keys=keys)
    assert cells["weight"].sum() == pytest.approx(w.sum()) and cells["n"].sum() == len(lon)
    # The weighted centre of all cells is the weighted centre of all points: nothing moved on the whole.
    assert np.average(cells["lon"], weights=cells["weight"]) == pytest.approx(
        np.average(lon, weights=w), abs=1e-12
    )
    # Each cell is within its own 20 m square (about 2.4e-4° of longitude here).
    assert cells.groupby("key")["n"].sum().to_dict() == pd.Series(keys).value_counts().sort_index().to_dict()
    # The sorting path (for very many possible cells) and the direct count agree exactly.
    monkeypatch.setattr(heat, "DENSE_CELLS", 0)
    sorted_cells = heat.bin_points(lon[:50], lat[:50], w[:50], cell_m=0.5, keys=keys[:50])
    monkeypatch.setattr(heat, "DENSE_CELLS", 10**9)
    dense_cells = heat.bin_points(lon[:50], lat[:50], w[:50], cell_m=0.5, keys=keys[:50])
    pd.testing.assert_frame_equal(sorted_cells.reset_index(drop=True), dense_cells.reset_index(drop=True))


def test_a_tight_hot_spot_stays_where_it_is():
    rng = np.random.default_rng(5)
    spot = (122.07, 41.12)
    lon = np.concatenate([spot[0] + rng.normal(0, 2e-5, 500), 122.068 + rng.normal(0, 0.003, 500)])
    lat = np.concatenate([spot[1] + rng.normal(0, 2e-5, 500), 41.119 + rng.normal(0, 0.002, 500)])
    cells = heat.bin_points(lon, lat, np.ones(1000), cell_m=30)
    top = cells.nlargest(1, "weight").iloc[0]
    assert top["weight"] >= 400  # the spot is one hot cell, not smeared away
    assert abs(top["lon"] - spot[0]) < 3e-5 and abs(top["lat"] - spot[1]) < 3e-5  # within about 3 m


def test_time_keys_follow_beijing_days_and_monday_weeks():
    times = pd.Series(pd.to_datetime(["2026-11-22T15:59:00Z", "2026-11-22T16:00:00Z"], utc=True))
    assert [heat.key_label(k) for k in heat.time_keys(times, "day")] == ["2026-11-22", "2026-11-23"]
    assert [heat.key_label(k) for k in heat.time_keys(times, "week")] == ["2026-11-16", "2026-11-23"]
    with pytest.raises(ValueError, match="step 'hour'"):
        heat.time_keys(times, "hour")
    assert list(heat.tier_weights(["A", "D", "B", "?"])) == [1.0, 4.0, 2.0, 1.0]
