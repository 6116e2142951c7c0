"""The demo district's communities and grids: serpentine runs of blocks with balanced households, cut
into grids along the gaps between buildings, then noded so neighbours share the very same vertices."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.ops import polygonize, unary_union

from boundaries.demo_blocks import Block, split_block
from boundaries.demo_people import person

GRIDS_PER_STREET = 64
COMMUNITIES_PER_STREET = 12
COMMUNITY_NAMES = [
    "振兴",
    "兴盛",
    "新兴",
    "胜利",
    "光明",
    "和平",
    "建设",
    "幸福",
    "友谊",
    "红旗",
    "惠宾",
    "园丁",
    "春华",
    "秋实",
    "锦绣",
    "阳光",
]


def _balanced_cuts(weights: list[float], k: int) -> list[int]:
    """Cut a sequence into ``k`` consecutive non-empty groups with sums as equal as possible (DP)."""
    n = len(weights)
    k = max(1, min(k, n))
    prefix = np.concatenate([[0.0], np.cumsum(weights)])
    target = prefix[-1] / k
    inf = float("inf")
    cost = np.full((k + 1, n + 1), inf)
    back = np.zeros((k + 1, n + 1), dtype=int)
    cost[0, 0] = 0.0
    for g in range(1, k + 1):
        for j in range(g, n + 1):
            prev = cost[g - 1, g - 1 : j] + (prefix[j] - prefix[g - 1 : j] - target) ** 2
            i = int(np.argmin(prev))
            cost[g, j], back[g, j] = prev[i], i + g - 1
    cuts, j = [], n
    for g in range(k, 0, -1):
        cuts.append(j)
        j = back[g, j]
    return sorted(cuts)  # end index (exclusive) of each group


def _groups(items: list, weights: list[float], k: int) -> list[list]:
    out, start = [], 0
    for end in _balanced_cuts(weights, k):
        out.append(items[start:end])
        start = end
    return out


def largest_remainder(shares: np.ndarray, total: int, minimum: int = 1) -> np.ndarray:
    """``total`` whole units in proportion to ``shares``, at least ``minimum`` each."""
    raw = shares / shares.sum() * total
    alloc = np.maximum(np.floor(raw).astype(int), minimum)
    while alloc.sum() < total:
        alloc[int(np.argmax(raw - alloc))] += 1
    while alloc.sum() > total:
        candidates = np.where(alloc > minimum, alloc - raw, -np.inf)
        alloc[int(np.argmax(candidates))] -= 1
    return alloc


def serpentine(polys: list[Polygon], bands: int, height: float) -> list[int]:
    """Order polygons band by band (of a frame ``height`` high), alternating direction, so consecutive
    ones are neighbours."""
    cents = np.array([[p.centroid.x, p.centroid.y] for p in polys])
    band = np.minimum((cents[:, 1] / height * bands).astype(int), bands - 1).clip(0)
    order = []
    for b in range(bands):
        idx = np.flatnonzero(band == b)
        idx = idx[np.argsort(cents[idx, 0])]
        order.extend(idx if b % 2 == 0 else idx[::-1])
    return [int(i) for i in order]


def add_communities(
    rng: np.random.Generator, street_id: str, blocks: list[Block], households: int, layers: dict
) -> None:
    """Communities as runs of ``blocks`` (in serpentine order) with balanced households, each with its grids,
    a grid worker per grid and a grid chief; then every boundary noded together."""
    block_hh = [sum(bd["households"] for bd in b.buildings) + 1.0 for b in blocks]
    community_blocks = _groups(blocks, block_hh, COMMUNITIES_PER_STREET)
    comm_hh = np.array([sum(block_hh[blocks.index(b)] for b in grp) for grp in community_blocks])
    grids_per_comm = largest_remainder(comm_hh, GRIDS_PER_STREET)
    target = households / GRIDS_PER_STREET
    for ci, (grp, n_grids) in enumerate(zip(community_blocks, grids_per_comm, strict=True)):
        cid = f"{street_id}{ci + 1:03d}"
        cname = COMMUNITY_NAMES[ci % len(COMMUNITY_NAMES)] + "社区"
        layers["communities"].append(
            {"id": cid, "name": cname, "street_id": street_id, "geom": unary_union([b.poly for b in grp])}
        )
        pieces: list[tuple[Polygon, list[dict]]] = []
        for b in grp:
            hh = sum(bd["households"] for bd in b.buildings)
            pieces.extend(split_block(b.poly, b.buildings, max(1, round(hh / (target / 2)))))
        _add_grids(rng, street_id, cid, cname, pieces, int(n_grids), layers)
        layers["people"].append(person(rng, "grid_chief", street_id, cid, None, None))
    _node_coverage(layers)
    _one_polygon_each(layers["grids"], [bd for b in blocks for bd in b.buildings])


def _add_grids(
    rng: np.random.Generator,
    street_id: str,
    cid: str,
    cname: str,
    pieces: list[tuple[Polygon, list[dict]]],
    n_grids: int,
    layers: dict,
) -> None:
    """A community's block pieces grouped into ``n_grids`` grids, a grid worker each; buildings told theirs."""
    piece_hh = [sum(bd["households"] for bd in members) + 1.0 for _, members in pieces]
    n_grids = max(1, min(n_grids, len(pieces)))
    for gi, gpieces in enumerate(_groups(pieces, piece_hh, n_grids)):
        gid = f"{cid}{gi + 1:02d}"
        members = [bd for _, m in gpieces for bd in m]
        layers["grids"].append(
            {
                "id": gid,
                "name": f"{cname}第{gi + 1}网格",
                "community_id": cid,
                "street_id": street_id,
                "households": int(sum(bd["households"] for bd in members)),
                "geom": unary_union([p for p, _ in gpieces]),
            }
        )
        layers["people"].append(person(rng, "grid_worker", street_id, cid, gid, None))
        for bd in members:
            bd["grid_id"], bd["community_id"] = gid, cid


def _one_polygon_each(grids: list[dict], buildings: list[dict]) -> None:
    """One polygon per grid: a run of block pieces can jump between blocks that do not touch, so each
    detached part of a grid (all but the part with most households) goes, with its buildings, to the
    touching grid of the same community with the fewest households. Faces are noded: edges are exact."""
    home = {id(bd): bd["grid_id"] for bd in buildings}
    by_id = {g["id"]: g for g in grids}

    def households(part, grid_id: str) -> int:
        return sum(
            bd["households"]
            for bd in buildings
            if home[id(bd)] == grid_id and part.contains(bd["geom"].representative_point())
        )

    for g in grids:
        if g["geom"].geom_type == "Polygon":
            continue
        keep, *loose = sorted(g["geom"].geoms, key=lambda p: -households(p, g["id"]))
        for part in loose:
            kin = [
                o
                for o in grids
                if o is not g
                and o["community_id"] == g["community_id"]
                and part.boundary.intersection(o["geom"].boundary).length > 1.0
            ]
            if not kin:
                keep = unary_union([keep, part])  # nothing touches it: it stays where it was
                continue
            to = min(kin, key=lambda o: sum(bd["households"] for bd in buildings if bd["grid_id"] == o["id"]))
            to["geom"] = unary_union([to["geom"], part])
            for bd in buildings:
                if home[id(bd)] == g["id"] and part.contains(bd["geom"].representative_point()):
                    bd["grid_id"] = to["id"]
        g["geom"] = keep
    for gid, g in by_id.items():
        g["households"] = int(sum(bd["households"] for bd in buildings if bd["grid_id"] == gid))


def _node_coverage(layers: dict[str, list[dict]]) -> None:
    """Rebuild grids, communities and the street from one noded set of faces.

    Cutting blocks into pieces leaves vertices on one side of a shared edge only;
    after projection such an edge no longer meets its neighbour exactly and thin
    gaps open along the roads, right where reports are made. Noding every grid
    boundary together and dissolving faces gives neighbours the very same vertices.
    """
    grids = [g["geom"] for g in layers["grids"]]
    faces = np.asarray(list(polygonize(unary_union([g.boundary for g in grids]))), dtype=object)
    tree = shapely.STRtree(np.asarray(grids, dtype=object))
    reps = shapely.point_on_surface(faces)
    owner = np.full(len(faces), -1)
    fi, gi = tree.query(reps, predicate="within")
    for f, g in sorted(zip(fi, gi, strict=True), reverse=True):
        owner[f] = g  # the lowest grid index is written last
    lost = np.flatnonzero(owner < 0)  # float-noise faces inside no grid: give them to the nearest
    if len(lost):
        owner[lost] = tree.query_nearest(reps[lost])[1][: len(lost)]
    for i, g in enumerate(layers["grids"]):
        g["geom"] = unary_union(faces[owner == i])
    by_comm: dict[str, list] = {}
    for i, g in enumerate(layers["grids"]):
        by_comm.setdefault(g["community_id"], []).extend(faces[owner == i])
    for c in layers["communities"]:
        c["geom"] = unary_union(by_comm[c["id"]])
    layers["streets"][0]["geom"] = unary_union(faces)
