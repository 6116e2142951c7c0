"""How people and places appear in output: masked phones and Chinese-first role labels, never more; a
place as its id and name."""

from __future__ import annotations

from core.vocabulary import CHIEF_LABELS, ROLE_LABELS, mask_phone


def public_person(person: dict) -> dict:
    """A person as the public board shows them."""
    out = {
        "id": person["id"],
        "name": person["name"],
        "role": person["role"],
        "role_label": ROLE_LABELS.get(person["role"]),
        "phone": mask_phone(person.get("phone")),
    }
    if person.get("chief_kind"):
        out["kind"] = person["chief_kind"]
        out["kind_label"] = CHIEF_LABELS.get(person["chief_kind"])
    return out


def place(row: dict, level: str) -> dict | None:
    """A located level (street, community, grid, building) of a row as ``{id, name}``; None where it has none."""
    return {"id": row[f"{level}_id"], "name": row[f"{level}_name"]} if row[f"{level}_id"] else None
