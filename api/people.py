"""How people appear in public output: masked phones, Chinese role labels."""

from __future__ import annotations

ROLE_LABELS = {
    "grid_worker": "网格员 grid worker",
    "grid_chief": "网格长 grid chief",
    "street_chief": "街长 street chief",
    "official": "街道干部 official",
}
CHIEF_LABELS = {"party": "党员街长 party chief", "merchant": "商户街长 merchant chief"}


def mask_phone(phone: str | None) -> str | None:
    """138****1234: enough to recognise, not enough to harvest."""
    if not phone:
        return None
    digits = str(phone).strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


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
