"""The declared shape of what people send: one set of types for every request body and parameter.

Everything that arrives from outside passes through these before any SQL runs: ids are strings of one
pattern, text has a length and no control characters, numbers are finite and never a JSON ``true``,
and a point is checked against the service area before anything projects it. A refusal is a 400 that
names the field, the same words whichever endpoint was called.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
)

from core.errors import Invalid, validation_detail
from core.vocabulary import CHANNELS, RELATIONS, SEXES, STATUSES, TEAM_KINDS, TIERS
from geo.coords import CoordSystem
from geo.tracks import FORMATS
from store.scores import UNIT_KINDS
from store.stats import GROUPINGS

# Ids of streets, communities, grids, buildings, segments, people, departments, categories and previews.
ID_PATTERN = r"^[0-9A-Za-z_.:-]{1,64}$"
# Characters no person types: C0 controls other than tab and newlines, DEL, and the NUL PostgreSQL refuses.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_JSON_DEPTH = 16
# A phone as stored: digits (and hyphens), an optional leading +; what people add between digits is dropped.
PHONE_PATTERN = r"^\+?[0-9-]{5,20}$"
_PHONE_SPACING = re.compile(r"[\s().]")

M = TypeVar("M", bound=BaseModel)


def printable(value: str) -> str:
    """Refuse text with control characters (a NUL would otherwise reach SQL and fail there)."""
    bad = _CONTROL.search(value)
    if bad:
        raise ValueError(f"contains a control character {bad.group()!r} at position {bad.start()}")
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{value} is not a finite number")
    return value


Id = Annotated[str, Field(pattern=ID_PATTERN), AfterValidator(printable)]
Number = Annotated[StrictFloat | StrictInt, AfterValidator(_finite)]
Longitude = Annotated[StrictFloat | StrictInt, Field(ge=-180, le=180), AfterValidator(_finite)]
Latitude = Annotated[StrictFloat | StrictInt, Field(ge=-90, le=90), AfterValidator(_finite)]
Flag = StrictBool
Count = StrictInt


# The same rule for the OpenAPI document (ECMA regex), so that a client or a fuzzer knows it.
NO_CONTROL = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$"


def _text(max_length: int, min_length: int = 0) -> Any:
    return Annotated[
        str,
        Field(min_length=min_length, max_length=max_length, json_schema_extra={"pattern": NO_CONTROL}),
        AfterValidator(printable),
    ]


# Text people type, by what it is: a name, a note or description, a link.
PersonName = _text(50)
LongText = _text(2000)
Link = _text(500)
Label = _text(100, min_length=1)  # a catalogue entry's name
# Another system's ticket number (a 12345 hotline ticket) and the system's name.
ExternalRef = Annotated[str, Field(pattern=r"^[0-9A-Za-z_.:/-]{1,64}$")]
ExternalSource = Annotated[str, Field(pattern=r"^[0-9A-Za-z_-]{1,20}$")]


def normal_phone(raw: str | None) -> str | None:
    """A phone as typed (``138 0013 8000``, ``(010) 6512-3456``) in the stored form, or a 400 saying why."""
    if raw is None or not raw.strip():
        return None
    phone = _PHONE_SPACING.sub("", raw)
    if not re.fullmatch(PHONE_PATTERN, phone):
        raise Invalid(f"phone {raw[:40]!r} is not a phone number: digits, hyphens and an optional leading +")
    return phone


class Body(BaseModel):
    """A request body: unknown fields are refused, strings stripped, numbers never coerced from text."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


def parse(model: type[M], data: object) -> M:
    """``data`` as ``model``, or a 400 naming every field that is wrong and why."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise Invalid(validation_detail(exc)) from None


def json_depth(value: object, limit: int = MAX_JSON_DEPTH) -> int:
    """How deeply ``value`` nests (iteratively: a hostile document must not exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def check_text_everywhere(value: object, where: str = "body") -> None:
    """Refuse a control character in any string of a document, keys included, naming where it is."""
    stack: list[tuple[object, str]] = [(value, where)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            try:
                printable(node)
            except ValueError as exc:
                raise Invalid(f"{path}: {exc}") from None
        elif isinstance(node, dict):
            for k, v in node.items():
                stack += [(k, f"{path} key"), (v, f"{path}.{k}")]
        elif isinstance(node, list):
            stack += [(v, f"{path}[{i}]") for i, v in enumerate(node)]


class GridPreviewIn(Body):
    """POST /api/v1/grids/draw and /resplit: one community or one street, the target and its band."""

    community: Id | None = None
    street: Id | None = None
    target: Annotated[StrictInt, Field(gt=0, le=100_000)] = 500
    tolerance: Annotated[Number, Field(gt=0, lt=1)] = 0.1


class PatrolPlanIn(Body):
    """POST /api/v1/patrols/plan: which roads (a grid, a street or a chief's segments) and how to walk them."""

    grid: Id | None = None
    street: Id | None = None
    chief: Id | None = None
    start: Annotated[tuple[Longitude, Latitude], Field(strict=False)] | None = None  # a JSON [lon, lat]
    patrollers: StrictInt = 1  # 1 to 50: core.patrols says so (422)
    speed_kmh: Annotated[Number, Field(gt=0, le=60)] = 4.0
    both_sides: Flag = False
    budget_min: Annotated[Number, Field(gt=0, le=24 * 60)] | None = None


# ---- query strings: every value arrives as text; numbers are read from it, nothing else is coerced ----


class Query(BaseModel):
    """A query string: unknown parameters are refused (a misspelt filter must not silently match all)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Time = Annotated[str, Field(max_length=40, description="ISO 8601; without an offset, Beijing time")]
Page = Annotated[int, Field(ge=0, le=10**9)]
MAX_PAGE = 5000  # the most rows a page may ask for (a server's settings may lower it)


class LocateQuery(Query):
    """GET /api/v1/locate."""

    lon: Annotated[FiniteFloat, Field(ge=-180, le=180)]
    lat: Annotated[FiniteFloat, Field(ge=-90, le=90)]
    crs: CoordSystem = "wgs84"


class IncidentListQuery(Query):
    """GET /api/v1/incidents: filters by equality, a period of report times, a page."""

    status: Literal[STATUSES] | None = None  # type: ignore[valid-type]
    tier: Literal[TIERS] | None = None  # type: ignore[valid-type]
    category: Id | None = None
    channel: Literal[CHANNELS] | None = None  # type: ignore[valid-type]
    grid: Id | None = None
    community: Id | None = None
    street: Id | None = None
    flag: Literal["duban"] | None = None  # under supervision (督办)
    overdue: Literal["true", "false"] | None = None  # open past the deadline now (or not)
    from_: Time | None = Field(default=None, alias="from")
    to: Time | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 100
    offset: Page = 0


class OutboxQuery(Query):
    """GET /api/v1/outbox: messages by delivery state or case, newest first, a page."""

    status: Literal["pending", "sent", "failed"] | None = None
    incident: Annotated[int, Field(ge=1, le=2**62)] | None = None
    failures: Literal["true", "false"] = "false"
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 100
    offset: Page = 0


class PeriodQuery(Query):
    """A period of report times (default: the last 90 days)."""

    from_: Time | None = Field(default=None, alias="from")
    to: Time | None = None


class ScoresQuery(PeriodQuery):
    """GET /api/v1/scores."""

    unit: Literal[UNIT_KINDS] = "grid"  # type: ignore[valid-type]


class StatsQuery(PeriodQuery):
    """GET /api/v1/stats: service-level figures grouped one way."""

    by: Literal[GROUPINGS] = "category"  # type: ignore[valid-type]


class CategoriesQuery(Query):
    """GET /api/v1/categories: ``all=1`` lists retired categories too."""

    all: Literal["0", "1"] | None = None


class LayerQuery(Query):
    """GET /api/v1/{layer}: a page of features, optionally within a lon/lat box and with retired versions."""

    bbox: Annotated[str, Field(max_length=200, description="minlon,minlat,maxlon,maxlat")] | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 1000
    offset: Page = 0
    history: Literal["0", "1", "true", "false", "yes", "no"] = "false"


class CoverageQuery(PeriodQuery):
    """GET /api/v1/patrols/coverage (default period: the last 7 days)."""

    street: Id | None = None
    within_m: Annotated[FiniteFloat, Field(ge=1, le=200)] | None = None


class TrackQuery(Query):
    """POST /api/v1/patrols/tracks: whose log, in which format and coordinate system."""

    person: Id | None = None
    format: Literal[FORMATS] | None = None  # type: ignore[valid-type]
    crs: CoordSystem = "wgs84"


def parse_query(model: type[M], args: Mapping[str, str]) -> M:
    """A query string as ``model`` (first value of each parameter), or a 400 naming what is wrong."""
    return parse(model, dict(args))


# ---- the residents' register (core.residents, core.resident_visits) ----------------------------

# 18 characters of GB 11643: 17 digits and a check character (core.residents checks the checksum).
IdCardNumber = Annotated[str, Field(pattern=r"^[0-9]{17}[0-9Xx]$")]
GroupCode = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,32}$")]
# Written out (not through _text) so that this module may use them as types.
_Plain = AfterValidator(printable)
Room = Annotated[str, Field(min_length=1, max_length=20, json_schema_extra={"pattern": NO_CONTROL}), _Plain]
Unit = Annotated[str, Field(max_length=20, json_schema_extra={"pattern": NO_CONTROL}), _Plain]
Phone = Annotated[str, Field(max_length=40, json_schema_extra={"pattern": NO_CONTROL}), _Plain]
ResidentName = Annotated[
    str, Field(min_length=1, max_length=50, json_schema_extra={"pattern": NO_CONTROL}), _Plain
]
GroupName = Annotated[
    str, Field(min_length=1, max_length=100, json_schema_extra={"pattern": NO_CONTROL}), _Plain
]
Note = Annotated[str, Field(max_length=2000, json_schema_extra={"pattern": NO_CONTROL}), _Plain]
BirthYear = Annotated[StrictInt, Field(ge=1890, le=2100)]
RowId = Annotated[StrictInt, Field(ge=1, le=2**63 - 1)]
Sex = Literal[SEXES]  # type: ignore[valid-type]
Relation = Literal[RELATIONS]  # type: ignore[valid-type]


class ResidentFieldsIn(Body):
    """What a person's record holds besides where they live; on a change, a field left out stays as it was
    and one sent as null is cleared."""

    name: ResidentName | None = None
    sex: Sex | None = None
    birth_year: BirthYear | None = None
    relation: Relation | None = None
    phone: Phone | None = None
    id_number: IdCardNumber | None = None
    groups: Annotated[list[GroupCode], Field(max_length=20)] | None = None


class ResidentIn(ResidentFieldsIn):
    """POST /api/v1/residents: a person at a building, unit and room (the household is made if new)."""

    building: Id
    unit: Unit = ""
    room: Room
    name: ResidentName


class ResidentSearchIn(Body):
    """POST /api/v1/residents/search: a person by ID-card number (in a body, never in a logged URL)."""

    id_number: IdCardNumber


class SpecialGroupIn(Body):
    """POST /api/v1/residents/groups: a tag of the catalogue and its visit plan (days; null: no plan)."""

    code: GroupCode
    name_zh: GroupName
    name_en: GroupName
    visit_days: Annotated[StrictInt, Field(ge=1, le=366)] | None = None
    active: Flag = True


class VisitIn(Body):
    """POST /api/v1/residents/visits: a visit to a household (time default now), a note, a GPS point."""

    household: RowId
    visited_at: Time | None = None
    note: Note | None = None
    lon: Longitude | None = None
    lat: Latitude | None = None
    crs: CoordSystem = "wgs84"
    worker: Id | None = None


class ResidentListQuery(Query):
    """GET /api/v1/residents: the register as the caller may see it, by place or group, a page at a time."""

    grid: Id | None = None
    building: Id | None = None
    household: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = None
    group: GroupCode | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 100
    offset: Page = 0


class OverdueQuery(Query):
    """GET /api/v1/residents/visits/overdue: one grid's or one worker's overdue visits."""

    grid: Id | None = None
    worker: Id | None = None


class AccessLogQuery(PeriodQuery):
    """GET /api/v1/residents/access-log: who read whose record, when (default: the last 90 days)."""

    resident: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = None
    actor: Annotated[str, Field(max_length=100, json_schema_extra={"pattern": NO_CONTROL})] | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 1000
    offset: Page = 0


# ---- volunteers (core.volunteers) ----------------------------------------------------------------

Skill = Annotated[str, Field(min_length=1, max_length=50, json_schema_extra={"pattern": NO_CONTROL}), _Plain]


class VolunteerIn(Body):
    name: ResidentName
    skills: Annotated[list[Skill], Field(max_length=20)] = Field(default_factory=list)


class TeamIn(Body):
    """POST /api/v1/volunteers/teams: a team of a street with its members."""

    name: GroupName
    kind: Literal[TEAM_KINDS]  # type: ignore[valid-type]
    street: Id | None = None
    members: Annotated[list[VolunteerIn], Field(max_length=500)] = Field(default_factory=list)


class ServiceRequestIn(Body):
    """POST /api/v1/volunteers/requests (群众点单): what a household asks for, and the skill it needs."""

    household: RowId
    need: Annotated[
        str, Field(min_length=1, max_length=2000, json_schema_extra={"pattern": NO_CONTROL}), _Plain
    ]
    skill: Skill | None = None


class RequestStepIn(Body):
    """POST /api/v1/volunteers/requests/{id}/{step}: ``dispatch`` names the team (派单), ``accept`` the
    volunteer who takes it (接单), ``complete`` the hours given and a note."""

    team: RowId | None = None
    volunteer: RowId | None = None
    hours: Annotated[Number, Field(gt=0, le=24)] | None = None
    note: Note | None = None


class HoursQuery(PeriodQuery):
    """GET /api/v1/volunteers/hours: hours completed in the period (default: the last 90 days)."""

    street: Id | None = None


class InformantIn(Body):
    """POST /api/v1/residents/informants: an informant of a grid worker (a worker's own, by default)."""

    worker: Id | None = None
    name: ResidentName
    phone: Phone | None = None
    household: RowId | None = None


class InformantQuery(Query):
    """GET /api/v1/residents/informants: the informants of the caller's area, or of one worker."""

    worker: Id | None = None
