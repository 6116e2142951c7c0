"""Map pages in real headless Chromium: drawn, offline, error-free, with their layers."""

from __future__ import annotations

import pytest

from tests.browser import chromium, live_server, visit


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def base(district_engine):
    from api.app import create_app

    with live_server(create_app({"ENGINE": district_engine})) as url:
        yield url


def test_grid_map_draws_offline_with_every_grid(browser, base, demo_layers):
    page, seen = visit(browser, base, "/maps/grids", "grids.png")
    assert seen.outside == [] and seen.errors == []
    assert any("/static/vendor/leaflet@" in r for r in seen.requests)
    shapes = page.locator("path.leaflet-interactive").count()
    assert shapes >= len(demo_layers["grids"])
    labels = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert any("网格 Grids" in t for t in labels) and any("社区" in t for t in labels)
    assert "数据来源 Source" in page.content()
    page.close()
