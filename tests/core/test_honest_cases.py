"""Who may rate, who may be given a case, and what a reporter reads of the staff's work: the rules that
keep the three-rate score honest and a case's story private."""

from __future__ import annotations


def _resolved_case(world, citizen: str) -> int:
    place = world.places[0]
    inc = world.report(citizen, place, "A01").get_json()
    worker = world.user("网格员", "grid_worker", person=place.worker_id)
    for action in ("accept", "start", "resolve"):
        assert world.step(worker, inc["id"], action).status_code == 200
    return inc["id"]


def _grid_row(world, grid_id: str) -> dict:
    ranking = world.get("/api/v1/scores?unit=grid&from=2026-03-01&to=2026-03-03", world.district).get_json()
    return next(r for r in ranking["ranking"] if r["id"] == grid_id)


def test_staff_cannot_rate_and_call_backs_are_counted_apart(world):
    citizen = world.user("张三", "citizen", phone="13812345678")
    first, second = _resolved_case(world, citizen), _resolved_case(world, citizen)
    community = world.user("社区", "community_admin", scope=world.places[0].community_id)
    for staff in (world.district, world.street, community):
        r = world.step(staff, first, "rate", rating=5)
        assert r.status_code == 403 and "callback" in r.get_json()["detail"], r.get_json()
    assert world.sql("SELECT rating FROM incidents WHERE id = :i", i=first)[0][0] is None

    callback = world.user("回访中心", "callback")
    by_phone = world.step(callback, first, "rate", rating=2)
    assert by_phone.status_code == 200 and by_phone.get_json()["rated_by"] == "callback"
    assert by_phone.get_json()["reporter"]["phone"] == "13812345678"  # a call-back must be able to call
    own = world.step(citizen, second, "rate", rating=5).get_json()
    assert own["rated_by"] == "reporter"

    row = _grid_row(world, world.places[0].grid_id)
    assert (row["rated"], row["satisfied"]) == (2, 1)
    assert (row["citizen_rated"], row["citizen_satisfied"], row["callback_rated"]) == (1, 1, 1)
    assert row["citizen_satisfaction_rate"] == 1.0 and row["callback_satisfaction_rate"] == 0.0
    assert row["satisfaction_rate"] == 0.5


def test_a_staff_rating_from_before_the_rule_is_kept_but_not_counted(world):
    citizen = world.user("张三", "citizen", phone="13812345678")
    case = _resolved_case(world, citizen)
    world.sql("UPDATE incidents SET rating = 5, rated_at = now(), rated_by = 'staff' WHERE id = :i", i=case)
    row = _grid_row(world, world.places[0].grid_id)
    assert row["rated"] == 0 and row["satisfaction_rate"] is None


def test_the_reporter_reads_replies_never_staff_notes(world):
    citizen = world.user("张三", "citizen", phone="13812345678")
    place = world.places[0]
    inc = world.report(citizen, place, "A01").get_json()
    worker = world.user("网格员", "grid_worker", person=place.worker_id)
    note = "内部：该户有纠纷前科，注意安全"
    r = world.step(worker, inc["id"], "accept", note=note, reply="已受理，今天下午处理")
    assert r.status_code == 200
    mine = world.get(f"/api/v1/incidents/{inc['id']}/events", citizen).get_json()["events"]
    assert note not in str(mine) and place.worker_id not in str(mine)
    assert [e["reply"] for e in mine] == [None, "已受理，今天下午处理"]
    assert [e["role"] for e in mine] == ["citizen", "staff"]
    staff = world.get(f"/api/v1/incidents/{inc['id']}/events", world.street).get_json()["events"]
    assert staff[1]["note"] == note


def test_a_case_goes_only_to_someone_who_works_where_it_is(world):
    citizen = world.user("张三", "citizen", phone="13812345678")
    place = world.places[0]
    other = next(p for p in world.places if p.community_id != place.community_id)
    community = world.user("社区", "community_admin", scope=place.community_id)
    inc = world.report(citizen, place, "A01").get_json()
    assert world.step(community, inc["id"], "accept").status_code == 200
    before = world.sql("SELECT count(*) FROM incident_events")[0][0]
    far = world.step(community, inc["id"], "dispatch", assignee_id=other.worker_id)
    assert far.status_code == 422 and other.worker_id in far.get_json()["detail"], far.get_json()
    assert world.sql("SELECT count(*) FROM incident_events")[0][0] == before
    near = world.step(community, inc["id"], "dispatch", assignee_id=place.worker_id)
    assert near.status_code == 200 and near.get_json()["assignee"]["id"] == place.worker_id


def test_a_preview_map_is_shown_only_to_who_may_apply_it(world):
    community = world.places[0].community_id
    preview = world.post("/api/v1/grids/resplit", world.district, {"community": community}).get_json()
    admin = world.user("社区", "community_admin", scope=community)
    api = world.get(f"/api/v1/grids/previews/{preview['preview_id']}", admin)
    page = world.get(f"/maps/resplit?preview={preview['preview_id']}", admin)
    assert api.status_code == 403 and page.status_code == 403, page.get_data(as_text=True)[:200]
    assert world.get(f"/maps/resplit?preview={preview['preview_id']}", world.street).status_code == 200
