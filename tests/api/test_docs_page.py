"""The API's contract for people and tools: the OpenAPI document validates as OpenAPI 3.1, and /docs shows
every operation of it in headless Chromium with nothing fetched from outside the machine."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from tests.browser import chromium, live_server, visit

METHODS = {"get", "post", "put", "patch", "delete"}


def test_the_document_validates_as_openapi_3_1(world):
    doc = world.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    validate(doc)  # raises on any departure from the 3.1 schema
    broken = {**doc, "paths": {"/api/v1/x": {"get": {"responses": {"200": {"content": 1}}}}}}
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


@pytest.fixture
def browser():  # tests using it are marked browser by conftest
    with chromium() as b:
        yield b


def test_docs_show_every_operation_offline(world, browser):
    doc = world.get("/api/v1/openapi.json").get_json()
    operations = sum(len(METHODS & set(ops)) for ops in doc["paths"].values())
    with live_server(world.app) as base:
        page, seen = visit(browser, base, "/docs", "docs.png", ready=".opblock")
        shown = page.locator(".opblock").count()
        paths = set(page.locator(".opblock-summary-path").all_inner_texts())
        page.close()
    assert seen.outside == [] and seen.errors == [], (seen.outside, seen.errors)
    assert shown == operations > 40
    assert {"/api/v1/incidents", "/api/v1/locate", "/api/v1/grids/draw"} <= {
        p.replace("\u200b", "") for p in paths
    }
