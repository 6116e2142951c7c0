"""Schemathesis over the whole API, on a live server, with a token of every role in turn: valid and invalid
inputs drawn from the OpenAPI document must never answer 5xx, never break the document (status, content
type, body), and never accept an invalid value."""

from __future__ import annotations

import itertools

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import positive_data_acceptance
from schemathesis.generation import GenerationMode

from tests.browser import live_server

EXAMPLES = 25  # per operation and mode: about 25 s for the whole document on two cores
# Operations whose every call recomputes a whole community or street: fewer examples, the same checks.
# A schema-valid request may still be refused for what it means (an unknown department, a case in another
# state, a date that is not one): 409 and 422, and 400 for what no schema says (both community and street).
NOT_CHECKED = [positive_data_acceptance]
HEAVY = {"/api/v1/grids/draw", "/api/v1/grids/resplit", "/api/v1/patrols/plan", "/api/v1/patrols/coverage"}


def _tokens(world) -> dict[str, str | None]:
    place = world.places[0]
    return {
        "anonymous": None,
        "citizen": world.user("张三", "citizen", phone="13812345678"),
        "grid_worker": world.user("网格员", "grid_worker", person=place.worker_id),
        "community_admin": world.user("社区", "community_admin", scope=place.community_id),
        "street_admin": world.street,
        "district_admin": world.district,
        "callback": world.user("回访", "callback"),
        "department": world.user("城管", "department", scope="urban_enforcement"),
    }


def _api_routes(app) -> set[tuple[str, str]]:
    """Every /api/v1 route the app serves (but the document itself), as the document writes paths."""
    return {
        (method, rule.rule.replace("<int:", "<").replace("<", "{").replace(">", "}"))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "openapi.document"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def _fuzz(operation, mode: GenerationMode, base: str, tokens: dict[str, str | None]) -> None:
    roles = itertools.cycle(sorted(tokens))
    examples = 6 if operation.path in HEAVY else EXAMPLES

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        token = tokens[next(roles)]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        case.call_and_validate(base_url=base, headers=headers, excluded_checks=NOT_CHECKED)

    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_holds_its_contract_under_fuzzing(world, mode):
    tokens = _tokens(world)
    world.report(tokens["citizen"], world.places[0])  # something to read, step and merge
    with live_server(world.app) as base:
        schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {(o.method.upper(), o.path) for o in operations} == _api_routes(world.app)
        failures = []
        for operation in operations:
            try:
                _fuzz(operation, mode, base, tokens)
            except Unsatisfiable:  # nothing invalid can be written for it (no parameters, any text allowed)
                assert mode == GenerationMode.NEGATIVE, operation.path
            except Exception as exc:  # collect every operation's failure, then report them together
                failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:600]}")
    assert not failures, "\n\n".join(failures)
