"""An Open311 GeoReport v2 client, written from the spec, creates, lists and reads requests on a live server."""

from __future__ import annotations

import pytest

from tests.browser import live_server
from tests.open311_client import GeoReportV2, Open311Error
from tests.workflow import Place


def test_an_open311_client_works_unchanged(world):
    place = world.places[0]
    citizen = world.user("张三", "citizen", phone="13812345678")
    building = world.sql(
        "SELECT name FROM buildings WHERE grid_id = :g ORDER BY id LIMIT 1", g=place.grid_id
    )[0][0]
    with live_server(world.app) as base:
        client = GeoReportV2(f"{base}/open311/v2", api_key=citizen)
        _check_services(client)
        rid, other = _create_and_read_back(client, place, building)
        # Close the first through the workflow: Open311 reads it as closed.
        for action in ("accept", "start", "resolve", "verify", "close"):
            world.step(world.street, int(rid), action)
        _check_listings(client, rid, other)
        _check_refusals(client, base, place)
    assert world.sql("SELECT count(*) FROM incidents")[0][0] == 2


def _check_services(client: GeoReportV2) -> None:
    """Every tier's categories are services, each with the fields the spec lists and no attributes."""
    services = client.services()
    codes = {s["service_code"] for s in services}
    assert {"A01", "B01", "C01", "D01"} <= codes
    assert all(
        set(s) >= {"service_code", "service_name", "metadata", "type", "keywords", "group"} for s in services
    )
    assert client.service_definition("A01") == {"service_code": "A01", "attributes": []}


def _create_and_read_back(client: GeoReportV2, place: Place, building: str) -> tuple[str, str]:
    """One request at a point, one at a building's name; each reads back (the phone kept private).
    Returns their ids."""
    created = client.create_request(
        "A03",
        lat=place.lat,
        long=place.lon,
        description="路灯不亮",
        first_name="三",
        last_name="张",
        phone="13812345678",
        media_url="https://example.org/p.jpg",
    )
    rid = created["service_request_id"]
    assert "service_notice" in created and "account_id" in created
    by_address = client.create_request("A02", address_string=building, description="三楼东侧堆满纸箱")
    one = client.request(rid)
    assert one["status"] == "open" and one["service_code"] == "A03" and one["description"] == "路灯不亮"
    assert one["lat"] == pytest.approx(place.lat) and one["long"] == pytest.approx(place.lon)
    assert one["media_url"] == "https://example.org/p.jpg" and one["requested_datetime"].startswith(
        "2026-03-02"
    )
    assert "phone" not in one and "13812345678" not in str(one)
    second = client.request(by_address["service_request_id"])
    assert second["address_id"] is not None
    # A02's text is not public: the public reads that it was reported, not what was written.
    assert second["description"] is None and "纸箱" not in str(second)
    return rid, by_address["service_request_id"]


def test_public_reads_never_show_a_private_matter(world):
    """A09 (an elder living alone) is private: Open311 neither lists nor reads it, though staff see it."""
    place = world.places[0]
    citizen = world.user("李四", "citizen", phone="13900001111")
    secret = "3单元502王奶奶独居，80岁，几天没见出门"
    with live_server(world.app) as base:
        client = GeoReportV2(f"{base}/open311/v2", api_key=citizen)
        private = client.create_request("A09", lat=place.lat, long=place.lon, description=secret)
        public = client.create_request(
            "A01", lat=place.lat, long=place.lon, description="垃圾堆放 13900001111"
        )
        listed = client.requests(start_date="2026-03-01")
        assert [r["service_request_id"] for r in listed] == [public["service_request_id"]]
        assert listed[0]["description"] is None and "13900001111" not in str(listed)
        assert "李四" not in str(listed)
        with pytest.raises(Open311Error) as caught:
            client.request(private["service_request_id"])
        assert caught.value.status == 404
        assert secret not in str(client.requests(service_code="A09", start_date="2026-03-01"))
    staff = world.get(f"/api/v1/incidents/{private['service_request_id']}", world.street)
    assert staff.status_code == 200 and staff.get_json()["description"] == secret


def _check_listings(client: GeoReportV2, rid: str, other: str) -> None:
    """Listing by period, status, service code and id (``rid`` closed, ``other`` open)."""
    listed = client.requests(start_date="2026-03-01T00:00:00Z", end_date="2026-03-03T00:00:00Z")
    assert {r["service_request_id"] for r in listed} == {rid, other}
    closed = client.requests(status="closed", start_date="2026-03-01")
    assert [r["service_request_id"] for r in closed] == [rid]
    assert [r["service_code"] for r in client.requests(status="open", start_date="2026-03-01")] == ["A02"]
    of_a02 = client.requests(service_code="A02", start_date="2026-03-01")
    assert [r["service_request_id"] for r in of_a02] == [other]
    assert [r["service_request_id"] for r in client.requests(service_request_id=rid)] == [rid]


def _check_refusals(client: GeoReportV2, base: str, place: Place) -> None:
    """Each bad request is refused with its status and Open311's error list, saying what is wrong."""
    for call, status, words in (
        (
            lambda: client.create_request("Z99", lat=place.lat, long=place.lon),
            404,
            "service_code 'Z99' not found",
        ),
        (lambda: client.create_request("A01", lat=39.9, long=116.4), 400, "outside the service area"),
        (lambda: client.create_request("A01", address_string="火星路"), 400, "matches no building"),
        (lambda: client.create_request("A01"), 400, "location is required"),
        (
            lambda: GeoReportV2(f"{base}/open311/v2", api_key="nope").create_request(
                "A01", lat=place.lat, long=place.lon
            ),
            403,
            "api_key",
        ),
        (lambda: client.request("999999"), 404, "not found"),
        (lambda: client.service_definition("Z99"), 404, "not found"),
        (lambda: client.requests(status="pending"), 400, "status"),
    ):
        with pytest.raises(Open311Error) as caught:
            call()
        assert caught.value.status == status
        assert caught.value.errors[0]["code"] == status and words in caught.value.errors[0]["description"]
