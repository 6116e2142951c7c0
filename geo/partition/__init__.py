"""Drawing grids of about 500 households (see ``geo.partition.resplit`` for now)."""

from geo.partition.resplit import (
    ANGLES,
    BALANCE_PRICE,
    COARSE_CELLS,
    ROAD_NEAR_M,
    SAMPLE_M,
    Partition,
    PartitionError,
    draw_grids,
    fit_around,
    near_road_length,
    polsby_popper,
    resplit_grids,
    tessellation,
)

__all__ = [
    "ANGLES",
    "BALANCE_PRICE",
    "COARSE_CELLS",
    "ROAD_NEAR_M",
    "SAMPLE_M",
    "Partition",
    "PartitionError",
    "draw_grids",
    "fit_around",
    "near_road_length",
    "polsby_popper",
    "resplit_grids",
    "tessellation",
]
