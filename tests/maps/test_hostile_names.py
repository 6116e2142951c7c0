"""Names people typed or imported never run as script: every layer gets hostile names, every page is opened
in headless Chromium, its shapes hovered and clicked, and the names must show as the text they are.

Two defences are checked apart: the escaping (no element smuggled in through a name exists in the page,
whatever the policy) and the Content-Security-Policy (no script but the page's own may run)."""

from __future__ import annotations

import pytest

from maps.safe import content_security_policy, safe
from tests.browser import chromium, live_server

# Each tries another way out: of a <script> block, of a JS template literal, of an attribute, of innerHTML.
HOSTILE = (
    "</script><img src=x1 onerror=__xss=1>",
    "`+(__xss=2)+`${__xss=3}",
    "'\"><img src=x2 onerror=__xss=4>",
    "<svg onload=__xss=5></svg>\\",
)
LAYERS = {
    "streets": ("name",),
    "communities": ("name",),
    "grids": ("name",),
    "buildings": ("name",),
    "road_segments": ("name", "road_name", "from_desc", "to_desc"),
    "people": ("name", "duties"),
    "categories": ("name_zh", "name_en"),
}
SMUGGLED = "img[src^='x'], svg[onload], [onerror]"


@pytest.fixture
def browser():  # tests using it are marked browser by conftest
    with chromium() as b:
        yield b


def _poison(world) -> None:
    for table, columns in LAYERS.items():
        for i, column in enumerate(columns):
            # Keep ids and codes; only what a person reads is replaced (varying by row, within the column size).
            size = world.sql(
                "SELECT coalesce(character_maximum_length, 1000) FROM information_schema.columns "
                "WHERE table_name = :t AND column_name = :c",
                t=table,
                c=column,
            )[0][0]
            world.sql(
                f"UPDATE {table} SET {column} = left(:v || ' ' || n.k, :size) FROM "  # noqa: S608 (our names)
                f"(SELECT ctid AS c, row_number() OVER () AS k FROM {table}) n WHERE n.c = {table}.ctid",
                v=HOSTILE[i % len(HOSTILE)],
                size=size,
            )


def _pages(world, admin: str) -> list[tuple[str, str | None]]:
    place = world.places[0]
    citizen = world.user(HOSTILE[0][:40], "citizen", phone="13812345678")
    for text in HOSTILE:
        assert world.report(citizen, place, "A03", description=text).status_code == 201
    preview = world.post("/api/v1/grids/resplit", admin, {"community": place.community_id})
    assert preview.status_code == 201, preview.get_json()
    return [
        ("/maps/grids", None),
        ("/maps/board", None),
        ("/maps/heat?from=2026-03-01", admin),
        (f"/maps/coverage?street={world.street_id}", admin),
        (f"/maps/resplit?preview={preview.get_json()['preview_id']}", admin),
        ("/maps/grids?measure=score&from=2026-03-01", admin),
    ]


def _poke(page, limit: int = 40) -> list[str]:
    """Hover and click the page's shapes and markers; returns the popup texts seen."""
    texts = []
    shapes = page.locator("path.leaflet-interactive, .leaflet-marker-icon")
    for i in range(min(shapes.count(), limit)):
        shape = shapes.nth(i)
        try:
            shape.hover(force=True, timeout=1000)
            shape.click(force=True, timeout=1000)
        except Exception:  # a shape under another cannot be reached: the next one is tried
            continue
        texts += page.locator(".leaflet-popup-content, .leaflet-tooltip").all_inner_texts()
    return texts


def test_hostile_names_in_every_layer_run_nowhere(browser, world):
    _poison(world)
    pages = _pages(world, world.district)
    with live_server(world.app) as base:
        for path, token in pages:
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            dialogs: list[str] = []
            page.on("dialog", lambda d, seen=dialogs: (seen.append(d.message), d.dismiss()))
            if token:
                page.set_extra_http_headers({"Authorization": f"Bearer {token}"})
            response = page.goto(base + path, wait_until="networkidle")
            assert response.status == 200, (path, response.status)
            assert "script-src 'self' 'sha256-" in response.headers["content-security-policy"]
            page.wait_for_selector(".leaflet-container")
            texts = _poke(page)
            assert page.evaluate("window.__xss") is None, path
            assert dialogs == [], path
            smuggled = page.eval_on_selector_all(SMUGGLED, "els => els.map(e => e.parentElement.outerHTML)")
            assert smuggled == [], (path, smuggled[:2])
            if path.startswith(("/maps/board", "/maps/grids")):
                # What was typed shows as text: the names came through, escaped, not dropped.
                assert any("onerror" in t for t in texts), (path, texts[:3])
            page.close()


def test_escaping_leaves_nothing_that_parses_as_markup_or_ends_a_literal():
    for text in HOSTILE:
        out = safe(text)
        assert not set("<>`$\\\"'") & set(out)
    assert safe(None) == "" and safe(float("nan")) == "" and safe("王奶奶 3单元") == "王奶奶 3单元"
    page = "<html><head><script>var a = 1;</script><script src='/x.js'></script></head></html>"
    policy = content_security_policy(page)
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert policy.count("'sha256-") == 1
