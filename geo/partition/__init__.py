"""Drawing grids of about 500 households: a tessellation around the buildings, cut by recursive bisection.

Pure computation: frames in, frames out, no database.

1. The parent is cut into blocks by the roads, and each block into one cell per
   building (a Voronoi tessellation of points along the footprints, so each cell
   holds its whole footprint). Grids are unions of cells, so they tile the parent
   exactly and never cut a building (``tessellate``, ``prepare``, ``adjacency``).
2. The cells are split in two, again and again, until each part should hold one
   grid: each split is a straight sweep at one of several angles, choosing, among
   the cuts that divide the households in the right proportion, the one whose
   boundary runs most along roads and is shortest (compact grids); a part must stay
   in one piece (``bisection``, ``contiguity``).
3. Boundary buildings move between neighbouring grids, first to bring grids into the
   band, then to shorten the boundary between grids (compact grids, priced against
   balance); small coarse inputs also try nearby counts of grids (``balance``, ``draw``).
4. Each grid's households, compactness (Polsby–Popper) and band are reported, and
   every grid that cannot be in band says why (``report``). Buildings too big for one
   grid may be split by their units first (``geo.units``).

A boundary of several features with ids (streets, communities) is drawn feature by feature (``features``).
Grids drawn before are re-split by changing only what drifted out of band (``resplit``).
"""

from geo.partition.adjacency import ROAD_NEAR_M, near_road_length
from geo.partition.balance import BALANCE_PRICE
from geo.partition.bisection import ANGLES
from geo.partition.draw import COARSE_CELLS
from geo.partition.features import draw_grids
from geo.partition.model import Partition, PartitionError
from geo.partition.prepare import building_names, buildings_outside, derived_boundary, tessellation
from geo.partition.report import polsby_popper
from geo.partition.resplit import resplit_grids
from geo.partition.tessellate import SAMPLE_M

__all__ = [
    "ANGLES",
    "BALANCE_PRICE",
    "COARSE_CELLS",
    "ROAD_NEAR_M",
    "SAMPLE_M",
    "Partition",
    "PartitionError",
    "building_names",
    "buildings_outside",
    "derived_boundary",
    "draw_grids",
    "near_road_length",
    "polsby_popper",
    "resplit_grids",
    "tessellation",
]
