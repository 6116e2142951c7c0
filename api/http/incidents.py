"""/api/v1/incidents, /categories, /scores: the incident workflow over HTTP (thin: parse, call, shape)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from api.http.context import connection, now, principal, transaction, workflow
from api.http.openapi import contract
from api.http.params import form_body, json_body, page_links
from api.http.photos import photo_uploads
from boundaries.tables import TABLE_TYPES, table_bytes
from core.access import require_admin, require_district
from core.catalogue import (
    Catalogue,
    CatalogueError,
    known_departments,
    list_categories,
    list_departments,
    parse_catalogue,
    save_catalogue,
)
from core.errors import NotFound, Unprocessable
from core.exports import incident_sheets, score_sheets
from core.incidents.intake import IncidentIn, forget_categories, intake
from core.incidents.lifecycle import ActionIn, act
from core.incidents.views import (
    LIST_FILTERS,
    IncidentQuery,
    count_incidents,
    incident_events,
    incident_view,
    list_incidents,
)
from core.inputs import CategoriesQuery, IncidentListQuery, ScoresQuery, parse_query
from core.periods import parse_time, period
from core.photos import attach, prepare
from core.scores import WEIGHTS, scores
from core.vocabulary import beijing_iso

bp = Blueprint("incidents", __name__, url_prefix="/api/v1")
TAG = "报事 incidents"
MAX_INCIDENT_BYTES = 64 * 1024


def _json_body() -> dict:
    return json_body(MAX_INCIDENT_BYTES)


@bp.get("/categories")
@contract(TAG, query=CategoriesQuery, security="public")
def categories():
    """The catalogue (public: a reporting app needs it before anyone signs in)."""
    asked = parse_query(CategoriesQuery, request.args)
    conn = connection()
    return jsonify(
        {
            "categories": list_categories(conn, include_inactive=asked.all == "1"),
            "departments": list_departments(conn),
        }
    )


@bp.post("/categories")
@contract(TAG, body=Catalogue)
def edit_categories():
    """Add or change departments and categories (district admins only); validated before anything is written."""
    p = principal()
    require_district(p, "edits the catalogue")
    with transaction() as conn:
        try:
            catalogue = parse_catalogue(_json_body(), known_departments(conn))
        except CatalogueError as exc:
            raise Unprocessable(str(exc)) from None
        counts = save_catalogue(conn, catalogue)
    forget_categories()
    return jsonify(counts)


@bp.post("/incidents")
@contract(TAG, body=IncidentIn, ok=201)
def report():
    # Intake writes with one statement (the incident and its first event together), so it runs in
    # autocommit: no BEGIN and COMMIT round trips on the busiest path of the service.
    key = request.headers.get("Idempotency-Key")
    if request.mimetype == "multipart/form-data":
        incident, created = _report_with_photos(key)
    else:
        conn = connection(hot=True).execution_options(isolation_level="AUTOCOMMIT")
        p = principal()
        incident, created = intake(conn, p, _json_body(), idempotency_key=key, **workflow(conn))
    response = jsonify(incident)
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/api/v1/incidents/{incident['id']}"
    return response


def _report_with_photos(key: str | None) -> tuple[dict, bool]:
    """Intake from a form with ``photo`` files: every photo is checked first, then the case and its
    'before' photos are written in one transaction (a replay adds no photos)."""
    connection(hot=True)  # the intake's pool, as for a JSON report
    p = principal()
    body = form_body(request.form)
    settings = current_app.config["SETTINGS"]
    files = photo_uploads()
    prepared = prepare(files, settings) if files else []
    with transaction() as conn:
        incident, created = intake(conn, p, body, idempotency_key=key, **workflow(conn))
        if created and prepared:
            incident["photos"] = attach(
                conn, p, incident["id"], "before", prepared, now=now(), settings=settings
            )
    return incident, created


@bp.get("/incidents")
@contract(TAG, query=IncidentListQuery)
def incidents():
    """The incidents the caller may see, newest first, filtered and paged."""
    p = principal()
    asked = parse_query(IncidentListQuery, request.args)
    limit = min(asked.limit, current_app.config["MAX_PAGE_SIZE"])
    query = _query(asked, limit)
    rows = list_incidents(connection(), p, query)
    total = count_incidents(connection(), p, query)
    return jsonify(
        {
            "incidents": rows,
            "total": total,
            "limit": limit,
            "offset": asked.offset,
            "links": page_links(asked.offset, limit, total),
        }
    )


def _query(asked: IncidentListQuery, limit: int) -> IncidentQuery:
    """The list's filters as a query: equalities, the period, 督办 and overdue (judged at the clock's now)."""
    filters = {k: v for k in LIST_FILTERS if (v := getattr(asked, k))}
    since, until = parse_time("from", asked.from_), parse_time("to", asked.to)
    return IncidentQuery(
        filters,
        since,
        until,
        limit,
        asked.offset,
        duban=asked.flag == "duban",
        overdue_at=now() if asked.overdue == "true" else None,
        not_overdue_at=now() if asked.overdue == "false" else None,
    )


@bp.get("/incidents.<fmt>")
@contract(TAG, query=IncidentListQuery)
def incidents_table(fmt: str):
    """Every incident the caller may see that the filters match (not a page), with a sheet of their
    events: CSV with a byte-order mark, or an Excel workbook."""
    p = principal()
    asked = parse_query(IncidentListQuery, request.args)
    sheets = incident_sheets(connection(), p, _query(asked, 100))
    return _download(sheets, fmt, "incidents")


@bp.get("/incidents/<int:incident_id>")
@contract(TAG)
def incident(incident_id: int):
    return jsonify(incident_view(connection(), incident_id, principal()))


@bp.get("/incidents/<int:incident_id>/events")
@contract(TAG)
def events(incident_id: int):
    return jsonify(
        {"incident": incident_id, "events": incident_events(connection(), incident_id, principal())}
    )


@bp.post("/incidents/<int:incident_id>/<action>")
@contract(TAG, body=ActionIn)
def step(incident_id: int, action: str):
    """accept, dispatch, start, return, resolve, verify, close, escalate, merge, move, summon, report, rate,
    reopen."""
    p = principal()
    body = _json_body() if request.content_length else {}
    with transaction() as conn:
        result = act(conn, p, incident_id, action, body, **workflow(conn))
    return jsonify(result)


@bp.get("/scores.<fmt>")
@contract("评分 scores", query=ScoresQuery)
def ranking_table(fmt: str):
    """The ranking as CSV (with a byte-order mark) or an Excel workbook."""
    p = principal()
    require_admin(p, "rankings")
    query = parse_query(ScoresQuery, request.args)
    asked = period(query.from_, query.to, now=now())
    sheets = score_sheets(
        connection(), query.unit, since=asked.since, until=asked.until, now=now(), scope=p.area
    )
    return _download(sheets, fmt, f"scores-{query.unit}")


def _download(sheets: dict, fmt: str, stem: str) -> Response:
    if fmt not in TABLE_TYPES:
        raise NotFound(f"no table format {fmt!r}: csv or xlsx")
    response = Response(table_bytes(sheets, fmt), content_type=TABLE_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    return response


@bp.get("/scores")
@contract("评分 scores", query=ScoresQuery)
def ranking():
    """The three-rate ranking of grids, workers, chiefs, communities or streets over a period."""
    p = principal()
    require_admin(p, "rankings")
    query = parse_query(ScoresQuery, request.args)
    unit = query.unit
    asked = period(query.from_, query.to, now=now())
    rows = scores(connection(), unit, since=asked.since, until=asked.until, now=now(), scope=p.area)
    return jsonify(
        {
            "unit": unit,
            "from": beijing_iso(asked.since),
            "to": beijing_iso(asked.until),
            "weights": WEIGHTS,
            "ranking": rows,
        }
    )
