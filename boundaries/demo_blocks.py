"""The demo district's blocks and buildings: compounds of slab, mid-rise and tower rows between the roads,
kept whole until a street has about 28,000 households, and cut only along the gaps between buildings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon, box
from shapely.ops import polygonize, unary_union

HOUSEHOLDS_PER_STREET = 28_000
COMPOUND_NAMES = [
    "锦绣家园",
    "阳光花园",
    "惠宾小区",
    "石油小区",
    "兴隆佳苑",
    "振兴里",
    "渤海名都",
    "书香苑",
    "翰林苑",
    "春华小区",
    "秋实园",
    "和谐家园",
    "幸福里",
    "绿城花园",
    "金色港湾",
    "湖畔人家",
    "鹤乡苑",
    "红海滩小区",
    "油田一区",
    "油田二区",
    "油田三区",
    "曙光小区",
    "新村",
    "康乐园",
]
PUBLIC_NAMES = ["振兴小学", "农贸市场", "社区卫生服务中心", "街道办事处", "文化广场", "幼儿园", "体育公园"]
# (probability, floors range, units per building range, households per unit-floor, depth, unit width, row gap)
BLOCK_TYPES = {
    "slab": (0.33, (6, 7), (3, 6), (2, 3), 12.0, 14.0, 12.0),
    "mid": (0.33, (11, 18), (2, 4), (3, 4), 15.0, 16.0, 16.0),
    "tower": (0.34, (24, 33), (1, 2), (6, 8), 22.0, 22.0, 22.0),
}


@dataclass
class Block:
    poly: Polygon
    compound: str
    buildings: list[dict]


def street_blocks(
    rng: np.random.Generator, outline: Polygon, roads: list[dict], corridor
) -> tuple[list[Block], int]:
    """The faces between the roads as named compounds filled with buildings, and their households in all."""
    faces = [
        p for p in polygonize(unary_union([outline.exterior] + [r["line"] for r in roads])) if p.area > 0
    ]
    compounds = list(rng.permutation(COMPOUND_NAMES))
    blocks = [
        Block(
            p,
            compounds[i % len(compounds)] + ("" if i < len(compounds) else f"{i // len(compounds) + 1}期"),
            [],
        )
        for i, p in enumerate(faces)
    ]
    for b in blocks:
        b.buildings = _fill_block(rng, b.poly, corridor, b.compound)
    return blocks, _keep_households(rng, blocks)


def _keep_households(rng: np.random.Generator, blocks: list[Block]) -> int:
    """Keep whole buildings, in random order, until the street has about 28,000 households."""
    everything = [(bi, j) for bi, b in enumerate(blocks) for j in range(len(b.buildings))]
    keep, total = set(), 0
    for pos in rng.permutation(len(everything)):
        bi, j = everything[pos]
        hh = blocks[bi].buildings[j]["households"]
        if hh == 0 or total + hh <= HOUSEHOLDS_PER_STREET:
            keep.add((bi, j))
            total += hh
    for bi, b in enumerate(blocks):
        b.buildings = [bd for j, bd in enumerate(b.buildings) if (bi, j) in keep]
    return total


def _fill_block(rng: np.random.Generator, poly: Polygon, corridor, compound: str) -> list[dict]:
    """Rows of buildings inside the block, set back from the roads, every footprint wholly inside."""
    buildable = poly.buffer(-5.0).difference(corridor)
    if buildable.is_empty or buildable.area < 600:
        return []
    if rng.random() > 0.94:  # a school, market or clinic: no households
        return _public_building(rng, buildable)
    kind = str(rng.choice(list(BLOCK_TYPES), p=[t[0] for t in BLOCK_TYPES.values()]))
    _, floors_r, units_r, hh_r, depth, unit_w, gap = BLOCK_TYPES[kind]
    minx, miny, maxx, maxy = buildable.bounds
    out: list[dict] = []
    prepared = shapely.prepared.prep(buildable)
    row, v = 0, miny + rng.uniform(0, 4)
    while v + depth <= maxy:
        u = minx + rng.uniform(0, 6)
        placed = False
        while u < maxx:
            units = int(rng.integers(units_r[0], units_r[1] + 1))
            length = units * unit_w
            fp = box(u, v, u + length, v + depth)
            if prepared.contains(fp):
                floors = int(rng.integers(floors_r[0], floors_r[1] + 1))
                per = int(rng.integers(hh_r[0], hh_r[1] + 1))
                out.append(
                    {
                        "geom": fp,
                        "floors": floors,
                        "units": units,
                        "households": floors * units * per,
                        "row": row,
                        "compound": compound,
                    }
                )
                placed = True
                u += length + rng.uniform(6, 12)
            else:
                u += 4.0
        if placed:
            row += 1
        v += depth + gap + rng.uniform(-2, 3)
    return out


def _public_building(rng: np.random.Generator, buildable) -> list[dict]:
    """One school, market or clinic in the middle of the block, or nothing when it does not fit."""
    minx, miny, maxx, maxy = buildable.bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    fp = box(cx - 25, cy - 15, cx + 25, cy + 15)
    if not buildable.contains(fp):
        return []
    name = PUBLIC_NAMES[int(rng.integers(0, len(PUBLIC_NAMES)))]
    return [
        {
            "geom": fp,
            "floors": int(rng.integers(2, 5)),
            "units": 1,
            "households": 0,
            "row": 0,
            "name": name,
            "compound": name,
        }
    ]


def _free_cuts(buildings: list[dict], axis: int) -> list[tuple[float, float]]:
    """Positions along ``axis`` (0 = u, 1 = v) where a cut line meets no building, with households before it."""
    spans = sorted((b["geom"].bounds[axis], b["geom"].bounds[axis + 2], b["households"]) for b in buildings)
    cuts, reach, before = [], spans[0][1], spans[0][2]
    for lo, hi, hh in spans[1:]:
        if lo > reach + 1.0:
            cuts.append(((reach + lo) / 2, before))
        reach, before = max(reach, hi), before + hh
    return cuts


def split_block(poly: Polygon, buildings: list[dict], pieces: int) -> list[tuple[Polygon, list[dict]]]:
    """Bisect a block recursively along straight gaps between buildings, so no building is ever cut."""
    if pieces <= 1 or len(buildings) < 2:
        return [(poly, buildings)]
    total = sum(b["households"] for b in buildings) or 1
    share = (pieces // 2) / pieces
    best = None
    for axis in (1, 0):  # prefer cuts between rows
        for pos, before in _free_cuts(buildings, axis):
            score = abs(before / total - share)
            if best is None or score < best[0] - 1e-9:
                best = (score, axis, pos)
    if best is None:
        return [(poly, buildings)]
    _, axis, pos = best
    minx, miny, maxx, maxy = poly.bounds
    low_box = box(minx - 1, miny - 1, pos, maxy + 1) if axis == 0 else box(minx - 1, miny - 1, maxx + 1, pos)
    low = [b for b in buildings if b["geom"].bounds[axis + 2] < pos]
    high = [b for b in buildings if b["geom"].bounds[axis] > pos]
    k_low = max(1, round(pieces * sum(b["households"] for b in low) / total))
    return split_block(poly.intersection(low_box), low, k_low) + split_block(
        poly.difference(low_box), high, max(1, pieces - k_low)
    )


def add_buildings(rng: np.random.Generator, blocks: list[Block], layers: dict[str, list[dict]]) -> None:
    """The buildings layer, block by block and row by row, numbered through the street."""
    n_building = 0
    for b in blocks:
        for bd in sorted(b.buildings, key=lambda x: (x["row"], x["geom"].bounds[0])):
            n_building += 1
            name = bd.get("name") or f"{bd['compound']}{n_building}号楼"
            layers["buildings"].append(
                {
                    "id": f"{bd['community_id']}{n_building:04d}",
                    "name": name,
                    "grid_id": bd["grid_id"],
                    "community_id": bd["community_id"],
                    "compound": bd["compound"],
                    "floors": bd["floors"],
                    "units": bd["units"],
                    "households": bd["households"],
                    "population": int(round(bd["households"] * rng.uniform(2.2, 2.7))),
                    "geom": bd["geom"],
                }
            )
