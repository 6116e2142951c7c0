"""The outbox: who an event concerns, what they are told, and how it reaches them.

An event (a new case, a resolution, a reopened case, a summons, a hotline case's status) queues its
messages in its own transaction (``store.outbox``), so a message exists exactly when its event does. The
sender claims due messages with FOR UPDATE SKIP LOCKED, delivers each through its channel (an SMS gateway
or a signed webhook, both plain HTTP JSON) and records the outcome before the claim commits, so two senders
never deliver the same message and a delivered one is never tried again. A failure waits twice as long
each time (``next_attempt_at``) and is given up after ``outbox_max_attempts``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import Connection

from core.access import Principal, require_district
from core.vocabulary import beijing_iso, beijing_text
from geo.settings import Settings
from store import outbox as store
from store.incidents import any_category

SIGNATURE_HEADER = "X-Wangge-Signature"
TIMEOUT_S = 10.0


class DeliveryError(Exception):
    """A channel could not deliver (the gateway refused, timed out, or none is configured)."""


# ---- who is told what ---------------------------------------------------------------------------


def _address(kind: str, who: str | None, phone: str | None) -> tuple[str, str]:
    """(channel, recipient): a person with a phone gets a text; a command centre, a department or a
    person without a phone gets the webhook, addressed as ``kind:id``."""
    if phone:
        return "sms", phone
    return "webhook", f"{kind}:{who or ''}"


def _message(kind: str, address: tuple[str, str], text: str, **extra: object) -> dict:
    return {"kind": kind, "channel": address[0], "recipient": address[1], "body": {"text": text, **extra}}


def assigned(inc: Mapping, category: Mapping, phone: str | None) -> dict:
    """A case is now someone's: the new assignee is told what, where and by when."""
    due = beijing_text(inc["due_at"])
    text = (
        f"【网格】新案件：{category['name_zh']}，请于 {due} 前办结。"
        f" New case: {category['name_en']}, to be resolved by {due}."
    )
    return _message("assigned", _address(inc["assignee_kind"], inc["assignee_id"], phone), text)


def resolved(inc: Mapping, settings: Settings) -> dict | None:
    """The reporter hears the case is resolved, with the link to rate it (none without a way to reach them)."""
    if not inc["reporter_phone"] and not inc["reporter_token_id"]:
        return None
    link = f"{settings.public_url}/api/v1/incidents/{inc['id']}/rate"
    days = f"{settings.rating_window_days:g}"
    text = (
        f"【网格】您反映的问题已办结，请在 {days} 天内评价：{link}"
        f" Your report has been resolved; please rate it within {days} days: {link}"
    )
    address = _address("citizen", str(inc["reporter_token_id"]), inc["reporter_phone"])
    return _message("resolved", address, text, link=link)


def reopened(inc: Mapping, phone: str | None, *, duban: bool) -> dict:
    """The assignee hears the reporter reopened the case (under 督办 after a bad rating)."""
    due = beijing_text(inc["due_at"])
    zh = "差评督办，案件已重办" if duban else "居民重新打开了案件"
    en = (
        "a bad rating put the case under supervision and reopened it" if duban else "the reporter reopened it"
    )
    text = f"【网格】{zh}，请于 {due} 前办结。 Case reopened: {en}; resolve it by {due}."
    return _message("reopened", _address(inc["assignee_kind"], inc["assignee_id"], phone), text, duban=duban)


def supervised(inc: Mapping) -> dict:
    """督办: the street's command centre is told a case is under supervision after a bad rating."""
    text = f"【网格】差评督办：案件 #{inc['id']} 已重办。 Under supervision after a bad rating: case #{inc['id']}."
    return _message("duban", ("webhook", f"street:{inc['street_id'] or ''}"), text, duban=True)


def summoned(department: str, due: datetime) -> dict:
    """吹哨报到: a summoned department must report by its limit."""
    text = f"【网格】吹哨报到：请于 {beijing_text(due)} 前报到。 Summons: report by {beijing_text(due)}."
    return _message("summoned", ("webhook", f"department:{department}"), text, due_at=beijing_iso(due))


def due_soon(inc: Mapping, phone: str | None) -> dict:
    """A deadline is near: the assignee is reminded (once per deadline: an escalation sets a new one)."""
    due = beijing_text(inc["due_at"])
    text = f"【网格】案件 #{inc['id']} 将于 {due} 到期。 Case #{inc['id']} is due at {due}."
    address = _address(inc["assignee_kind"], inc["assignee_id"], phone)
    return _message("due_soon", address, text, due_epoch=inc["due_at"].timestamp())


def warn_due_soon(conn: Connection, *, now: datetime, settings: Settings) -> list[int]:
    """Queue a reminder for every open case due within ``due_warning_min``; the cases warned."""
    until = now + timedelta(minutes=settings.due_warning_min)
    warned = []
    for inc in store.nearly_due(conn, now, until):
        store.enqueue(conn, inc["id"], [due_soon(inc, store.person_phone(conn, _person(inc)))], now)
        warned.append(inc["id"])
    return warned


def status_push(inc: Mapping, status: str, at: datetime) -> dict | None:
    """A case another system transferred (a 12345 ticket) reports each change of status back to it."""
    if not inc.get("external_source"):
        return None
    address = ("webhook", f"{inc['external_source']}:{inc['external_ref']}")
    text = f"工单 {inc['external_ref']} 状态 status: {status}"
    return _message(
        "status", address, text, external_ref=inc["external_ref"], status=status, at=beijing_iso(at)
    )


def step_messages(
    conn: Connection, inc: Mapping, action: str, after: Mapping, settings: Settings
) -> list[dict]:
    """What one lifecycle step owes people: ``inc`` is the case before the step, ``after`` after it."""
    out: list[dict | None] = []
    new_holder = (after["assignee_kind"], after["assignee_id"]) != (inc["assignee_kind"], inc["assignee_id"])
    if action == "reopen" or (action == "rate" and after["status"] == "reopened"):
        out.append(reopened(after, store.person_phone(conn, _person(after)), duban=bool(after["duban"])))
    elif new_holder or action == "escalate":
        category = any_category(conn, after["category_code"])
        out.append(assigned(after, category, store.person_phone(conn, _person(after))))
    if after["duban"] and not inc["duban"]:
        out.append(supervised(after))
    if action == "resolve":
        out.append(resolved(after, settings))
    if after["status"] != inc["status"]:
        out.append(status_push(after, after["status"], after["changed_at"]))
    return [m for m in out if m is not None]


def _person(inc: Mapping) -> str | None:
    return inc["assignee_id"] if inc["assignee_kind"] == "person" else None


# ---- delivery -------------------------------------------------------------------------------------

Channel = Callable[[dict], None]


def _post(url: str, payload: bytes, headers: dict[str, str]) -> None:
    if not url:
        raise DeliveryError("no URL configured for this channel")
    request = urllib.request.Request(url, data=payload, method="POST", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:  # noqa: S310 (our own setting)
            answer.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code} from {url}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"{url}: {exc}") from None


def signature(secret: str, payload: bytes) -> str:
    """The webhook's HMAC-SHA256 of the exact bytes sent, so the receiver knows they came from us."""
    return "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def webhook_channel(settings: Settings) -> Channel:
    def send(m: dict) -> None:
        payload = json.dumps(_envelope(m), ensure_ascii=False, sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Wangge-Message-Id": str(m["id"]),
            SIGNATURE_HEADER: signature(settings.webhook_secret, payload),
        }
        _post(settings.webhook_url, payload, headers)

    return send


def sms_channel(settings: Settings) -> Channel:
    def send(m: dict) -> None:
        payload = {"message_id": m["id"], "to": m["recipient"], "text": m["body"]["text"]}
        headers = {"Content-Type": "application/json; charset=utf-8", "X-Wangge-Message-Id": str(m["id"])}
        _post(settings.sms_url, json.dumps(payload, ensure_ascii=False).encode(), headers)

    return send


def channels(settings: Settings) -> dict[str, Channel]:
    """The channels by name; a new one (WeChat template messages) is one more entry."""
    return {"webhook": webhook_channel(settings), "sms": sms_channel(settings)}


def _envelope(m: dict) -> dict:
    return {
        "message_id": m["id"],
        "kind": m["kind"],
        "recipient": m["recipient"],
        "incident_id": m["incident_id"],
        **m["body"],
    }


def backoff(settings: Settings, attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: the base, doubled each time."""
    return timedelta(seconds=settings.outbox_backoff_s * 2 ** (attempts - 1))


def send_due(
    conn: Connection,
    *,
    now: datetime,
    settings: Settings,
    limit: int = 100,
    via: Mapping[str, Channel] | None = None,
) -> dict[str, int]:
    """Deliver what is due, inside the caller's transaction (the claim); counts of sent, retrying, failed."""
    via = via if via is not None else channels(settings)
    counts = {"sent": 0, "retrying": 0, "failed": 0}
    for m in store.claim_due(conn, now, limit):
        try:
            via[m["channel"]](m)
        except DeliveryError as exc:
            attempts = m["attempts"] + 1
            give_up = attempts >= settings.outbox_max_attempts
            store.mark_failed(conn, m["id"], str(exc), None if give_up else now + backoff(settings, attempts))
            counts["failed" if give_up else "retrying"] += 1
        else:
            store.mark_sent(conn, m["id"], now)
            counts["sent"] += 1
    return counts


# ---- reading ----------------------------------------------------------------------------------------


def shape(row: Mapping) -> dict:
    times = ("created_at", "next_attempt_at", "sent_at")
    return {**row, **{t: beijing_iso(row[t]) for t in times}}


def messages(
    conn: Connection, p: Principal | None, *, failures: bool = False, **filters: object
) -> tuple[list[dict], int]:
    """The outbox as the district's command centre reads it (``p`` None: the operator at the CLI)."""
    if p is not None:
        require_district(p, "reads the outbox")
    rows, total = store.list_messages(conn, failures=failures, **filters)  # type: ignore[arg-type]
    return [shape(r) for r in rows], total
