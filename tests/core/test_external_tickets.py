"""12345 hotline tickets (issue 17): a case carries its ticket number, unique per source; the same ticket
imported twice (by the JSON API, by Open311, or twice at once) is one case; every change of its status is
pushed back to the hotline through the outbox's signed webhook."""

from __future__ import annotations

import dataclasses
import threading

from core.outbox import send_due
from geo.settings import Settings
from tests.gateway import fake_gateway

TICKET = "2026030200017"
CALLER = {"name": "王大妈", "phone": "13700001111"}


def _ticket(world, token, place, ref=TICKET, **extra):
    return world.report(
        token, place, "A01", channel="hotline_12345", reporter=CALLER, external_ref=ref, **extra
    )


def _pushed(world, incident_id: int) -> list[str]:
    rows = world.sql(
        "SELECT recipient, body FROM outbox WHERE incident_id = :i AND kind = 'status' ORDER BY id",
        i=incident_id,
    )
    assert {r.recipient for r in rows} <= {f"12345:{TICKET}"}
    return [r.body["status"] for r in rows]


def test_a_ticket_imported_twice_is_one_case_and_its_status_goes_back(world):
    place = world.places[0]
    worker = world.user("网格员", "grid_worker", person=place.worker_id)
    first = _ticket(world, world.street, place)
    assert first.status_code == 201, first.get_json()
    inc = first.get_json()
    assert inc["external"] == {"source": "12345", "ref": TICKET} and inc["channel"] == "hotline_12345"
    again = _ticket(world, world.street, place, description="重复转办")
    assert again.status_code == 200 and again.get_json()["id"] == inc["id"]
    assert world.sql("SELECT count(*) FROM incidents WHERE external_ref = :r", r=TICKET)[0][0] == 1
    other_source = _ticket(world, world.street, place, external_source="wechat_gov")
    assert other_source.status_code == 201  # unique per source, not across sources
    assert _pushed(world, inc["id"]) == ["reported"]

    for action in ("accept", "start", "resolve"):
        assert world.step(worker, inc["id"], action).status_code == 200
    assert _pushed(world, inc["id"]) == ["reported", "accepted", "in_progress", "resolved"]

    with fake_gateway() as gateway:
        settings = dataclasses.replace(
            Settings(), webhook_url=gateway.url + "/hook", sms_url=gateway.url + "/sms", webhook_secret="k"
        )
        with world.engine.begin() as conn:
            send_due(conn, now=world.clock.now, settings=settings)
    statuses = [r.json["status"] for r in gateway.delivered() if r.json.get("recipient") == f"12345:{TICKET}"]
    assert statuses == ["reported", "accepted", "in_progress", "resolved"]
    caller = [r.json for r in gateway.delivered() if r.path == "/sms" and r.json["to"] == CALLER["phone"]]
    assert len(caller) == 1 and "/rate" in caller[0]["text"]  # the caller hears of the resolution


def test_citizens_cannot_claim_a_ticket_number(world):
    citizen = world.user("张三", "citizen", phone="13812345678")
    r = world.report(citizen, world.places[1], "A01", external_ref=TICKET)
    assert r.status_code == 403
    assert world.report(world.street, world.places[1], "A01", external_ref="bad ref!").status_code == 400


def test_the_same_ticket_imported_twice_at_once_is_one_case(world):
    place = world.places[2]
    answers: list[int] = []

    def post() -> None:
        client = world.app.test_client()
        body = {"lon": place.lon, "lat": place.lat, "category": "A01", "channel": "hotline_12345"}
        body |= {"reporter": CALLER, "external_ref": "race-1"}
        r = client.post("/api/v1/incidents", json=body, headers={"Authorization": f"Bearer {world.street}"})
        answers.append(r.status_code)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [200, 200, 200, 201]
    assert world.sql("SELECT count(*) FROM incidents WHERE external_ref = 'race-1'")[0][0] == 1


def test_open311_takes_the_ticket_number_as_an_extra_field(world):
    place = world.places[3]
    form = {
        "api_key": world.street,
        "service_code": "A01",
        "lat": str(place.lat),
        "long": str(place.lon),
        "first_name": "大妈",
        "last_name": "王",
        "phone": CALLER["phone"],
        "external_ref": "311-77",
    }
    first = world.client.post("/open311/v2/requests.json", data=form)
    second = world.client.post("/open311/v2/requests.json", data=form)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json()[0]["service_request_id"] == second.get_json()[0]["service_request_id"]
    case = world.get(
        f"/api/v1/incidents/{first.get_json()[0]['service_request_id']}", world.district
    ).get_json()
    assert case["external"] == {"source": "12345", "ref": "311-77"} and case["channel"] == "hotline_12345"
