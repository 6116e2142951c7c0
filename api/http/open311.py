"""Open311 GeoReport v2 at /open311/v2/: the spec's paths, parameters, shapes and error lists.

An ordinary Open311 client works unchanged: services are the catalogue's categories,
requests are incidents, and ``open``/``closed`` follow the lifecycle (resolved, verified,
closed and merged read as closed). Reads are public: they never show a private category's reports
(matters about people), nor a reporter, and show a description and photo only where the category's
text is public; posting needs ``api_key``, a Wangge token.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, json, request

from api.http.context import connection, now, transaction, workflow
from api.http.params import finite_number
from core.catalogue import list_categories
from core.errors import Forbidden, Invalid, NotFound, ServiceError
from core.incidents.intake import intake
from core.incidents.views import IncidentQuery, public_list, public_view
from core.periods import period
from core.tokens import principal_for
from core.vocabulary import ASSIGNEE_LABELS, FINISHED, OPEN, STATUS_LABELS, TIER_LABELS
from store.hierarchy import address_point

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
MAX_RESULTS = 1000


def _json(payload: object, status: int = 200) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/json")


# The spec's codes: 400 for anything wrong in the request, 403 for the api_key, 404 for unknown ids.
SPEC_STATUS = {401: 403, 409: 400, 413: 400, 422: 400}


def _errors(status: int, description: str) -> Response:
    status = SPEC_STATUS.get(status, status)
    return _json([{"code": status, "description": description}], status)


@bp.errorhandler(ServiceError)
def _refused(exc: ServiceError) -> Response:
    """Open311 clients read the spec's error list, not problem documents."""
    return _errors(exc.status, exc.detail)


def _format(fmt: str) -> None:
    if fmt != "json":
        raise Invalid(f"format {fmt!r} is not supported: use .json")


def _service(c: dict) -> dict:
    return {
        "service_code": c["code"],
        "service_name": f"{c['name_zh']} {c['name_en']}",
        "description": f"{c['name_en']}; tier {c['tier']}, completion within {c['completion_limit_h']} h",
        "metadata": False,
        "type": "realtime",
        "keywords": c["name_en"].lower().replace(",", ""),
        "group": TIER_LABELS[c["tier"]],
    }


@bp.get("/services.<fmt>")
def services(fmt: str):
    _format(fmt)
    return _json([_service(c) for c in list_categories(connection())])


@bp.get("/services/<code>.<fmt>")
def service_definition(code: str, fmt: str):
    _format(fmt)
    if not any(c["code"] == code for c in list_categories(connection())):
        raise NotFound(f"service_code {code!r} not found")
    return _json({"service_code": code, "attributes": []})


def _geocode(address: str) -> tuple[float, float]:
    """A building (by name, or compound + name) or a responsible segment (by name or road) in the district."""
    point = address_point(connection(), address)
    if point is None:
        raise Invalid(
            f"address_string {address!r} matches no building or road in the service area; send lat and long",
        )
    return point


@bp.post("/requests.<fmt>")
def create_request(fmt: str):
    _format(fmt)
    p = principal_for(connection(), request.values.get("api_key"))
    if p is None:
        raise Forbidden("api_key is missing, unknown or revoked")
    code = request.values.get("service_code")
    if not code:
        raise Invalid("service_code is required")
    lat, lon = (finite_number(name, request.values.get(name)) for name in ("lat", "long"))
    if (lat is None) != (lon is None):
        raise Invalid("lat and long go together")
    if lat is None:
        address = request.values.get("address_string") or ""
        if not address.strip():
            raise Invalid("a location is required: lat and long, or address_string")
        lon, lat = _geocode(address)
    name = (
        " ".join(v for v in (request.values.get("last_name"), request.values.get("first_name")) if v) or None
    )
    media = request.values.get("media_url")
    body = {
        "lon": lon,
        "lat": lat,
        "crs": "wgs84",
        "category": code,
        "description": request.values.get("description") or "",
        "channel": "app",
        "reporter": {"name": name, "phone": request.values.get("phone") or None},
        "photo_urls": [media] if media else [],
    }
    with transaction() as conn:
        incident, _ = intake(
            conn, p, body, idempotency_key=request.headers.get("Idempotency-Key"), **workflow(conn)
        )
    notice = f"已受理，{incident['assignee'].get('person', {}).get('name') or '指挥中心'}负责 · assigned"
    return _json(
        [{"service_request_id": str(incident["id"]), "service_notice": notice, "account_id": None}], 201
    )


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
        "service_name": i["category"]["name_zh"],
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
        "media_url": i["photo_urls"][0] if i["photo_urls"] else None,
    }


@bp.get("/requests.<fmt>")
def requests_list(fmt: str):
    """The spec's filters; without dates, the last 90 days; at most 1000 requests."""
    _format(fmt)
    filters = {}
    if request.args.get("service_code"):
        filters["category"] = request.args["service_code"]
    asked = period(request.args.get("start_date"), request.args.get("end_date"), now=now())
    start, end = asked.since, asked.until
    wanted = {s.strip() for s in request.args.get("status", "").split(",") if s.strip()}
    if wanted - {"open", "closed"}:
        raise Invalid(f"status must be open or closed, not {', '.join(sorted(wanted - {'open', 'closed'}))}")
    statuses = None
    if wanted == {"closed"}:
        statuses = FINISHED
    elif wanted == {"open"}:
        statuses = OPEN
    ids = request.args.get("service_request_id")
    if ids:
        return _json([_one(i) for i in ids.split(",") if i.strip()])
    query = IncidentQuery(filters, start, end + timedelta(microseconds=1), MAX_RESULTS, 0, statuses)
    rows = public_list(connection(), query)
    return _json([_request(i) for i in rows])


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
    _format(fmt)
    return _json([_one(request_id)])
