"""The incident catalogue: categories with tier, departments summoned and time limits.

Validated with pydantic on every way in (the shipped default, a file from the CLI,
a body from the API), so a typo in a department code is an error, not a silent gap.
"""

from __future__ import annotations

import json
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import Connection

from core.errors import Invalid, validation_detail
from core.inputs import Label
from store import catalogue as stored

DEFAULT_FILE = Path(__file__).with_name("data") / "catalogue.json"
CODE = r"^[A-Za-z0-9_-]{1,32}$"


class CatalogueError(Invalid):
    """The catalogue is not valid; the detail lists every problem."""


class DepartmentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: str = Field(pattern=CODE)
    name_zh: Label
    name_en: Label
    report_limit_min: int = Field(gt=0, le=60 * 24 * 30)


class CategorySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: str = Field(pattern=CODE)
    name_zh: Label
    name_en: Label
    tier: Literal["A", "B", "C", "D"]
    road_related: bool = False
    departments: list[str] = Field(default_factory=list)
    response_limit_min: int = Field(gt=0, le=60 * 24 * 7)
    completion_limit_h: int = Field(gt=0, le=24 * 365)
    active: bool = True
    # Matters about people are private: the public never sees them. A public category shows its
    # description and photos to the public only when ``public_text`` says so.
    public: bool = True
    public_text: bool = False
    # A case of this category is resolved only with an 'after' photo of the work done (issue 17).
    after_photo_required: bool = False

    @model_validator(mode="after")
    def _limits_in_order(self) -> CategorySpec:
        if self.response_limit_min > self.completion_limit_h * 60:
            raise ValueError(
                f"response limit {self.response_limit_min} min is longer than the completion "
                f"deadline {self.completion_limit_h} h"
            )
        return self


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    departments: list[DepartmentSpec] = Field(default_factory=list)
    categories: list[CategorySpec] = Field(default_factory=list)


def parse_catalogue(data: object, known_departments: AbstractSet[str] = frozenset()) -> Catalogue:
    """Validate a catalogue document; department codes must be defined in it or already known."""
    try:
        catalogue = Catalogue.model_validate(data)
    except ValidationError as exc:
        raise CatalogueError(validation_detail(exc)) from None
    problems = []
    for kind, items in (("department", catalogue.departments), ("category", catalogue.categories)):
        codes = [i.code for i in items]
        problems += [f"duplicate {kind} code {c!r}" for c in sorted({c for c in codes if codes.count(c) > 1})]
    departments = known_departments | {d.code for d in catalogue.departments}
    for cat in catalogue.categories:
        problems += [
            f"category {cat.code}: unknown department {d!r}" for d in cat.departments if d not in departments
        ]
    if problems:
        raise CatalogueError("; ".join(problems))
    return catalogue


def read_catalogue_file(path: Path | str = DEFAULT_FILE) -> Catalogue:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CatalogueError(f"cannot read catalogue {path}: {exc}") from None
    return parse_catalogue(data)


def known_departments(conn: Connection) -> set[str]:
    return stored.department_codes(conn)


def save_catalogue(conn: Connection, catalogue: Catalogue) -> dict[str, int]:
    """Insert or update every entry (categories are never deleted: old incidents point at them)."""
    for d in catalogue.departments:
        stored.upsert_department(conn, d.model_dump())
    for c in catalogue.categories:
        stored.upsert_category(conn, c.model_dump())
    return {"departments": len(catalogue.departments), "categories": len(catalogue.categories)}


def ensure_default_catalogue(conn: Connection) -> None:
    """Load the shipped catalogue into an empty database (an edited catalogue is left alone)."""
    if stored.category_count(conn) == 0:
        save_catalogue(conn, read_catalogue_file())


def list_categories(conn: Connection, *, include_inactive: bool = False) -> list[dict]:
    return stored.categories(conn, include_inactive=include_inactive)


def list_departments(conn: Connection) -> list[dict]:
    return stored.departments(conn)
