"""Who may see and do what: every access rule of the service, in one place.

A grid worker sees their grid, a street chief their segment, a citizen their own reports, a department
the cases it was summoned to, an admin their area (a district admin everything). Refusals are
``Forbidden``; where saying "forbidden" would confirm that something exists outside the caller's
area, the caller gets ``NotFound`` instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.errors import Forbidden
from core.vocabulary import ADMIN_ROLES
from store.incidents import EVERYTHING, Visible

# What a role's scope_id names; person roles also carry person_id.
SCOPE_OF = {
    "grid_worker": "grid",
    "street_chief": "segment",
    "community_admin": "community",
    "street_admin": "street",
    "department": "department",
}


@dataclass(frozen=True)
class Principal:
    """The caller behind a token."""

    token_id: int
    name: str
    role: str
    scope_id: str | None
    person_id: str | None
    phone: str | None

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES

    @property
    def area(self) -> tuple[str, str | None] | None:
        """An admin's area as (street|community, id); None for the district, which sees all."""
        return None if self.role == "district_admin" else (self.role.removesuffix("_admin"), self.scope_id)

    @property
    def actor(self) -> str:
        return self.person_id or f"token:{self.token_id}:{self.name}"


# ---- incidents --------------------------------------------------------------------------------

# Channels a citizen's own token may report through; the others are staff channels.
CITIZEN_CHANNELS = ("app", "wechat")


def require_channel(p: Principal, channel: str) -> None:
    """Citizens report through the app or WeChat; hotline, patrol, camera and walk-in reports are staff's."""
    if p.role == "citizen" and channel not in CITIZEN_CHANNELS:
        raise Forbidden(f"citizens report through {' or '.join(CITIZEN_CHANNELS)}, not {channel}")


def reporting_department(p: Principal, named: str | None) -> str | None:
    """Whose summons a report answers: a department reports for itself; a dispatcher records a report made
    by phone for the department it names."""
    return p.scope_id if p.role == "department" else named


def visible_incidents(p: Principal | None) -> Visible:
    """The incidents a caller may see (None: the system itself, or the CLI run by the operator)."""
    if p is None or p.role in ("district_admin", "callback"):
        return EVERYTHING
    return {
        "street_admin": Visible(street_id=p.scope_id),
        "community_admin": Visible(community_id=p.scope_id),
        "grid_worker": Visible(grid_id=p.scope_id, assignee_person=p.person_id),
        "street_chief": Visible(segment_id=p.scope_id, assignee_person=p.person_id),
        "citizen": Visible(reporter_token=p.token_id),
        "department": Visible(summoned_department=p.scope_id),
    }.get(p.role, Visible())


def _dispatcher(p: Principal, inc: dict) -> bool:
    """The command centre responsible for the incident's place and level."""
    if p.role == "district_admin":
        return True
    if inc["tier"] in ("C", "D"):
        return False
    return (p.role == "street_admin" and p.scope_id == inc["street_id"]) or (
        p.role == "community_admin" and p.scope_id == inc["community_id"] and inc["tier"] == "A"
    )


def _assignee(p: Principal, inc: dict) -> bool:
    kind, who = inc["assignee_kind"], inc["assignee_id"]
    if kind == "person":
        return p.person_id is not None and p.person_id == who
    if kind in ("district", "city"):
        return p.role == "district_admin"
    return {"community": "community_admin", "street": "street_admin"}.get(
        kind
    ) == p.role and p.scope_id == who


def incident_roles(p: Principal | None, inc: dict) -> set[str]:
    """What the caller is to this incident: assignee, dispatcher, reporter, department (None: the system)."""
    if p is None:
        return {"system"}
    roles = set()
    if _assignee(p, inc):
        roles.add("assignee")
    if _dispatcher(p, inc):
        roles.add("dispatcher")
    if p.role == "citizen" and inc["reporter_token_id"] == p.token_id:
        roles.add("reporter")
    if p.role == "department":
        roles.add("department")
    if p.role == "callback":
        roles.add("callback")
    return roles


def phone_visible(p: Principal | None) -> bool:
    """Only admins and call-backs (who phone the reporter) read a full phone number; others see it masked."""
    return p is not None and (p.is_admin or p.role == "callback")


# ---- admin-only and area checks ---------------------------------------------------------------


def require_admin(p: Principal, what: str) -> None:
    """Rankings, incident maps and the like are for community, street and district admins."""
    if not p.is_admin:
        raise Forbidden(f"{what} are for community, street and district admins")


def require_district(p: Principal, what: str) -> None:
    if p.role != "district_admin":
        raise Forbidden(f"only the district command centre {what}")


def require_redraw(p: Principal, streets: Callable[[], list[str]]) -> None:
    """Street admins redraw their own street's grids (``streets``: those the drawing touches, asked only
    when it matters); the district any."""
    if p.role == "district_admin" or (p.role == "street_admin" and streets() == [p.scope_id]):
        return
    raise Forbidden("redrawing grids is for the street's command centre or the district")


def require_plan(p: Principal, *, grid: str | None, chief: str | None) -> None:
    """Admins plan for anyone; a grid worker for their grid; a street chief their own segment."""
    if p.is_admin:
        return
    if p.role == "grid_worker" and grid and grid == p.scope_id:
        return
    if p.role == "street_chief" and chief and chief == p.person_id:
        return
    raise Forbidden("a worker plans for their own grid, a chief for their own segment, admins for any")


def track_uploader_area(p: Principal, person: str) -> tuple[str, str | None] | None:
    """May ``p`` upload ``person``'s patrol log? Returns the admin area the person must lie in (None: any).

    Workers and chiefs upload their own logs; admins anyone's in their area.
    """
    if p.role in ("grid_worker", "street_chief"):
        if person != p.person_id:
            raise Forbidden("a worker or chief uploads only their own patrol logs")
        return None
    if not p.is_admin:
        raise Forbidden("patrol logs are uploaded by grid workers, street chiefs and admins")
    return p.area


def street_in_area(p: Principal | None, street: str) -> bool:
    """Whether a street admin asks about their own street (others are limited by what they see)."""
    return not (p is not None and p.area and p.area[0] == "street" and street != p.scope_id)


def coverage_view(report: dict, p: Principal) -> dict:
    """What of a street's coverage report the caller may see: admins their area; a grid worker their grid;
    a chief their segment."""
    if p.role in ("district_admin", "street_admin"):
        return report
    if p.role == "community_admin":
        keep = {g["id"] for g in report["grids"] if g["community_id"] == p.scope_id}
    elif p.role == "grid_worker":
        keep = {p.scope_id}
    elif p.role == "street_chief":
        keep = set()
    else:
        raise Forbidden("patrol coverage is for admins, grid workers and street chiefs")
    out = dict(report)
    out["grids"] = [g for g in report["grids"] if g["id"] in keep]
    out["workers"] = [w for w in report["workers"] if w["grid_id"] in keep]
    out["buildings_not_passed"] = [b for b in report["buildings_not_passed"] if b["grid_id"] in keep]
    out["unwalked"] = {
        "type": "FeatureCollection",
        "features": [f for f in report["unwalked"]["features"] if keep & set(f["properties"]["grids"])],
    }
    mine = p.scope_id if p.role == "street_chief" else None
    out["segments"] = [s for s in report["segments"] if p.role == "community_admin" or s["id"] == mine]
    out["chiefs"] = [c for c in report["chiefs"] if p.role == "community_admin" or c["id"] == p.person_id]
    return out
