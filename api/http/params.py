"""Reading request parameters and bodies: numbers, whole numbers and JSON objects, with messages that name
the value.

One place for these rules, so every endpoint (and Open311, and the map filters) answers alike.
"""

from __future__ import annotations

import json
import math
from urllib.parse import urlencode

from flask import request
from werkzeug.datastructures import MultiDict

from core.errors import Invalid, NotFound, TooLarge
from core.inputs import MAX_JSON_DEPTH, check_text_everywhere, json_depth


class ParamError(Invalid, ValueError):
    """A parameter that cannot be read; the message says which and why (answered with 400)."""


def finite_number(name: str, raw: str | None) -> float | None:
    """A finite float, or None when the parameter is absent or empty."""
    if raw is None or raw.strip() == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ParamError(f"{name} {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise ParamError(f"{name} {raw!r} is not a finite number")
    return value


def whole_number(name: str, raw: str | None, default: int, lo: int, hi: int) -> int:
    """An integer within ``lo..hi``, or ``default`` when absent."""
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ParamError(f"{name} {raw!r} is not a whole number") from None
    if not lo <= value <= hi:
        raise ParamError(f"{name} {value} is outside {lo}..{hi}")
    return value


def json_body(max_bytes: int, *, example: str = "") -> dict:
    """The request's JSON object, read once and checked before anything else looks at it: its size, its
    nesting (at most ``MAX_JSON_DEPTH``), no NaN or Infinity, no control character in any string."""
    if request.content_length and request.content_length > max_bytes:
        raise TooLarge(f"body of {request.content_length} bytes is over the {max_bytes}-byte limit")
    raw = request.get_data(cache=True)
    if len(raw) > max_bytes:
        raise TooLarge(f"body of {len(raw)} bytes is over the {max_bytes}-byte limit")
    if not request.is_json:
        raise Invalid(f"body must be a JSON object (Content-Type: application/json){example}")
    try:
        body = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise Invalid(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(f"body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise Invalid(f"body must be a JSON object{example}")
    if json_depth(body) > MAX_JSON_DEPTH:
        raise Invalid(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    check_text_everywhere(body)
    return body


def form_body(form: MultiDict) -> dict:
    """A form's fields as the JSON body they stand for: ``lon`` and ``lat`` as numbers, ``reporter.name``
    and ``reporter.phone`` as the ``reporter`` object, ``photo_urls`` repeated as a list."""
    body: dict = {}
    for key in form:
        value = form.get(key, "")
        if key in ("lon", "lat"):
            body[key] = finite_number(key, value)
        elif key.startswith("reporter."):
            body.setdefault("reporter", {})[key.removeprefix("reporter.")] = value
        elif key == "photo_urls":
            body[key] = form.getlist(key)
        else:
            body[key] = value
    return body


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a finite number (JSON has no {name})")


def check_request_text() -> None:
    """Refuse a control character in the path or any query or form value, before a route runs."""
    check_text_everywhere(request.path, "path")
    if any(isinstance(v, int) and not 0 <= v < 2**63 for v in (request.view_args or {}).values()):
        raise NotFound("没有这个编号 no such id: it is beyond any stored id")
    for where, values in (("query", request.args), ("form", request.form)):
        for key, value in values.items(multi=True):
            check_text_everywhere(key, f"{where} parameter name")
            check_text_everywhere(value, f"{where} parameter {key}")


def page_links(offset: int, limit: int, total: int) -> list[dict]:
    """``next`` and ``prev`` links of a paged list: the same query with another ``offset``."""
    links = []
    for rel, start in (("prev", max(offset - limit, 0)), ("next", offset + limit)):
        if (rel == "prev" and offset > 0) or (rel == "next" and start < total):
            args = request.args.to_dict() | {"offset": str(start), "limit": str(limit)}
            links.append({"rel": rel, "href": request.base_url + "?" + urlencode(args)})
    return links
