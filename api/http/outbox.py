"""/api/v1/outbox: the messages events queued and how their delivery went (the district's command centre)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from api.http.context import connection, principal
from api.http.openapi import contract
from api.http.params import page_links
from core.inputs import OutboxQuery, parse_query
from core.outbox import messages

bp = Blueprint("outbox", __name__, url_prefix="/api/v1")


@bp.get("/outbox")
@contract("通知 outbox", query=OutboxQuery)
def outbox():
    """Queued, sent and failed messages, newest first (district admins)."""
    p = principal()
    asked = parse_query(OutboxQuery, request.args)
    limit = min(asked.limit, current_app.config["MAX_PAGE_SIZE"])
    rows, total = messages(
        connection(),
        p,
        status=asked.status,
        incident_id=asked.incident,
        failures=asked.failures == "true",
        limit=limit,
        offset=asked.offset,
    )
    return jsonify(
        {
            "messages": rows,
            "total": total,
            "limit": limit,
            "offset": asked.offset,
            "links": page_links(asked.offset, limit, total),
        }
    )
