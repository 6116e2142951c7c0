"""The incident workflow over HTTP against the real PostGIS: every transition, refusal and access rule."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.incidents.lifecycle import tick
from geo.coords import from_wgs84
from geo.settings import get_settings
from store.hierarchy import metric_epsg
from tests.workflow import START

PHONE = "13812345678"


@pytest.fixture
def citizen(world):
    return world.user("张三", "citizen", phone=PHONE)


def _count(world, table: str = "incidents") -> int:
    return world.sql(f"SELECT count(*) FROM {table}")[0][0]  # noqa: S608 (a name from this file)


def test_a_resident_reports_litter_and_the_grid_worker_closes_it(world, citizen):
    place = world.places[0]
    worker = world.user("网格员", "grid_worker", person=place.worker_id)
    r = world.report(citizen, place, "A01", description="3号楼门口垃圾堆放")
    assert r.status_code == 201, r.get_json()
    inc = r.get_json()
    assert inc["status"] == "reported" and inc["tier"] == "A"
    assert inc["grid"]["id"] == place.grid_id and inc["community"]["id"] == place.community_id
    assert inc["street"]["id"] == world.street_id
    assert inc["assignee"] == {"kind": "person", "id": place.worker_id, "person": inc["worker"]}
    assert inc["deadlines"]["response_due"] == "2026-03-02T08:30:00+08:00"  # A01: respond within 30 min
    assert inc["deadlines"]["completion_due"] == "2026-03-03T08:00:00+08:00"  # and finish within 24 h
    assert inc["reporter"] == {"name": "张三", "phone": "138****5678"}
    assert r.headers["Location"] == f"/api/v1/incidents/{inc['id']}"
    assert world.get(r.headers["Location"], citizen).get_json() == inc  # the answer is what is stored

    world.clock.advance(minutes=20)
    assert world.step(worker, inc["id"], "accept").get_json()["status"] == "accepted"
    assert world.step(worker, inc["id"], "start").get_json()["status"] == "in_progress"
    world.clock.advance(hours=2)
    resolved = world.step(worker, inc["id"], "resolve", note="已清运").get_json()
    assert (
        resolved["status"] == "resolved" and resolved["times"]["resolved_at"] == "2026-03-02T10:20:00+08:00"
    )
    assert world.step(world.street, inc["id"], "verify").get_json()["status"] == "verified"
    assert world.step(world.street, inc["id"], "close").get_json()["status"] == "closed"
    rated = world.step(citizen, inc["id"], "rate", rating=5)
    assert rated.status_code == 200 and rated.get_json()["rating"] == 5

    assert world.get(f"/api/v1/incidents/{inc['id']}", citizen).get_json()["id"] == inc["id"]
    events = world.get(f"/api/v1/incidents/{inc['id']}/events", world.district).get_json()["events"]
    assert [(e["action"], e["from_status"], e["to_status"]) for e in events] == [
        ("report", None, "reported"),
        ("accept", "reported", "accepted"),
        ("start", "accepted", "in_progress"),
        ("resolve", "in_progress", "resolved"),
        ("verify", "resolved", "verified"),
        ("close", "verified", "closed"),
        ("rate", "closed", "closed"),
    ]
    assert [e["role"] for e in events] == [
        "citizen",
        "grid_worker",
        "grid_worker",
        "grid_worker",
        "street_admin",
        "street_admin",
        "citizen",
    ]
    assert events[1]["actor"] == place.worker_id and events[1]["at"] == "2026-03-02T08:20:00+08:00"
    assert events[3]["note"] == "已清运"


def test_dispatch_path_and_a_return_goes_back_to_the_dispatcher(world, citizen):
    place, other = world.places[0], world.places[1]
    worker = world.user("网格员", "grid_worker", person=place.worker_id)
    inc = world.report(citizen, place, "A02").get_json()
    assert world.step(worker, inc["id"], "return").status_code == 400  # a reason is required
    returned = world.step(worker, inc["id"], "return", note="不属于本网格").get_json()
    assert returned["status"] == "returned"
    assert returned["assignee"] == {"kind": "street", "id": world.street_id}
    # The returning worker no longer holds it; the street's dispatcher sends it on.
    assert world.step(worker, inc["id"], "accept").status_code == 403
    assert world.step(world.street, inc["id"], "dispatch").status_code == 400  # nobody named
    assert world.step(world.street, inc["id"], "dispatch", assignee_id="nobody").status_code == 422
    sent = world.step(world.street, inc["id"], "dispatch", assignee_id=other.worker_id).get_json()
    assert sent["status"] == "dispatched" and sent["assignee"]["id"] == other.worker_id
    other_worker = world.user("邻格网格员", "grid_worker", person=other.worker_id)
    assert world.step(other_worker, inc["id"], "start").get_json()["status"] == "in_progress"


def test_illegal_transitions_answer_409_and_change_nothing(world, citizen):
    inc = world.report(citizen, world.places[0]).get_json()
    before = _count(world, "incident_events")
    for action in ("close", "verify", "resolve", "start", "rate"):
        r = world.step(world.district, inc["id"], action, **({"rating": 5} if action == "rate" else {}))
        assert r.status_code == 409, (action, r.get_json())
        assert r.mimetype == "application/problem+json" and "reported" in r.get_json()["detail"]
    assert world.step(world.district, inc["id"], "fly").status_code == 404
    assert world.step(world.district, inc["id"], "accept", rating="x").status_code == 400
    assert _count(world, "incident_events") == before
    assert world.get(f"/api/v1/incidents/{inc['id']}", world.district).get_json()["status"] == "reported"


def test_bad_reports_get_precise_errors_and_create_nothing(world, citizen):
    place = world.places[0]
    cases = [
        ({"lon": 116.39, "lat": 39.9, "category": "A01"}, 422, "outside the service area"),
        ({"lon": place.lon, "lat": place.lat, "category": "Z99"}, 422, "unknown incident category 'Z99'"),
        ({"lon": place.lon, "lat": 95.2, "category": "A01"}, 400, "95.2"),
        ({"lon": place.lon, "lat": place.lat, "category": "A01", "crs": "utm"}, 400, "crs"),
        ({"lon": place.lon, "lat": place.lat, "category": "A01", "channel": "fax"}, 400, "channel"),
        (
            {"lon": place.lon, "lat": place.lat, "category": "A01", "photo_urls": ["file:///etc/passwd"]},
            400,
            "http",
        ),
        ({"lon": place.lon, "lat": place.lat, "category": "A01", "colour": "red"}, 400, "colour"),
        ({"lat": place.lat, "category": "A01"}, 400, "lon"),
    ]
    for body, status, words in cases:
        r = world.post("/api/v1/incidents", citizen, body)
        assert r.status_code == status, (body, r.get_json())
        assert r.mimetype == "application/problem+json" and words in r.get_json()["detail"], r.get_json()
    nan = world.client.post(
        "/api/v1/incidents",
        data='{"lon": NaN, "lat": 41.1, "category": "A01"}',
        headers={"Authorization": f"Bearer {citizen}", "Content-Type": "application/json"},
    )
    assert nan.status_code == 400 and "finite" in nan.get_json()["detail"]
    big = world.report(citizen, place, description="长" * 70_000)
    assert big.status_code == 413
    hotline = world.report(world.street, place, channel="hotline_12345")
    assert hotline.status_code == 400 and "reporter name and phone" in hotline.get_json()["detail"]
    assert world.report(citizen, place, channel="camera").status_code == 403
    assert world.report(None, place).status_code == 401
    assert _count(world) == 0 and _count(world, "incident_events") == 0


def test_phone_coordinates_in_gcj02_and_bd09_land_in_the_same_grid(world, citizen):
    place = world.places[5]
    for crs in ("gcj02", "bd09"):
        lon, lat = from_wgs84(place.lon, place.lat, crs)
        inc = world.report(citizen, (float(lon), float(lat)), crs=crs).get_json()
        assert inc["grid"]["id"] == place.grid_id
        assert inc["location"]["input"]["crs"] == crs
        assert (
            abs(inc["location"]["lon"] - place.lon) < 1e-6 and abs(inc["location"]["lat"] - place.lat) < 1e-6
        )


def test_a_retried_post_returns_the_first_incident(world, citizen):
    place = world.places[0]
    first = world.report(citizen, place, key="k-1")
    again = world.report(citizen, place, key="k-1")
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    changed = world.report(citizen, place, "A02", key="k-1")
    assert changed.status_code == 422 and "different request body" in changed.get_json()["detail"]
    # Another caller's key is their own.
    other = world.user("李四", "citizen", phone="13900000000")
    assert world.report(other, place, key="k-1").status_code == 201
    assert _count(world) == 2 and _count(world, "incident_events") == 2


def test_road_matters_go_to_the_segments_chief(world, citizen):
    # A segment with both a party and a merchant chief: shop matters go to the merchant chief.
    seg, lon, lat = world.sql("""
        SELECT s.id, ST_X(ST_LineInterpolatePoint(s.geom, 0.37)), ST_Y(ST_LineInterpolatePoint(s.geom, 0.37))
        FROM road_segments s JOIN people p ON p.segment_id = s.id
        GROUP BY s.id HAVING count(DISTINCT p.chief_kind) = 2 ORDER BY s.id LIMIT 1""")[0]
    chiefs = dict(world.sql("SELECT chief_kind, min(id) FROM people WHERE segment_id = :s GROUP BY 1", s=seg))
    light = world.report(citizen, (lon, lat), "A03").get_json()  # street light out
    assert light["segment"]["id"] == seg and light["assignee"]["id"] == chiefs["party"]
    vending = world.report(citizen, (lon, lat), "B02").get_json()  # street vending
    assert vending["assignee"]["id"] == chiefs["merchant"] and vending["tier"] == "B"
    litter = world.report(citizen, (lon, lat), "A01").get_json()  # not a road matter: the grid worker
    assert litter["assignee"]["person"]["role"] == "grid_worker"


def test_points_near_a_grid_boundary_are_flagged_with_the_candidates(world, citizen):
    a, b, lon, lat = world.sql("""
        SELECT g1.id, g2.id, ST_X(p), ST_Y(p) FROM grids g1 JOIN grids g2 ON g1.id < g2.id
          AND ST_Length(ST_Intersection(g1.geom, g2.geom)) > 0.0005,
        LATERAL ST_LineInterpolatePoint(ST_LineMerge(ST_Intersection(g1.geom, g2.geom)), 0.5) p
        WHERE GeometryType(ST_LineMerge(ST_Intersection(g1.geom, g2.geom))) = 'LINESTRING'
        ORDER BY g1.id, g2.id LIMIT 1""")[0]
    on_edge = world.report(citizen, (lon, lat)).get_json()
    assert on_edge["near_boundary"] is True and set(on_edge["boundary_candidates"]["grids"]) >= {a, b}
    inside = world.report(citizen, world.places[0]).get_json()
    assert inside["near_boundary"] is False and inside["boundary_candidates"] == {}


def test_a_dispatcher_moves_a_misplaced_report_and_it_is_rerouted(world, citizen):
    here, there = world.places[0], world.places[20]
    inc = world.report(citizen, here).get_json()
    world.step(world.street, inc["id"], "accept")
    moved = world.step(world.street, inc["id"], "move", lon=there.lon, lat=there.lat).get_json()
    assert moved["grid"]["id"] == there.grid_id and moved["assignee"]["id"] == there.worker_id
    assert moved["status"] == "reported"  # the new worker accepts it themselves
    event = world.get(f"/api/v1/incidents/{inc['id']}/events", world.district).get_json()["events"][-1]
    assert event["action"] == "move" and event["data"]["from"]["grid"] == here.grid_id
    assert event["data"]["to"]["grid"] == there.grid_id
    assert world.step(world.street, inc["id"], "move", lon=130.0, lat=41.0).status_code == 422


def test_possible_duplicates_are_linked_and_can_be_merged(world, citizen):
    place = world.places[3]
    first = world.report(citizen, place, "A02").get_json()
    world.clock.advance(hours=3)
    second = world.report(citizen, (place.lon + 0.0001, place.lat), "A02").get_json()  # about 8 m away
    assert second["possible_duplicates"] == [first["id"]]
    assert world.report(citizen, place, "A06").get_json()["possible_duplicates"] == []  # another category
    world.clock.advance(hours=49)
    assert world.report(citizen, place, "A02").get_json()["possible_duplicates"] == []  # beyond 48 h
    merged = world.step(world.street, second["id"], "merge", into=first["id"]).get_json()
    assert merged["status"] == "merged" and merged["merged_into"] == first["id"]
    third = world.report(citizen, place, "A10").get_json()
    assert world.step(world.street, third["id"], "merge", into=second["id"]).status_code == 409
    assert world.step(world.street, third["id"], "merge", into=third["id"]).status_code == 400
    assert world.step(world.street, third["id"], "merge", into=99999).status_code == 422


def test_b_tier_summons_departments_and_cannot_close_until_they_report(world, citizen):
    inc = world.report(citizen, world.places[2], "B01").get_json()  # illegal construction
    assert inc["tier"] == "B" and inc["assignee"] == {"kind": "street", "id": world.street_id}
    enforcement = world.user("城管", "department", scope="urban_enforcement")
    housing = world.user("住建", "department", scope="housing")
    police = world.user("派出所", "department", scope="police")
    assert world.get(f"/api/v1/incidents/{inc['id']}", enforcement).status_code == 404
    assert world.step(world.street, inc["id"], "accept").status_code == 200
    summoned = world.step(world.street, inc["id"], "summon").get_json()  # the category's departments
    assert [s["department"] for s in summoned["summons"]] == ["housing", "urban_enforcement"]
    assert (
        summoned["summons"][1]["due_at"] == "2026-03-02T09:00:00+08:00"
    )  # enforcement reports within 60 min
    assert world.step(world.street, inc["id"], "summon", departments=["army"]).status_code == 422
    assert world.get(f"/api/v1/incidents/{inc['id']}", police).status_code == 404
    assert world.step(police, inc["id"], "report").status_code == 404
    world.clock.advance(minutes=40)
    assert world.step(enforcement, inc["id"], "report").status_code == 200
    assert world.step(enforcement, inc["id"], "report").status_code == 409  # once
    world.step(world.street, inc["id"], "start")
    blocked = world.step(world.street, inc["id"], "resolve")
    assert blocked.status_code == 409 and blocked.get_json()["waiting"] == ["housing"]
    assert world.step(housing, inc["id"], "report").status_code == 200
    assert world.step(world.street, inc["id"], "resolve").get_json()["status"] == "resolved"
    a_tier = world.report(citizen, world.places[2], "A01").get_json()
    world.step(world.street, a_tier["id"], "accept")
    assert world.step(world.street, a_tier["id"], "summon", departments=["police"]).status_code == 409


def test_the_clock_escalates_overdue_incidents_once_even_when_two_sweeps_race(world, citizen):
    ids = [world.report(citizen, p, "A04").get_json()["id"] for p in world.places[:6]]  # 12 h deadline
    settings = get_settings()
    with world.engine.begin() as c:
        srid = metric_epsg(c)
        assert tick(c, now=START.replace(hour=11), settings=settings, srid=srid) == []
    late = START.replace(hour=13)
    results: list[list[int]] = []

    def sweep():
        with world.engine.begin() as c:
            results.append(tick(c, now=late, settings=settings, srid=srid))

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results[0] + results[1]) == sorted(ids)
    rows = world.sql("SELECT tier, status, assignee_kind, escalations FROM incidents ORDER BY id")
    assert set(rows) == {("B", "escalated", "street", 1)}
    events = world.sql("SELECT actor, role, action FROM incident_events WHERE action = 'escalate'")
    assert len(events) == len(ids) and set(events) == {("system", "system", "escalate")}
    # Escalation gives the street its own deadline (B: 72 h); the next sweep leaves them be.
    with world.engine.begin() as c:
        assert tick(c, now=late.replace(hour=20), settings=settings, srid=srid) == []
    detail = world.get(f"/api/v1/incidents/{ids[0]}", world.district).get_json()
    assert detail["deadlines"]["due_at"] == "2026-03-05T21:00:00+08:00"
    assert detail["deadlines"]["completion_due"] == "2026-03-02T20:00:00+08:00"  # scoring keeps the original


def test_escalation_by_hand_stops_at_the_city(world, citizen):
    inc = world.report(citizen, world.places[0], "C02").get_json()
    assert inc["assignee"]["kind"] == "district"
    assert world.step(world.street, inc["id"], "escalate").status_code == 403  # C-tier is the district's
    up = world.step(world.district, inc["id"], "escalate", note="需市级协调").get_json()
    assert up["tier"] == "D" and up["assignee"]["kind"] == "city" and up["status"] == "escalated"
    top = world.step(world.district, inc["id"], "escalate")
    assert top.status_code == 409 and "city" in top.get_json()["detail"]


def test_rating_rules(world, citizen):
    place = world.places[0]
    inc = world.report(citizen, place).get_json()
    assert world.step(citizen, inc["id"], "rate", rating=5).status_code == 409  # not resolved yet
    for action in ("accept", "start", "resolve"):
        world.step(world.street, inc["id"], action)
    assert world.step(citizen, inc["id"], "rate", rating=6).status_code == 400
    stranger = world.user("王五", "citizen", phone="13700000000")
    assert world.step(stranger, inc["id"], "rate", rating=1).status_code == 404
    world.clock.advance(days=8)
    late = world.step(citizen, inc["id"], "rate", rating=4)
    assert late.status_code == 409 and "7 days" in late.get_json()["detail"]
    other = world.report(citizen, place, "A06").get_json()
    for action in ("accept", "start", "resolve"):
        world.step(world.street, other["id"], action)
    assert world.step(citizen, other["id"], "rate", rating=2).get_json()["rating"] == 2
    assert world.step(citizen, other["id"], "rate", rating=5).status_code == 409  # once


def test_who_sees_what(world, citizen):
    a, b = world.places[0], world.places[30]
    inc = world.report(citizen, a).get_json()
    path = f"/api/v1/incidents/{inc['id']}"
    worker_a = world.user("甲", "grid_worker", person=a.worker_id)
    worker_b = world.user("乙", "grid_worker", person=b.worker_id)
    community_a = world.user("社区甲", "community_admin", scope=a.community_id)
    community_b = world.user("社区乙", "community_admin", scope=b.community_id)
    stranger = world.user("王五", "citizen", phone="13700000000")
    assert a.community_id != b.community_id
    for token in (citizen, worker_a, community_a, world.street, world.district):
        assert world.get(path, token).status_code == 200
    for token in (worker_b, community_b, stranger):
        r = world.get(path, token)
        assert r.status_code == 404 and "that you can see" in r.get_json()["detail"]
    assert world.get(path).status_code == 401
    # Phones: masked for everyone but admins.
    assert world.get(path, worker_a).get_json()["reporter"]["phone"] == "138****5678"
    assert world.get(path, world.street).get_json()["reporter"]["phone"] == PHONE
    # Lists are scoped the same way.
    world.report(stranger, b)
    assert [i["id"] for i in world.get("/api/v1/incidents", citizen).get_json()["incidents"]] == [inc["id"]]
    assert len(world.get("/api/v1/incidents", world.district).get_json()["incidents"]) == 2
    assert len(world.get(f"/api/v1/incidents?grid={b.grid_id}", worker_a).get_json()["incidents"]) == 0
    # Acting needs the right role as well as sight.
    assert world.step(citizen, inc["id"], "accept").status_code == 403
    assert world.step(community_b, inc["id"], "accept").status_code == 404
    assert world.get("/api/v1/scores", citizen).status_code == 403
    # A revoked token stops at once.
    token_id = world.sql("SELECT id FROM api_tokens WHERE name = '甲'")[0][0]
    world.sql("UPDATE api_tokens SET revoked_at = now() WHERE id = :i", i=token_id)
    assert world.get(path, worker_a).status_code == 401
    assert world.sql("SELECT count(*) FROM api_tokens WHERE token_hash = :t", t=worker_a)[0][0] == 0


def test_incidents_are_never_deleted_and_events_never_rewritten(world, citizen):
    inc = world.report(citizen, world.places[0]).get_json()
    with pytest.raises(DBAPIError, match="never deleted"), world.engine.begin() as c:
        c.execute(text("DELETE FROM incidents WHERE id = :i"), {"i": inc["id"]})
    with pytest.raises(DBAPIError, match="append-only"), world.engine.begin() as c:
        c.execute(text("UPDATE incident_events SET note = 'x' WHERE incident_id = :i"), {"i": inc["id"]})
    assert _count(world) == 1 and _count(world, "incident_events") == 1


def test_incidents_tick_from_the_cli(world, citizen, cli):
    inc = world.report(citizen, world.places[0], "A04").get_json()  # finish within 12 h
    url = world.engine.url.render_as_string(hide_password=False)
    assert "escalated: 0" in cli(url, "incidents", "tick", "--now", "2026-03-02T11:00:00+00:00").output
    result = cli(url, "incidents", "tick", "--now", "2026-03-02T13:00:00+00:00")
    assert result.exit_code == 0 and f"escalated: 1 ({inc['id']})" in result.output
    assert "escalated: 0" in cli(url, "incidents", "tick", "--now", "2026-03-02T13:00:00+00:00").output
    bad = cli(url, "incidents", "tick", "--now", "noon")
    assert bad.exit_code == 2 and "ISO 8601" in bad.output
