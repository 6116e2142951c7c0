"""What each boundary layer holds: its table, geometry kind, parent and attribute columns."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.vocabulary import LAYER_LABELS
from store import models


@dataclass(frozen=True)
class LayerSpec:
    """A layer as files and the database both see it; ``parents`` maps a column to the layer it points at."""

    name: str
    model: type
    geometry: str | None  # "polygon", "line" or None (attribute table)
    parents: dict[str, str] = field(default_factory=dict)
    required_parents: tuple[str, ...] = ()
    int_columns: tuple[str, ...] = ()
    text_columns: tuple[str, ...] = ()
    required_ints: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The layer's name as people read it (``core.vocabulary.LAYER_LABELS``)."""
        return LAYER_LABELS[self.name]

    @property
    def table(self) -> str:
        return self.model.__tablename__

    @property
    def columns(self) -> tuple[str, ...]:
        return ("id", "name", *self.parents, *self.text_columns, *self.int_columns)


LAYERS: dict[str, LayerSpec] = {
    spec.name: spec
    for spec in (
        LayerSpec("streets", models.Street, "polygon", text_columns=("district",)),
        LayerSpec(
            "communities",
            models.Community,
            "polygon",
            {"street_id": "streets"},
            ("street_id",),
        ),
        LayerSpec(
            "grids",
            models.Grid,
            "polygon",
            {"community_id": "communities"},
            ("community_id",),
            int_columns=("households",),
        ),
        LayerSpec(
            "buildings",
            models.Building,
            "polygon",
            {"grid_id": "grids"},
            ("grid_id",),
            int_columns=("floors", "units", "households", "population"),
            text_columns=("compound",),
            required_ints=("households",),
        ),
        LayerSpec("roads", models.Road, "line", {"street_id": "streets"}, text_columns=("kind",)),
        LayerSpec(
            "road_segments",
            models.RoadSegment,
            "line",
            {"street_id": "streets"},
            ("street_id",),
            text_columns=("road_name", "from_desc", "to_desc"),
        ),
        LayerSpec(
            "people",
            models.Person,
            None,
            {
                "street_id": "streets",
                "community_id": "communities",
                "grid_id": "grids",
                "segment_id": "road_segments",
            },
            text_columns=("role", "chief_kind", "phone", "duties"),
        ),
    )
}

# Load order: parents before children.
LOAD_ORDER: tuple[str, ...] = tuple(LAYERS)
PARENT_FIELD = {name: spec.required_parents[0] for name, spec in LAYERS.items() if spec.required_parents}
