"""The overdue-visits map in headless Chromium: drawn offline for staff, one marker per overdue household of
the caller's area, hostile group names shown as text; refused without a staff token."""

from __future__ import annotations

import pytest

from tests.browser import chromium, live_server, visit
from tests.residents_world import building_of, id_number, resident_key_file  # noqa: F401 (a fixture)

HOSTILE = "<img src=x onerror=alert(1)>独居"


@pytest.fixture(scope="module")
def browser():  # tests using it are marked browser by conftest
    with chromium() as b:
        yield b


def _register(world, place, room: str, serial: int) -> None:
    body = {
        "building": building_of(world, place.grid_id),
        "room": room,
        "name": "住户",
        "id_number": id_number(serial),
        "groups": ["lonely_elder"],
    }
    assert world.post("/api/v1/residents", world.district, body).status_code == 201


def test_staff_see_their_overdue_households_and_others_are_refused(browser, world):
    renamed = {"code": "lonely_elder", "name_zh": HOSTILE, "name_en": "alone", "visit_days": 7}
    assert world.post("/api/v1/residents/groups", world.district, renamed).status_code == 200
    mine, other = world.places[0], world.places[1]
    _register(world, mine, "101", 1)
    _register(world, mine, "102", 2)
    _register(world, other, "101", 3)
    world.clock.advance(days=20)  # 13 days past the 7-day plan
    worker = world.user("网格员", "grid_worker", person=mine.worker_id)
    citizen = world.user("张三", "citizen", phone="13812345678")
    with live_server(world.app) as base:
        page, seen = visit(browser, base, "/maps/visits", "visits.png", token=worker)
        assert seen.outside == [] and seen.errors == []
        assert "逾期走访 Overdue visits" in page.content() and "2 户逾期" in page.content()
        markers = page.locator("path.leaflet-interactive[stroke='#ef6c00']")  # 13 days overdue: the 7–30 band
        assert markers.count() == 2  # the worker's grid only
        markers.first.click(force=True)
        popup = page.locator(".leaflet-popup-content")
        assert HOSTILE in popup.inner_text() and popup.locator("img").count() == 0
        assert "住户" not in page.content()  # places, never people
        page.close()
        district, seen = visit(browser, base, "/maps/visits", "visits-district.png", token=world.district)
        assert district.locator("path.leaflet-interactive[stroke='#ef6c00']").count() == 3
        district.close()
    assert world.get("/maps/visits").status_code == 401
    assert world.get("/maps/visits", citizen).status_code == 403
