"""Open311 GeoReport v2 at /open311/v2/: the spec's paths, parameters, shapes, formats and error lists.

An ordinary Open311 client works unchanged, in JSON or the spec's default XML: services are the
catalogue's categories, requests are incidents, and ``open``/``closed`` follow the lifecycle (resolved,
verified, closed and merged read as closed). Reads are public: they never show a private category's
reports (matters about people), nor a reporter, and show a description and photo only where the
category's text is public; posting needs ``api_key``, a Wangge token.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, request

from api.http.context import connection, now, transaction, workflow
from api.http.open311_formats import FORMATS, answer, format_of
from api.http.params import finite_number
from core.catalogue import list_categories
from core.errors import Forbidden, Invalid, NotFound, ServiceError
from core.incidents.intake import intake
from core.incidents.views import IncidentQuery, public_list, public_view
from core.periods import period
from core.tokens import principal_for
from core.vocabulary import ASSIGNEE_LABELS, FINISHED, OPEN, STATUS_LABELS, TIER_LABELS
from store.hierarchy import address_point, building_point

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
MAX_RESULTS = 1000
SPEC = "http://wiki.open311.org/GeoReport_v2"
# The spec's codes: 400 for anything wrong in the request, 403 for the api_key, 404 for unknown ids.
SPEC_STATUS = {401: 403, 409: 400, 413: 400, 422: 400}


@bp.errorhandler(ServiceError)
def _refused(exc: ServiceError) -> Response:
    """Open311 clients read the spec's error list, in the format they asked for."""
    status = SPEC_STATUS.get(exc.status, exc.status)
    return answer([{"code": status, "description": exc.detail}], "errors", "error", status)


def _service_name(c: dict) -> str:
    return f"{c['name_zh']} {c['name_en']}"


def _service(c: dict) -> dict:
    return {
        "service_code": c["code"],
        "service_name": _service_name(c),
        "description": f"{c['name_en']}; tier {c['tier']}, completion within {c['completion_limit_h']} h",
        "metadata": False,
        "type": "realtime",
        "keywords": c["name_en"].lower().replace(",", ""),
        "group": TIER_LABELS[c["tier"]],
    }


@bp.get("/discovery.<fmt>")
def discovery(fmt: str):
    """Where this endpoint is and what it speaks (the spec's service discovery)."""
    format_of(fmt)
    base = request.url_root.rstrip("/") + bp.url_prefix
    return answer(
        {
            "changeset": "2026-12-02T00:00:00+08:00",
            "contact": "街道指挥中心 the street office's command centre",
            "key_service": "wangge users add --role citizen (a token per reporting app or person)",
            "endpoints": [
                {
                    "specification": SPEC,
                    "url": base,
                    "changeset": "2026-12-02T00:00:00+08:00",
                    "type": "production",
                    "formats": list(FORMATS.values()),
                }
            ],
        },
        "discovery",
        None,
    )


@bp.get("/services.<fmt>")
def services(fmt: str):
    format_of(fmt)
    return answer([_service(c) for c in list_categories(connection())], "services", "service")


@bp.get("/services/<code>.<fmt>")
def service_definition(code: str, fmt: str):
    format_of(fmt)
    if not any(c["code"] == code for c in list_categories(connection())):
        raise NotFound(f"service_code {code!r} not found")
    return answer({"service_code": code, "attributes": []}, "service_definition", None)


def _location() -> tuple[float, float]:
    """lat and long, else a building id (``address_id``), else an address string in the district."""
    lat, lon = (finite_number(name, request.values.get(name)) for name in ("lat", "long"))
    if (lat is None) != (lon is None):
        raise Invalid("lat and long go together")
    if lat is not None and lon is not None:
        return lon, lat
    address_id = (request.values.get("address_id") or "").strip()
    if address_id:
        point = building_point(connection(), address_id)
        if point is None:
            raise Invalid(f"address_id {address_id!r} is no building of the service area")
        return point
    address = (request.values.get("address_string") or "").strip()
    if not address:
        raise Invalid("a location is required: lat and long, address_id or address_string")
    point = address_point(connection(), address)
    if point is None:
        raise Invalid(f"address_string {address!r} matches no building or road in the service area")
    return point


@bp.post("/requests.<fmt>")
def create_request(fmt: str):
    format_of(fmt)
    p = principal_for(connection(), request.values.get("api_key"))
    if p is None:
        raise Forbidden("api_key is missing, unknown or revoked")
    code = request.values.get("service_code")
    if not code:
        raise Invalid("service_code is required")
    if not any(c["code"] == code for c in list_categories(connection())):
        raise NotFound(f"service_code {code!r} not found")
    lon, lat = _location()
    name = (
        " ".join(v for v in (request.values.get("last_name"), request.values.get("first_name")) if v) or None
    )
    media = request.values.get("media_url")
    # An extra field beside the spec's: a 12345 hotline ticket's number makes it a hotline case, once.
    external_ref = request.values.get("external_ref") or None
    body = {
        "lon": lon,
        "lat": lat,
        "crs": "wgs84",
        "category": code,
        "description": request.values.get("description") or "",
        "channel": "app",
        "reporter": {"name": name, "phone": request.values.get("phone") or None},
        "photo_urls": [media] if media else [],
        **({"external_ref": external_ref, "channel": "hotline_12345"} if external_ref else {}),
    }
    with transaction() as conn:
        incident, created = intake(
            conn, p, body, idempotency_key=request.headers.get("Idempotency-Key"), **workflow(conn)
        )
    notice = f"已受理，{incident['assignee'].get('person', {}).get('name') or '指挥中心'}负责 · assigned"
    made = {"service_request_id": str(incident["id"]), "service_notice": notice, "account_id": None}
    return answer([made], "service_requests", "request", 201 if created else 200)


def _request(i: dict) -> dict:
    closed = i["status"] in FINISHED
    notes = STATUS_LABELS[i["status"]]
    if i["merged_into"]:
        notes += f"; duplicate of {i['merged_into']}"
    assignee = i["assignee"].get("person", {}).get("name") or ASSIGNEE_LABELS.get(i["assignee"]["kind"])
    updated = max(t for t in i["times"].values() if t)
    return {
        "service_request_id": str(i["id"]),
        "status": "closed" if closed else "open",
        "status_notes": notes,
        "service_name": _service_name(i["category"]),
        "service_code": i["category"]["code"],
        "description": i["description"],
        "agency_responsible": assignee,
        "service_notice": None,
        "requested_datetime": i["times"]["reported_at"],
        "updated_datetime": updated,
        "expected_datetime": i["deadlines"]["completion_due"],
        "address": " ".join(x["name"] for x in (i["community"], i["grid"], i["building"]) if x),
        "address_id": i["building"]["id"] if i["building"] else None,
        "zipcode": None,
        "lat": i["location"]["lat"],
        "long": i["location"]["lon"],
        "media_url": _media_url(i),
    }


def _media_url(i: dict) -> str | None:
    """The spec's one picture: a link the reporter gave, else the first photo uploaded, as an address."""
    if i["photo_urls"]:
        return i["photo_urls"][0]
    photos = i.get("photos") or []
    return request.url_root.rstrip("/") + photos[0]["url"] if photos else None


def _listed(name: str) -> tuple[str, ...]:
    """A comma-delimited parameter (the spec lets filters be declared several times so)."""
    return tuple(v.strip() for v in request.args.get(name, "").split(",") if v.strip())


@bp.get("/requests.<fmt>")
def requests_list(fmt: str):
    """The spec's filters; without dates, the last 90 days; at most 1000 requests."""
    format_of(fmt)
    ids = _listed("service_request_id")
    if ids:  # the spec: this overrides every other filter
        return answer([_one(i) for i in ids], "service_requests", "request")
    asked = period(request.args.get("start_date"), request.args.get("end_date"), now=now())
    wanted = set(_listed("status"))
    if wanted - {"open", "closed"}:
        raise Invalid(f"status must be open or closed, not {', '.join(sorted(wanted - {'open', 'closed'}))}")
    statuses = None if wanted in (set(), {"open", "closed"}) else (FINISHED if wanted == {"closed"} else OPEN)
    codes = _listed("service_code")
    filters: dict = {"category": codes} if codes else {}
    query = IncidentQuery(
        filters, asked.since, asked.until + timedelta(microseconds=1), MAX_RESULTS, 0, statuses
    )
    return answer([_request(i) for i in public_list(connection(), query)], "service_requests", "request")


def _one(raw: str) -> dict:
    if not raw.strip().isascii() or not raw.strip().isdigit() or len(raw.strip()) > 18:
        raise Invalid(f"service_request_id {raw!r} is not a number")
    incident_id = int(raw)
    try:
        return _request(public_view(connection(), incident_id))
    except NotFound:
        raise NotFound(f"service_request_id {incident_id} not found") from None


@bp.get("/requests/<request_id>.<fmt>")
def request_one(request_id: str, fmt: str):
    format_of(fmt)
    return answer([_one(request_id)], "service_requests", "request")
