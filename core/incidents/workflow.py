"""The incident state machine and routing rules, pure: no database, no request.

reported → accepted → dispatched → in_progress → resolved → verified → closed,
plus returned (the assignee refuses), escalated (up one tier), merged (a duplicate) and reopened
(the reporter, within the rating window, says it is not solved; or rated it 1 or 2: 差评督办).
Who may take each step is said here once; the service only checks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.vocabulary import LEVEL_OF_TIER, OPEN, TIERS
from core.workdays import completion_due
from geo.settings import Settings


class TransitionRefused(Exception):
    """An action that the incident's state does not allow (answered with 409)."""


@dataclass(frozen=True)
class Action:
    """One step: the statuses it starts from, where it leads (None: stays), who may take it."""

    sources: tuple[str, ...]
    target: str | None
    by: frozenset[str]  # "assignee", "dispatcher", "reporter", "department", "system"


ACTIONS: dict[str, Action] = {
    "accept": Action(
        ("reported", "returned", "escalated", "reopened"), "accepted", frozenset({"assignee", "dispatcher"})
    ),
    "dispatch": Action(
        ("accepted", "returned", "escalated", "reopened"), "dispatched", frozenset({"dispatcher"})
    ),
    "start": Action(("accepted", "dispatched"), "in_progress", frozenset({"assignee", "dispatcher"})),
    "return": Action(
        ("reported", "accepted", "dispatched", "in_progress", "reopened"), "returned", frozenset({"assignee"})
    ),
    "resolve": Action(("in_progress",), "resolved", frozenset({"assignee", "dispatcher"})),
    "verify": Action(("resolved",), "verified", frozenset({"dispatcher"})),
    "close": Action(("verified",), "closed", frozenset({"dispatcher"})),
    "escalate": Action(OPEN, "escalated", frozenset({"assignee", "dispatcher", "system"})),
    "merge": Action(OPEN, "merged", frozenset({"dispatcher"})),
    "move": Action(
        ("reported", "accepted", "dispatched", "returned", "escalated", "reopened"),
        None,
        frozenset({"dispatcher"}),
    ),
    "summon": Action(("accepted", "dispatched", "in_progress", "escalated"), None, frozenset({"dispatcher"})),
    "report": Action(
        ("accepted", "dispatched", "in_progress", "escalated", "resolved", "verified"),
        None,
        frozenset({"department", "dispatcher"}),
    ),
    "rate": Action(("resolved", "verified", "closed"), None, frozenset({"reporter", "callback"})),
    # Within the rating window the reporter may say it is not solved: the case goes back to its assignee.
    "reopen": Action(("resolved", "verified", "closed"), "reopened", frozenset({"reporter"})),
}
# A rating this low by the reporter reopens the case under supervision (差评督办).
BAD_RATING = 2


def check_transition(action: str, status: str) -> Action:
    """The action if the status allows it; otherwise a refusal naming what would be allowed."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise KeyError(action)
    if status not in spec.sources:
        raise TransitionRefused(
            f"cannot {action} an incident that is {status}; "
            f"{action} is allowed from {', '.join(spec.sources)}"
        )
    return spec


def next_tier(tier: str) -> str:
    i = TIERS.index(tier)
    if i == len(TIERS) - 1:
        raise TransitionRefused("tier D is the city's: there is no level above it to escalate to")
    return TIERS[i + 1]


def route(category: dict, located: dict) -> tuple[str, str | None]:
    """(assignee_kind, assignee_id) for a new report.

    Road matters of tiers A and B go first to the segment's street chief (a merchant chief for shop
    matters, else a party chief); other A-tier matters to the grid worker; everything else to its
    level's command centre (a sunken road is the district's, not a shopkeeper's).
    """
    chiefs = located.get("street_chiefs") or []
    if category["road_related"] and chiefs and category["tier"] in ("A", "B"):
        prefer = "merchant" if "market_supervision" in (category.get("departments") or []) else "party"
        chief = next((c for c in chiefs if c.get("chief_kind") == prefer), chiefs[0])
        return "person", chief["id"]
    return level_assignee(category["tier"], located)


def level_assignee(tier: str, located: dict) -> tuple[str, str | None]:
    """The handler for a tier at a located point when no person is named."""
    level = LEVEL_OF_TIER[tier]
    if level == "grid":
        workers = located.get("grid_workers") or []
        if workers:
            return "person", workers[0]["id"]
        return "community", located.get("community_id")
    if level == "street":
        return "street", located.get("street_id")
    return level, None


def deadlines(
    now: datetime, response_limit_min: int, completion_limit_h: int, settings: Settings
) -> tuple[datetime, datetime]:
    """(response due, completion due): the response on the clock (a missing manhole cover on a Sunday waits
    for nobody), the completion in working time when the office counts working days (``core.workdays``)."""
    return now + timedelta(minutes=response_limit_min), completion_due(now, completion_limit_h, settings)
