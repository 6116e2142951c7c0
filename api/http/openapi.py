"""The API's contract: an OpenAPI 3.1 document generated (by spectree) from the very pydantic models that
check every request (``core.inputs``), served at /api/v1/openapi.json.

Each route declares its models with ``contract``; the handler still parses with the same models, so the
document cannot drift from what is enforced. Errors are RFC 9457 problem documents, whatever the route.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Literal

from flask import Blueprint, current_app, jsonify
from flask import Response as FlaskResponse
from pydantic import BaseModel
from spectree import Response, SecurityScheme, SpecTree, Tag
from spectree.models import SecureType, SecuritySchemeData

from boundaries.tables import TABLE_TYPES
from core.errors import ServerFault
from core.incidents.intake import IncidentIn
from core.incidents.workflow import ACTIONS
from core.inputs import ID_PATTERN
from core.vocabulary import SPATIAL_LAYERS
from maps.assets import DOCS_ASSETS, vendor_dir
from maps.safe import content_security_policy

PROBLEM = "application/problem+json"
# What any route may answer besides its success: bad input, no or a wrong token, not allowed, unknown,
# a conflict with the case's state, too large, not processable, and the database away.
ERRORS = (400, 401, 403, 404, 409, 413, 422, 503)
Security = Literal["token", "optional", "public"]


class Problem(BaseModel):
    """RFC 9457 problem details; ``title`` is Chinese first with English beside."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str


spec = SpecTree(
    "flask",
    mode="strict",
    annotations=False,
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
    title="网格化管理服务 Wangge API",
    version="1",
    description="街道网格化管理：层级、定位、报事流程、巡查与评分 · Street-office grid management.",
    page_templates={},  # no pages from a CDN; and spectree's own routes are not registered at all
    security_schemes=[
        SecurityScheme(
            name="token",
            data=SecuritySchemeData(
                type=SecureType.HTTP, scheme="bearer", description="由 `wangge users add` 发放的令牌 a token"
            ),
        )
    ],
)
_SECURITY: dict[str, list[dict]] = {"token": [{"token": []}], "optional": [{}, {"token": []}], "public": []}


def contract(
    tag: str,
    *,
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    ok: int = 200,
    security: Security = "token",
) -> Callable:
    """Declare a route's query and body models, its success status and who may call it."""
    responses: dict[str, Any] = {f"HTTP_{ok}": None}
    responses.update({f"HTTP_{code}": Problem for code in ERRORS if code != ok})
    return spec.validate(
        query=query,
        json=body,
        resp=Response(**responses),
        tags=[Tag(name=tag)],
        security=_SECURITY[security],
        skip_validation=True,  # the handler parses with these very models, answering 400 its own way
    )


bp = Blueprint("openapi", __name__, url_prefix="/api/v1")
docs_bp = Blueprint("docs", __name__)
# Swagger UI on the document; no validator badge (it would call validator.swagger.io), nothing from a CDN.
DOCS_PAGE = """<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>网格化管理服务 Wangge API 文档 docs</title>
<link rel="stylesheet" href="{css}"></head>
<body><div id="docs"></div>
<script src="{js}"></script>
<script>SwaggerUIBundle({{url: "/api/v1/openapi.json", dom_id: "#docs", validatorUrl: null, deepLinking: true,
  persistAuthorization: false, tryItOutEnabled: false}});</script>
</body>
</html>
"""


@bp.get("/openapi.json")
def document():
    """The OpenAPI 3.1 document of /api/v1, with error bodies typed as problem+json."""
    cache = current_app.extensions.setdefault("wangge_openapi", {})
    if "doc" not in cache:
        cache["doc"] = _problems_typed(spec.spec)  # built from the running app's routes, once
    return jsonify(cache["doc"])


@docs_bp.get("/docs")
def docs():
    """The API's docs, read from the OpenAPI document by Swagger UI served from here (opens offline)."""
    missing = [a.url() for a in DOCS_ASSETS if not (vendor_dir() / a.folder / a.path).is_file()]
    if missing:
        raise ServerFault(f"文档资源缺失 docs asset missing: {', '.join(missing)}; run `wangge assets`")
    css, js = (a.url() for a in DOCS_ASSETS)
    html = DOCS_PAGE.format(css=css, js=js)
    response = FlaskResponse(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = content_security_policy(html)
    return response


# Path parameters as the routes read them (spectree sees only Flask's converters): the same constants.
PATH_PARAMETERS: dict[str, dict] = {
    "layer": {"type": "string", "enum": list(SPATIAL_LAYERS)},
    "action": {"type": "string", "enum": list(ACTIONS)},
    "incident_id": {"type": "integer", "format": "int64", "minimum": 1},
    **dict.fromkeys(("grid_id", "feature_id", "preview_id"), {"type": "string", "pattern": ID_PATTERN}),
    "fmt": {"type": "string", "enum": list(TABLE_TYPES)},
    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
}
# Bodies spectree cannot write (it knows JSON only): photos as multipart/form-data, and photos as answers.
PHOTO_FORM = {
    "type": "object",
    "properties": {
        "stage": {"type": "string", "enum": ["before", "after"]},
        "photo": {"type": "array", "items": {"type": "string", "format": "binary"}, "maxItems": 6},
    },
    "required": ["stage", "photo"],
}
PHOTO_FILES = PHOTO_FORM["properties"]["photo"]


def _intake_form() -> dict:
    """The intake's fields as a form (``reporter.name``, ``reporter.phone``), with ``photo`` files."""
    fields = IncidentIn.model_json_schema()
    properties = {k: v for k, v in fields["properties"].items() if "$ref" not in v and k != "reporter"}
    properties |= {"reporter.name": {"type": "string"}, "reporter.phone": {"type": "string"}}
    properties["photo"] = PHOTO_FILES
    return {
        "type": "object",
        "properties": properties,
        "required": fields["required"],
        "additionalProperties": False,
    }


# Routes whose body may (intake) or must (photos) be a form.
MULTIPART_BODIES = {"/api/v1/incidents/{incident_id}/photos": PHOTO_FORM, "/api/v1/incidents": _intake_form()}
IMAGES = {
    media: {"schema": {"type": "string", "format": "binary"}}
    for media in ("image/jpeg", "image/png", "image/webp")
}


def _problems_typed(doc: dict) -> dict:
    """spectree writes every body as application/json; ours errors are application/problem+json, and a
    success without a model has any JSON body. Path parameters get their enums and patterns."""
    doc = copy.deepcopy(doc)
    for path, operations in doc["paths"].items():
        if path in MULTIPART_BODIES:
            body = operations["post"].setdefault("requestBody", {"required": True, "content": {}})
            body["content"]["multipart/form-data"] = {"schema": MULTIPART_BODIES[path]}
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in PATH_PARAMETERS:
                    parameter["schema"] = PATH_PARAMETERS[parameter["name"]]
            for code, answer in operation["responses"].items():
                content = answer.get("content", {})
                if int(code) >= 400 and "application/json" in content:
                    answer["content"] = {PROBLEM: content["application/json"]}
                elif not content and path.endswith(".{fmt}"):  # a table to download
                    answer["content"] = {media: {"schema": {}} for media in TABLE_TYPES.values()}
                elif not content and path.startswith("/api/v1/photos/"):
                    answer["content"] = IMAGES
                elif not content:
                    answer["content"] = {"application/json": {"schema": {}}}
    return doc
