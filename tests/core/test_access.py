"""Who sees and does what, in one module: each role's view of incidents and its part in a case."""

from __future__ import annotations

import pytest

from core.access import (
    Principal,
    coverage_view,
    incident_roles,
    require_plan,
    require_redraw,
    visible_incidents,
)
from core.errors import Forbidden
from store.incidents import EVERYTHING, Visible, visibility_sql


def who(role: str, scope: str | None = None, person: str | None = None, token: int = 7) -> Principal:
    return Principal(token_id=token, name="某人", role=role, scope_id=scope, person_id=person, phone=None)


CASE = {
    "id": 1,
    "tier": "A",
    "street_id": "S1",
    "community_id": "C1",
    "grid_id": "G1",
    "assignee_kind": "person",
    "assignee_id": "W1",
    "reporter_token_id": 7,
}


def test_each_role_sees_its_own_part_of_the_district():
    assert visible_incidents(None) == EVERYTHING
    assert visible_incidents(who("district_admin")) == EVERYTHING
    assert visible_incidents(who("street_admin", "S1")) == Visible(street_id="S1")
    assert visible_incidents(who("grid_worker", "G1", "W1")) == Visible(grid_id="G1", assignee_person="W1")
    assert visible_incidents(who("street_chief", "SEG1", "P1")) == Visible(
        segment_id="SEG1", assignee_person="P1"
    )
    assert visible_incidents(who("citizen", token=42)) == Visible(reporter_token=42)
    assert visible_incidents(who("department", "city_management")) == Visible(
        summoned_department="city_management"
    )


def test_the_sql_admits_exactly_the_conditions_given_with_bound_values():
    where, params = visibility_sql(Visible(grid_id="G1", assignee_person="W1"))
    assert ":v_grid" in where and ":v_person" in where and " OR " in where
    assert params == {"v_grid": "G1", "v_person": "W1"}
    assert visibility_sql(Visible()) == ("false", {})  # a role with nothing to see sees nothing
    assert visibility_sql(EVERYTHING) == ("true", {})


def test_a_case_knows_its_assignee_dispatcher_and_reporter():
    assert incident_roles(who("grid_worker", "G1", "W1"), CASE) == {"assignee"}
    assert incident_roles(who("street_admin", "S1"), CASE) == {"dispatcher"}
    assert incident_roles(who("community_admin", "C1"), CASE) == {"dispatcher"}  # A-tier: the community
    assert incident_roles(who("community_admin", "C1"), CASE | {"tier": "B"}) == set()
    assert incident_roles(who("citizen", token=7), CASE) == {"reporter"}
    assert incident_roles(who("street_admin", "S2"), CASE) == set()
    assert incident_roles(None, CASE) == {"system"}


def test_redrawing_and_planning_are_limited_to_the_callers_area():
    require_redraw(who("street_admin", "S1"), lambda: ["S1"])
    require_redraw(who("district_admin"), lambda: ["S1", "S2"])
    with pytest.raises(Forbidden):
        require_redraw(who("street_admin", "S1"), lambda: ["S1", "S2"])
    require_plan(who("grid_worker", "G1", "W1"), grid="G1", chief=None)
    with pytest.raises(Forbidden, match="their own grid"):
        require_plan(who("grid_worker", "G1", "W1"), grid="G2", chief=None)


def test_a_grid_worker_sees_only_their_grid_of_a_coverage_report():
    report = {
        "grids": [{"id": "G1", "community_id": "C1"}, {"id": "G2", "community_id": "C1"}],
        "workers": [{"grid_id": "G1"}, {"grid_id": "G2"}],
        "buildings_not_passed": [{"grid_id": "G2"}],
        "unwalked": {"type": "FeatureCollection", "features": [{"properties": {"grids": ["G2"]}}]},
        "segments": [{"id": "SEG1"}],
        "chiefs": [{"id": "P1"}],
    }
    mine = coverage_view(report, who("grid_worker", "G1", "W1"))
    assert [g["id"] for g in mine["grids"]] == ["G1"] and mine["buildings_not_passed"] == []
    assert mine["unwalked"]["features"] == [] and mine["segments"] == [] and mine["chiefs"] == []
    with pytest.raises(Forbidden):
        coverage_view(report, who("citizen"))
