"""Every SQL statement of the outbox: queueing a message inside the event's transaction, claiming what is
due with FOR UPDATE SKIP LOCKED (two senders never hold the same message), and recording the outcome in
the claim's own transaction."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Connection, text

# What a queued message is made of (see core.outbox): the columns a caller fills.
MESSAGE_FIELDS = ("kind", "channel", "recipient", "body")

# Intake queues its messages inside its own single statement: this CTE reads them from a JSON array.
INTAKE_CTE = """
msg AS (
  INSERT INTO outbox (created_at, incident_id, kind, channel, recipient, body, next_attempt_at)
  SELECT :now, ins.id, m->>'kind', m->>'channel', m->>'recipient', m->'body', :now
  FROM ins, jsonb_array_elements(CAST(:messages AS jsonb)) m)
"""


def enqueue(conn: Connection, incident_id: int | None, messages: list[dict], now: datetime) -> None:
    """Queue messages in the caller's transaction, in one statement: they exist exactly when the event does."""
    if not messages:
        return
    rows = [
        {"now": now, "i": incident_id, **{k: m[k] for k in MESSAGE_FIELDS[:3]}, "body": json.dumps(m["body"])}
        for m in messages
    ]
    conn.execute(
        text("""
        INSERT INTO outbox (created_at, incident_id, kind, channel, recipient, body, next_attempt_at)
        VALUES (:now, :i, :kind, :channel, :recipient, CAST(:body AS jsonb), :now)"""),
        rows,
    )


def nearly_due(conn: Connection, now: datetime, until: datetime) -> list[dict]:
    """Open cases whose deadline falls in (now, until] and whose assignee was not yet warned of this
    deadline; locked, SKIP LOCKED, so two sweeps at once warn each case once."""
    rows = conn.execute(
        text("""
        SELECT i.id, i.due_at, i.assignee_kind, i.assignee_id, i.street_id FROM incidents i
        WHERE i.status NOT IN ('resolved', 'verified', 'closed', 'merged') AND i.due_at > :now AND i.due_at <= :until
          AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.incident_id = i.id AND o.kind = 'due_soon'
                          AND (o.body->>'due_epoch')::double precision = extract(epoch FROM i.due_at))
        ORDER BY i.due_at FOR UPDATE OF i SKIP LOCKED"""),
        {"now": now, "until": until},
    ).mappings()
    return [dict(r) for r in rows]


def person_phone(conn: Connection, person_id: str | None) -> str | None:
    if person_id is None:
        return None
    return conn.execute(text("SELECT phone FROM people WHERE id = :p"), {"p": person_id}).scalar()


def claim_due(conn: Connection, now: datetime, limit: int) -> list[dict]:
    """Due pending messages, locked for this transaction; a second sender skips them instead of waiting."""
    rows = conn.execute(
        text("""
        SELECT id, created_at, incident_id, kind, channel, recipient, body, attempts FROM outbox
        WHERE status = 'pending' AND next_attempt_at <= :now
        ORDER BY next_attempt_at, id LIMIT :limit FOR UPDATE SKIP LOCKED"""),
        {"now": now, "limit": limit},
    ).mappings()
    return [dict(r) for r in rows]


def mark_sent(conn: Connection, message_id: int, now: datetime) -> None:
    conn.execute(
        text(
            "UPDATE outbox SET status = 'sent', sent_at = :now, attempts = attempts + 1, last_error = NULL "
            "WHERE id = :id"
        ),
        {"id": message_id, "now": now},
    )


def mark_failed(conn: Connection, message_id: int, error: str, next_attempt_at: datetime | None) -> None:
    """One more failed attempt; ``next_attempt_at`` None gives the message up (status ``failed``)."""
    conn.execute(
        text("""
        UPDATE outbox SET attempts = attempts + 1, last_error = :err,
            status = CASE WHEN CAST(:next AS timestamptz) IS NULL THEN 'failed' ELSE 'pending' END,
            next_attempt_at = coalesce(CAST(:next AS timestamptz), next_attempt_at)
        WHERE id = :id"""),
        {"id": message_id, "err": error[:2000], "next": next_attempt_at},
    )


_LIST_SQL = """
SELECT id, created_at, incident_id, kind, channel, recipient, body, status, attempts, next_attempt_at,
       last_error, sent_at
FROM outbox WHERE (CAST(:status AS text) IS NULL OR status = :status)
  AND (CAST(:incident AS bigint) IS NULL OR incident_id = :incident)
  AND (NOT :failures OR (status <> 'sent' AND last_error IS NOT NULL))
"""


def list_messages(
    conn: Connection,
    *,
    status: str | None = None,
    incident_id: int | None = None,
    failures: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict], int]:
    """Messages newest first (a page) and how many match; ``failures``: those that failed at least once
    and are not delivered (retrying, or given up)."""
    params = {"status": status, "incident": incident_id, "failures": failures}
    rows = conn.execute(
        text(_LIST_SQL + " ORDER BY id DESC LIMIT :limit OFFSET :offset"),
        {**params, "limit": limit, "offset": offset},
    ).mappings()
    total = conn.execute(text(f"SELECT count(*) FROM ({_LIST_SQL}) m"), params).scalar_one()  # noqa: S608
    return [dict(r) for r in rows], total
