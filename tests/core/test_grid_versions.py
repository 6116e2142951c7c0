"""Grid versions in the database: preview, apply in one transaction, lineage, history; nothing lost."""

from __future__ import annotations

import re

import pytest

from tests.workflow import Place, World

COMMUNITY = "211103001003"


def _current(world: World) -> list[str]:
    return [
        r[0]
        for r in world.sql(
            "SELECT id FROM grids WHERE community_id = :c AND valid_to IS NULL ORDER BY id", c=COMMUNITY
        )
    ]


def _tiling_gap_m2(world: World) -> float:
    return world.sql(
        """
        SELECT ST_Area(ST_Transform(ST_SymDifference(
                 (SELECT ST_Union(geom) FROM grids WHERE community_id = :c AND valid_to IS NULL),
                 (SELECT geom FROM communities WHERE id = :c)), 32651))""",
        c=COMMUNITY,
    )[0][0]


def test_resplit_preview_apply_history(world):
    citizen = world.user("张三", "citizen", phone="13812345678")
    place = next(p for p in world.places if p.community_id == COMMUNITY)
    incident = world.report(citizen, place).get_json()
    before = _current(world)
    preview = _preview_changes_nothing(world, before)
    result = _apply_tiles_the_community(world, preview, before)
    _check_nothing_is_lost(world, result)
    _check_the_incident_follows_its_place(world, incident, place)
    _check_history_both_ways(world, result["retired"][0])
    again = world.post(f"/api/v1/grids/previews/{preview['preview_id']}/apply", world.street)
    assert again.status_code == 409 and "already applied" in again.get_json()["detail"]
    assert world.get("/api/v1/grids/NOPE/history", world.district).status_code == 404


def _preview_changes_nothing(world: World, before: list[str]) -> dict:
    """A street admin's re-split preview: its report, stored and readable, and the current grids untouched."""
    r = world.post("/api/v1/grids/resplit", world.street, {"community": COMMUNITY})
    assert r.status_code == 201, r.get_json()
    preview = r.get_json()
    summary = preview["report"]["summary"]
    assert summary["n_grids"] == len(preview["grids"]["features"]) and summary["households"] > 0
    assert _current(world) == before  # a preview changes nothing
    assert world.get(f"/api/v1/grids/previews/{preview['preview_id']}", world.street).status_code == 200
    return preview


def _apply_tiles_the_community(world: World, preview: dict, before: list[str]) -> dict:
    """Applying the preview: grids created, kept and retired as it says, new ids, an exact tiling."""
    applied = world.post(f"/api/v1/grids/previews/{preview['preview_id']}/apply", world.street)
    assert applied.status_code == 200, applied.get_json()
    result = applied.get_json()
    now_current = _current(world)
    assert set(now_current) == set(result["created"]) | set(result["unchanged"])
    assert set(result["retired"]) == set(before) - set(result["unchanged"])
    assert all(re.fullmatch(COMMUNITY + r"\d{2}", g) and g not in before for g in result["created"])
    assert _tiling_gap_m2(world) < 1.0  # the new grids tile the community exactly
    return result


def _check_nothing_is_lost(world: World, result: dict) -> None:
    """Retired grids stay, closed; every building and worker points at a current grid."""
    assert world.sql(
        "SELECT count(*) FROM grids WHERE id = ANY(:r) AND valid_to IS NOT NULL", r=result["retired"]
    )[0][0] == len(result["retired"])
    assert (
        world.sql(
            """SELECT count(*) FROM buildings b JOIN grids g ON g.id = b.grid_id
                        WHERE g.community_id = :c AND g.valid_to IS NOT NULL""",
            c=COMMUNITY,
        )[0][0]
        == 0
    )
    assert (
        world.sql("""SELECT count(*) FROM people p JOIN grids g ON g.id = p.grid_id
                        WHERE p.role = 'grid_worker' AND g.valid_to IS NOT NULL""")[0][0]
        == 0
    )


def _check_the_incident_follows_its_place(world: World, incident: dict, place: Place) -> None:
    """The incident keeps the grid it was reported in, and is found under the grid that now holds it."""
    assert (
        world.get(f"/api/v1/incidents/{incident['id']}", world.district).get_json()["grid"]["id"]
        == incident["grid"]["id"]
    )
    holder = world.sql(
        "SELECT id FROM grids WHERE valid_to IS NULL AND ST_Covers(geom, ST_SetSRID("
        "ST_MakePoint(:x, :y), 4326)) ORDER BY id LIMIT 1",
        x=place.lon,
        y=place.lat,
    )[0][0]
    listed = world.get(f"/api/v1/incidents?grid={holder}", world.district).get_json()["incidents"]
    assert incident["id"] in [i["id"] for i in listed]


def _check_history_both_ways(world: World, old: str) -> None:
    """History: a retired grid → the new grids with their share of its households; and back."""
    history = world.get(f"/api/v1/grids/{old}/history", world.district).get_json()
    assert history["current"] is False and history["became"]
    assert abs(sum(b["share"] for b in history["became"]) - 1.0) < 1e-3
    heir = history["became"][0]["grid"]
    assert old in [
        c["grid"] for c in world.get(f"/api/v1/grids/{heir}/history", world.district).get_json()["came_from"]
    ]


def test_a_stale_or_broken_preview_changes_nothing(world):
    preview = world.post("/api/v1/grids/draw", world.district, {"community": COMMUNITY}).get_json()
    world.sql(
        "UPDATE buildings SET households = households + 40 WHERE id = (SELECT min(b.id) FROM buildings b "
        "JOIN grids g ON g.id = b.grid_id WHERE g.community_id = :c)",
        c=COMMUNITY,
    )
    before = _current(world)
    stale = world.post(f"/api/v1/grids/previews/{preview['preview_id']}/apply", world.district)
    assert stale.status_code == 409 and "changed since" in stale.get_json()["detail"]
    assert _current(world) == before
    # A preview that breaks half-way (its last grid names a community that is gone) rolls back completely.
    fresh = world.post("/api/v1/grids/draw", world.district, {"community": COMMUNITY}).get_json()
    world.sql(
        """UPDATE grid_previews SET grids = jsonb_set(grids, '{features,-1,properties,community_id}',
                 '"gone"') WHERE id = :i""",
        i=fresh["preview_id"],
    )
    broken = world.post(f"/api/v1/grids/previews/{fresh['preview_id']}/apply", world.district)
    assert broken.status_code == 500
    assert _current(world) == before
    assert world.sql("SELECT count(*) FROM grid_lineage")[0][0] == 0
    assert (
        world.sql("SELECT status FROM grid_previews WHERE id = :i", i=fresh["preview_id"])[0][0] == "preview"
    )


def test_who_may_redraw_and_bad_requests(world):
    citizen = world.user("张三", "citizen", phone="13812345678")
    other_street = world.user("别的街道", "street_admin", scope=world.street_id)
    assert world.post("/api/v1/grids/draw", citizen, {"community": COMMUNITY}).status_code == 403
    assert world.post("/api/v1/grids/draw", None, {"community": COMMUNITY}).status_code == 401
    assert world.post("/api/v1/grids/draw", other_street, {"community": COMMUNITY}).status_code == 201
    for body, status, words in (
        ({"community": "X"}, 404, "no community"),
        ({"community": COMMUNITY, "street": world.street_id}, 400, "exactly one"),
        ({"community": COMMUNITY, "target": 0}, 400, "target"),
        ({"community": COMMUNITY, "colour": 1}, 400, "unknown field"),
    ):
        r = world.post("/api/v1/grids/draw", world.district, body)
        assert r.status_code == status and words in r.get_json()["detail"], (body, r.get_json())


def test_grid_versions_from_the_cli(world, cli):
    url = world.engine.url.render_as_string(hide_password=False)
    r = cli(url, "grids", "resplit", "--street", world.street_id)
    assert r.exit_code == 0, r.output
    preview_id = re.search(r"preview (\w+)", r.output).group(1)
    applied = cli(url, "grids", "apply", preview_id)
    assert applied.exit_code == 0 and "applied" in applied.output
    assert cli(url, "grids", "apply", preview_id).exit_code == 1
    checked = cli(url, "validate")  # a whole street re-split leaves a hierarchy with no errors
    assert checked.exit_code == 0 and " 0 个错误" in checked.output, checked.output[-500:]
    retired = world.sql(
        "SELECT id FROM grids WHERE community_id = :c AND valid_to IS NOT NULL ORDER BY id", c=COMMUNITY
    )[0][0]
    history = cli(url, "grids", "history", retired)
    assert history.exit_code == 0 and "变为 became" in history.output
    assert cli(url, "grids", "draw", "--street", "nowhere").exit_code == 1
    assert cli(url, "grids", "draw").exit_code == 2


@pytest.mark.browser
def test_resplit_preview_map_in_chromium(world):
    from tests.browser import chromium, live_server, visit

    preview = world.post("/api/v1/grids/resplit", world.street, {"street": world.street_id}).get_json()
    moves = preview["report"]["summary"]["buildings_moved"]
    assert world.get(f"/maps/resplit?preview={preview['preview_id']}").status_code == 401
    r = world.get("/maps/resplit?preview=nope", world.street)
    assert r.status_code == 400 and "no grid preview" in r.get_json()["detail"]
    with live_server(world.app) as base, chromium() as browser:
        page, seen = visit(
            browser, base, f"/maps/resplit?preview={preview['preview_id']}", "resplit.png", world.street
        )
        assert seen.outside == [] and seen.errors == []
        labels = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
        assert any("调整后 After" in t for t in labels) and any("调整前 Before" in t for t in labels)
        assert any(f"Moved buildings ({moves})" in t for t in labels)
        assert page.locator(".wangge-label").count() == len(preview["grids"]["features"])  # before is hidden
        strokes = page.eval_on_selector_all(
            "path.leaflet-interactive", "els => els.map(e => e.getAttribute('stroke'))"
        )
        assert strokes.count("#d01c8b") == moves
        page.locator(".leaflet-control-layers-overlays input").nth(1).check()  # show the old grids too
        assert page.locator(".wangge-label").count() > len(preview["grids"]["features"])
        page.screenshot(
            path=str(__import__("tests.browser", fromlist=["SCREENSHOTS"]).SCREENSHOTS / "resplit-both.png")
        )
        page.close()
