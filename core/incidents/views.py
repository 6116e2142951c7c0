"""Incidents as people read them: one shape for the API, Open311 and the CLI, names beside ids,
times in Beijing time with the offset, phones masked for all but admins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from core.access import Principal, phone_visible, visible_incidents
from core.errors import NotFound
from core.people import place, public_person
from core.vocabulary import STATUS_LABELS, beijing_iso, mask_phone
from store import incidents as store
from store.incidents import PUBLIC, IncidentQuery

LIST_FILTERS = tuple(store.LIST_COLUMNS)


def _times(row: dict, *names: str) -> dict[str, str | None]:
    return {name: beijing_iso(row[name]) for name in names}


def shape(row: dict, p: Principal | None) -> dict:
    """An incident as the API shows it; the reporter's phone is masked for everyone but admins."""
    assignee = {"kind": row["assignee_kind"], "id": row["assignee_id"]}
    if row["assignee_person"]:
        assignee["person"] = public_person(row["assignee_person"])
    phone = row["reporter_phone"]
    segment = row["segment_id"] and {
        "id": row["segment_id"],
        "name": row["segment_name"],
        "road_name": row["road_name"],
    }
    return {
        "id": row["id"],
        "status": row["status"],
        "status_label": STATUS_LABELS[row["status"]],
        "tier": row["tier"],
        "category": {
            "code": row["category_code"],
            "name_zh": row["category_name_zh"],
            "name_en": row["category_name_en"],
        },
        "description": row["description"],
        "channel": row["channel"],
        "location": {
            "lon": round(row["lon"], 8),
            "lat": round(row["lat"], 8),
            "input": row["input_location"],
        },
        "street": place(row, "street"),
        "community": place(row, "community"),
        "grid": place(row, "grid"),
        "building": place(row, "building"),
        "segment": segment or None,
        "chief": public_person(row["chief"]) if row["chief"] else None,
        "worker": public_person(row["worker"]) if row["worker"] else None,
        "assignee": assignee,
        "deadlines": _times(row, "response_due", "completion_due", "due_at"),
        "times": _times(row, "reported_at", "accepted_at", "resolved_at", "closed_at"),
        "escalations": row["escalations"],
        "reopens": row["reopens"],
        "duban": row["duban"],
        "external": {"source": row["external_source"], "ref": row["external_ref"]}
        if row["external_ref"]
        else None,
        "near_boundary": row["near_boundary"],
        "boundary_candidates": row["boundary_candidates"] or {},
        "possible_duplicates": row["possible_duplicates"] or [],
        "merged_into": row["merged_into"],
        "reporter": {"name": row["reporter_name"], "phone": phone if phone_visible(p) else mask_phone(phone)},
        "photo_urls": row["photo_urls"] or [],
        "photos": photo_entries(row.get("photos") or []),
        "rating": row["rating"],
        "rated_at": beijing_iso(row["rated_at"]),
        "rated_by": row["rated_by"],
        "summons": [_summons(s) for s in row["summons"] or []],
    }


def _summons(entry: dict) -> dict:
    # The database renders these times itself (inside JSON), in its own zone: shown here in Beijing time.
    return {
        k: beijing_iso(datetime.fromisoformat(v)) if k.endswith("_at") and v else v for k, v in entry.items()
    }


# What the public reads of a report (Open311, any anonymous page): never the reporter, the rating or
# who handles it by name beyond the public board's people; the description and photos only where the
# category allows its text. Private categories are not read at all (``PUBLIC``).
PUBLIC_FIELDS = (
    "id",
    "status",
    "status_label",
    "tier",
    "category",
    "location",
    "street",
    "community",
    "grid",
    "building",
    "segment",
    "assignee",
    "deadlines",
    "times",
    "merged_into",
)


def public_shape(row: dict) -> dict:
    """A report as the public may read it; ``description``, ``photo_urls`` and ``photos`` are None or []
    unless the category's text is public."""
    full = shape(row, None)
    out = {k: full[k] for k in PUBLIC_FIELDS}
    out["location"] = {"lon": full["location"]["lon"], "lat": full["location"]["lat"]}
    text_public = bool(row["category_public_text"])
    out["description"] = full["description"] if text_public else None
    out["photo_urls"] = full["photo_urls"] if text_public else []
    out["photos"] = full["photos"] if text_public else []
    return out


def public_view(conn: Connection, incident_id: int) -> dict:
    """One report of a public category, as the public reads it (404 for private or unknown ones)."""
    row = store.view_row(conn, incident_id, PUBLIC)
    if row is None:
        raise NotFound(f"no public incident {incident_id}")
    return public_shape(row)


def public_list(conn: Connection, query: IncidentQuery) -> list[dict]:
    """Reports of public categories, as the public reads them, newest first."""
    return [public_shape(r) for r in store.view_rows(conn, PUBLIC, query)]


def fetch(conn: Connection, incident_id: int, p: Principal | None, *, lock: bool = False) -> dict:
    """The bare row, if the caller may see it (404 otherwise: existence is not leaked)."""
    row = store.incident_row(conn, incident_id, visible_incidents(p), lock=lock)
    if row is None:
        raise NotFound(f"no incident {incident_id} that you can see")
    return row


def incident_view(conn: Connection, incident_id: int, p: Principal | None) -> dict:
    """One incident, shaped, if the principal may see it (404 otherwise: existence is not leaked)."""
    row = store.view_row(conn, incident_id, visible_incidents(p))
    if row is None:
        raise NotFound(f"no incident {incident_id} that you can see")
    return shape(row, p)


def photo_entries(rows: list[dict]) -> list[dict]:
    """A case's photos as the incident view lists them."""
    return [
        {
            "stage": r["stage"],
            "url": f"/api/v1/photos/{r['sha256']}",
            "thumb_url": f"/api/v1/photos/{r['sha256']}/thumb",
            "media_type": r["media_type"],
            "width": r["width"],
            "height": r["height"],
        }
        for r in rows
    ]


def list_incidents(conn: Connection, p: Principal | None, query: IncidentQuery) -> list[dict]:
    """Incidents the principal may see, newest first, as ``query`` filters them."""
    return [shape(r, p) for r in store.view_rows(conn, visible_incidents(p), query)]


def count_incidents(conn: Connection, p: Principal | None, query: IncidentQuery) -> int:
    """How many incidents the principal may see match ``query``, every page together."""
    return store.count_rows(conn, visible_incidents(p), query)


def incident_events(conn: Connection, incident_id: int, p: Principal) -> list[dict]:
    """The incident's append-only story, oldest first, as ``p`` may read it (see ``seen_events``)."""
    fetch(conn, incident_id, p)
    return seen_events(store.event_rows(conn, incident_id), p)


def seen_events(events: list[dict], p: Principal | None) -> list[dict]:
    """Events with Beijing times. A citizen reads what happened and when, and any ``reply`` written for
    them, never staff notes or who on the staff did it."""
    events = [{**e, "at": beijing_iso(e["at"])} for e in events]
    if p is None or p.role != "citizen":
        return events
    return [
        {
            **({"incident_id": e["incident_id"]} if "incident_id" in e else {}),
            "at": e["at"],
            "role": e["role"] if e["role"] == "citizen" else "staff",
            "action": e["action"],
            "from_status": e["from_status"],
            "to_status": e["to_status"],
            "reply": (e["data"] or {}).get("reply"),
        }
        for e in events
    ]
