"""The demo district: a deterministic, realistic street modelled on Zhenxing street, Panjin (seed 004).

About 0.7 km² near 122.07 E, 41.12 N; 16 named roads in an irregular pattern cut
into 42 responsible segments; 12 communities tiling the street; compounds of slab
and tower buildings (6 to 33 floors) summing to about 28,000 households; about 64
grids tiling the communities, one grid worker each; 44 party and 32 merchant
street chiefs. ``scale`` lays more streets side by side for benchmarks.

Everything is drawn in a street-aligned metric frame (u along the street, v across),
where roads run roughly along the axes and building rows are axis-aligned, then
rotated into UTM and projected to WGS-84. Shared boundaries are built from the same
vertices, so neighbouring polygons meet exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point, Polygon, box
from shapely.ops import polygonize, substring, unary_union

from boundaries.checks import polygonal
from geo.coords import utm_epsg

CENTER_LON, CENTER_LAT = 122.07, 41.12
DISTRICT_NAME = "兴隆台区"
DISTRICT_CODE = "211103"
STREET_W, STREET_H = 960.0, 720.0  # metres; about 0.69 km², as Zhenxing's 0.68 km²
STREET_GAP = 80.0
HOUSEHOLDS_PER_STREET = 28_000
GRIDS_PER_STREET = 64
COMMUNITIES_PER_STREET = 12
SEGMENTS_PER_STREET = 42
PARTY_CHIEFS, MERCHANT_CHIEFS = 44, 32
LAYERS = ("streets", "communities", "grids", "buildings", "roads", "road_segments", "people")

STREET_NAMES = [
    "振兴街道",
    "兴隆街道",
    "渤海街道",
    "创新街道",
    "曙光街道",
    "新工街道",
    "友谊街道",
    "惠宾街道",
    "团结街道",
    "胜利街道",
    "兴盛街道",
    "园丁街道",
]
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
EW_ROADS = ["兴隆大街", "石油大街", "惠宾大街", "市府大街", "泰山路"]
NS_ROADS = ["双兴路", "振兴路", "渤海路", "中兴路", "光明路"]
LANES = ["民主巷", "友谊巷", "新工街", "育才巷", "幸福巷", "春晖巷"]
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
SURNAMES = list(
    "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶贺顾毛郝龚邵万钱严武戴孔汤"
)
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志海燕晓东文斌宇浩凯俊帅鑫")
PHONE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "156",
    "158",
    "159",
    "176",
    "177",
    "180",
    "181",
    "186",
    "187",
    "189",
]
DUTIES = {
    "party": "每日早晚巡查责任路段，劝导占道经营，收集群众诉求，发现问题及时上报",
    "merchant": "落实门前三包，维护路段环境与经营秩序，及时上报安全隐患",
    "grid_worker": "入户走访，信息采集，矛盾调处，上报并跟进网格内事件",
    "grid_chief": "统筹社区网格员工作，督办网格事件",
    "official": "包保网格，每周至少两次陪同网格员巡查",
}


@dataclass
class _Block:
    poly: Polygon
    compound: str
    buildings: list[dict]


def person_name(rng: np.random.Generator) -> str:
    n = 1 if rng.random() < 0.35 else 2
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN, size=n))


def phone_number(rng: np.random.Generator) -> str:
    return rng.choice(PHONE_PREFIXES) + f"{int(rng.integers(0, 10**8)):08d}"


def _bent_line(rng: np.random.Generator, axis: str, at: float, length: float, wiggle: float) -> LineString:
    """A road crossing the whole street along ``axis`` with gentle bends."""
    ts = np.linspace(-60.0, length + 60.0, 5)
    offs = (
        at
        + np.concatenate([[0.0], rng.uniform(-wiggle, wiggle, size=3), [0.0]])
        + rng.uniform(-wiggle, wiggle)
    )
    pts = np.column_stack([ts, offs]) if axis == "u" else np.column_stack([offs, ts])
    return LineString(pts)


def _street_outline(rng: np.random.Generator) -> Polygon:
    j = lambda: rng.uniform(-25, 25)  # noqa: E731
    return Polygon(
        [
            (j(), j()),
            (STREET_W * 0.55 + j(), -15 + j()),
            (STREET_W + j(), j()),
            (STREET_W + 20 + j(), STREET_H * 0.5 + j()),
            (STREET_W + j(), STREET_H + j()),
            (STREET_W * 0.4 + j(), STREET_H + 20 + j()),
            (j(), STREET_H + j()),
            (-15 + j(), STREET_H * 0.45),
        ]
    )


def _roads(rng: np.random.Generator, outline: Polygon) -> list[dict]:
    """5 east–west and 5 north–south roads, then 6 lanes joining neighbouring parallel roads."""
    roads: list[dict] = []
    ew_at = np.sort(np.array([0.14, 0.33, 0.52, 0.70, 0.87]) * STREET_H + rng.uniform(-18, 18, 5))
    ns_at = np.sort(np.array([0.12, 0.30, 0.50, 0.69, 0.87]) * STREET_W + rng.uniform(-22, 22, 5))
    for i, v in enumerate(ew_at):
        kind = "main" if i in (1, 3) else "secondary"
        roads.append({"name": EW_ROADS[i], "kind": kind, "line": _bent_line(rng, "u", v, STREET_W, 12)})
    for i, u in enumerate(ns_at):
        kind = "main" if i == 2 else "secondary"
        roads.append({"name": NS_ROADS[i], "kind": kind, "line": _bent_line(rng, "v", u, STREET_H, 14)})
    ew, ns = roads[:5], roads[5:]
    used: set[tuple[str, int]] = set()
    for name in LANES:
        while True:
            vertical = rng.random() < 0.6
            i = int(rng.integers(0, 4))
            if ("v" if vertical else "h", i) not in used:
                break
        used.add(("v" if vertical else "h", i))
        if vertical:  # a lane across the block between two east–west roads
            lo, hi = ns_at[i], ns_at[i + 1]
            u = rng.uniform(lo + 0.35 * (hi - lo), hi - 0.35 * (hi - lo))
            probe = LineString([(u, -100), (u + rng.uniform(-15, 15), STREET_H + 100)])
            a, b = ew[i]["line"], ew[i + 1]["line"]
        else:
            lo, hi = ew_at[i], ew_at[i + 1]
            v = rng.uniform(lo + 0.35 * (hi - lo), hi - 0.35 * (hi - lo))
            probe = LineString([(-100, v), (STREET_W + 100, v + rng.uniform(-12, 12))])
            a, b = ns[i]["line"], ns[i + 1]["line"]
        pa, pb = probe.intersection(a), probe.intersection(b)
        roads.append({"name": name, "kind": "lane", "line": LineString([pa.coords[0], pb.coords[0]])})
    for r in roads:
        clipped = r["line"].intersection(outline)
        if clipped.geom_type != "LineString":
            clipped = max(getattr(clipped, "geoms", [clipped]), key=lambda g: g.length)
        r["line"] = clipped
    return roads


HALF_WIDTH = {"main": 16.0, "secondary": 10.0, "lane": 6.0}
# (probability, floors range, units per building range, households per unit-floor, depth, unit width, row gap)
BLOCK_TYPES = {
    "slab": (0.33, (6, 7), (3, 6), (2, 3), 12.0, 14.0, 12.0),
    "mid": (0.33, (11, 18), (2, 4), (3, 4), 15.0, 16.0, 16.0),
    "tower": (0.34, (24, 33), (1, 2), (6, 8), 22.0, 22.0, 22.0),
}


def _fill_block(rng: np.random.Generator, poly: Polygon, corridor, compound: str) -> list[dict]:
    """Rows of buildings inside the block, set back from the roads, every footprint wholly inside."""
    buildable = poly.buffer(-5.0).difference(corridor)
    if buildable.is_empty or buildable.area < 600:
        return []
    r = rng.random()
    if r > 0.94:  # a school, market or clinic: no households
        minx, miny, maxx, maxy = buildable.bounds
        cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
        fp = box(cx - 25, cy - 15, cx + 25, cy + 15)
        if buildable.contains(fp):
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
        return []
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


def _largest_remainder(shares: np.ndarray, total: int, minimum: int = 1) -> np.ndarray:
    raw = shares / shares.sum() * total
    alloc = np.maximum(np.floor(raw).astype(int), minimum)
    while alloc.sum() < total:
        alloc[int(np.argmax(raw - alloc))] += 1
    while alloc.sum() > total:
        candidates = np.where(alloc > minimum, alloc - raw, -np.inf)
        alloc[int(np.argmax(candidates))] -= 1
    return alloc


def _serpentine(polys: list[Polygon], bands: int) -> list[int]:
    """Order polygons band by band, alternating direction, so consecutive ones are neighbours."""
    cents = np.array([[p.centroid.x, p.centroid.y] for p in polys])
    band = np.minimum((cents[:, 1] / STREET_H * bands).astype(int), bands - 1).clip(0)
    order = []
    for b in range(bands):
        idx = np.flatnonzero(band == b)
        idx = idx[np.argsort(cents[idx, 0])]
        order.extend(idx if b % 2 == 0 else idx[::-1])
    return [int(i) for i in order]


def _free_cuts(buildings: list[dict], axis: int) -> list[tuple[float, float]]:
    """Positions along ``axis`` (0 = u, 1 = v) where a cut line meets no building, with households before it."""
    spans = sorted((b["geom"].bounds[axis], b["geom"].bounds[axis + 2], b["households"]) for b in buildings)
    cuts, reach, before = [], spans[0][1], spans[0][2]
    for lo, hi, hh in spans[1:]:
        if lo > reach + 1.0:
            cuts.append(((reach + lo) / 2, before))
        reach, before = max(reach, hi), before + hh
    return cuts


def _split_block(poly: Polygon, buildings: list[dict], pieces: int) -> list[tuple[Polygon, list[dict]]]:
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
    return _split_block(poly.intersection(low_box), low, k_low) + _split_block(
        poly.difference(low_box), high, max(1, pieces - k_low)
    )


def _one_street(rng: np.random.Generator, k: int) -> dict[str, list[dict]]:
    """All layers of one street in its local frame (metres)."""
    street_id = f"{DISTRICT_CODE}{k + 1:03d}"
    street_name = STREET_NAMES[k % len(STREET_NAMES)] + (
        f"{k // len(STREET_NAMES) + 1}" if k >= len(STREET_NAMES) else ""
    )
    outline = _street_outline(rng)
    roads = _roads(rng, outline)
    corridor = unary_union([r["line"].buffer(HALF_WIDTH[r["kind"]], cap_style="flat") for r in roads])
    faces = [
        p for p in polygonize(unary_union([outline.exterior] + [r["line"] for r in roads])) if p.area > 0
    ]
    compounds = list(rng.permutation(COMPOUND_NAMES))
    blocks = [
        _Block(
            p,
            compounds[i % len(compounds)] + ("" if i < len(compounds) else f"{i // len(compounds) + 1}期"),
            [],
        )
        for i, p in enumerate(faces)
    ]
    for b in blocks:
        b.buildings = _fill_block(rng, b.poly, corridor, b.compound)
    # Keep whole buildings, in random order, until the street has about 28,000 households.
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

    # Communities: serpentine runs of blocks with balanced households.
    order = _serpentine([b.poly for b in blocks], bands=4)
    blocks = [blocks[i] for i in order]
    block_hh = [sum(bd["households"] for bd in b.buildings) + 1.0 for b in blocks]
    community_blocks = _groups(blocks, block_hh, COMMUNITIES_PER_STREET)
    comm_hh = np.array([sum(block_hh[blocks.index(b)] for b in grp) for grp in community_blocks])
    grids_per_comm = _largest_remainder(comm_hh, GRIDS_PER_STREET)
    target = total / GRIDS_PER_STREET

    layers: dict[str, list[dict]] = {name: [] for name in LAYERS}
    layers["streets"].append(
        {"id": street_id, "name": street_name, "district": DISTRICT_NAME, "geom": outline}
    )
    for ci, (grp, n_grids) in enumerate(zip(community_blocks, grids_per_comm, strict=True)):
        cid = f"{street_id}{ci + 1:03d}"
        cname = COMMUNITY_NAMES[ci % len(COMMUNITY_NAMES)] + "社区"
        layers["communities"].append(
            {"id": cid, "name": cname, "street_id": street_id, "geom": unary_union([b.poly for b in grp])}
        )
        pieces: list[tuple[Polygon, list[dict]]] = []
        for b in grp:
            hh = sum(bd["households"] for bd in b.buildings)
            pieces.extend(_split_block(b.poly, b.buildings, max(1, round(hh / (target / 2)))))
        piece_hh = [sum(bd["households"] for bd in members) + 1.0 for _, members in pieces]
        n_grids = max(1, min(int(n_grids), len(pieces)))
        for gi, gpieces in enumerate(_groups(pieces, piece_hh, n_grids)):
            gid = f"{cid}{gi + 1:02d}"
            members = [bd for _, m in gpieces for bd in m]
            geom = unary_union([p for p, _ in gpieces])
            layers["grids"].append(
                {
                    "id": gid,
                    "name": f"{cname}第{gi + 1}网格",
                    "community_id": cid,
                    "street_id": street_id,
                    "households": int(sum(bd["households"] for bd in members)),
                    "geom": geom,
                }
            )
            layers["people"].append(_person(rng, "grid_worker", street_id, cid, gid, None))
            for bd in members:
                bd["grid_id"], bd["community_id"] = gid, cid
        layers["people"].append(_person(rng, "grid_chief", street_id, cid, None, None))
    _node_coverage(layers)
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
    for ri, r in enumerate(roads):
        layers["roads"].append(
            {
                "id": f"{street_id}R{ri + 1:02d}",
                "name": r["name"],
                "kind": r["kind"],
                "street_id": street_id,
                "geom": r["line"],
            }
        )
    _segments(rng, street_id, roads, outline, layers)
    for pi, p in enumerate(layers["people"]):
        p["id"] = f"{street_id}P{pi + 1:04d}"
    return layers


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


def _person(
    rng, role: str, street_id: str, community_id, grid_id, segment_id, kind: str | None = None
) -> dict:
    return {
        "name": person_name(rng),
        "role": role,
        "chief_kind": kind,
        "phone": phone_number(rng),
        "street_id": street_id,
        "community_id": community_id,
        "grid_id": grid_id,
        "segment_id": segment_id,
        "duties": DUTIES[kind or role],
    }


def _segments(rng, street_id: str, roads: list[dict], outline: Polygon, layers: dict) -> None:
    """Cut the roads into 42 responsible segments at junctions, and give each one or two chiefs."""
    counts = _largest_remainder(np.array([r["line"].length for r in roads]), SEGMENTS_PER_STREET)
    seg_ids = []
    for r, n in zip(roads, counts, strict=True):
        line: LineString = r["line"]
        junctions = []
        for other in roads:
            if other is r:
                continue
            x = line.intersection(other["line"])
            for pt in getattr(x, "geoms", [x]):
                if isinstance(pt, Point) and 20 < line.project(pt) < line.length - 20:
                    junctions.append((line.project(pt), other["name"]))
        junctions.sort()
        cuts: list[tuple[float, str]] = []
        for i in range(1, n):
            want = line.length * i / n
            near = [j for j in junctions if abs(j[0] - want) < line.length / (2 * n) and j not in cuts]
            cuts.append(min(near, key=lambda j: abs(j[0] - want)) if near else (want, ""))
        cuts.sort()
        stops = [(0.0, "街道边界")] + cuts + [(line.length, "街道边界")]
        for (d0, n0), (d1, n1) in zip(stops[:-1], stops[1:], strict=True):
            sid = f"{street_id}S{len(seg_ids) + 1:02d}"
            seg_ids.append(sid)
            f = n0 + "路口" if n0 and n0 != "街道边界" else (n0 or f"{r['name']}约{int(d0)}米处")
            t = n1 + "路口" if n1 and n1 != "街道边界" else (n1 or f"{r['name']}约{int(d1)}米处")
            layers["road_segments"].append(
                {
                    "id": sid,
                    "name": f"{r['name']}（{f}至{t}）",
                    "street_id": street_id,
                    "road_name": r["name"],
                    "from_desc": f,
                    "to_desc": t,
                    "geom": substring(line, d0, d1),
                }
            )
    kinds = ["party"] * PARTY_CHIEFS + ["merchant"] * MERCHANT_CHIEFS
    kinds = [kinds[i] for i in rng.permutation(len(kinds))]
    owners = seg_ids + [
        seg_ids[i] for i in rng.choice(len(seg_ids), size=len(kinds) - len(seg_ids), replace=False)
    ]
    for sid, kind in zip(owners, kinds, strict=True):
        layers["people"].append(_person(rng, "street_chief", street_id, None, None, sid, kind))
    for _ in range(4):
        layers["people"].append(_person(rng, "official", street_id, None, None, None))


def _to_frame(rows: list[dict], crs_from: int, theta: float, origin: tuple[float, float]) -> gpd.GeoDataFrame:
    """Rotate a street's local frame by ``theta`` and move it to ``origin`` (UTM metres)."""
    geoms = [r.pop("geom") for r in rows]
    series = gpd.GeoSeries(geoms, crs=crs_from)
    c, s = math.cos(theta), math.sin(theta)
    series = series.affine_transform([c, -s, s, c, origin[0], origin[1]])
    return gpd.GeoDataFrame(rows, geometry=series.values, crs=crs_from)


def make_district(seed: int = 7, scale: int = 1) -> dict[str, gpd.GeoDataFrame]:
    """All seven layers of a demo district in EPSG:4326 (``people`` without geometry)."""
    epsg = utm_epsg(CENTER_LON, CENTER_LAT)
    to_utm = Transformer.from_crs(4326, epsg, always_xy=True)
    cx, cy = to_utm.transform(CENTER_LON, CENTER_LAT)
    cols = math.ceil(math.sqrt(scale))
    merged: dict[str, list[gpd.GeoDataFrame]] = {name: [] for name in LAYERS}
    for k in range(scale):
        rng = np.random.default_rng([seed, k])
        layers = _one_street(rng, k)
        theta = math.radians(rng.uniform(-12, 12))
        row, col = divmod(k, cols)
        # Each street's frame is rotated about its own centre, then placed on a loose lattice.
        ox = (
            cx
            + (col - (cols - 1) / 2) * (STREET_W + STREET_GAP)
            - (STREET_W / 2) * math.cos(theta)
            + (STREET_H / 2) * math.sin(theta)
        )
        oy = (
            cy
            + (row - (cols - 1) / 2) * (STREET_H + STREET_GAP)
            - (STREET_W / 2) * math.sin(theta)
            - (STREET_H / 2) * math.cos(theta)
        )
        for name in LAYERS:
            if name == "people":
                merged[name].append(pd.DataFrame(layers[name]))
            else:
                merged[name].append(_to_frame(layers[name], epsg, theta, (ox, oy)).to_crs(4326))
    out: dict[str, gpd.GeoDataFrame] = {}
    for name, frames in merged.items():
        df = pd.concat(frames, ignore_index=True)
        if name != "people":
            df = gpd.GeoDataFrame(df, geometry="geometry", crs=4326)
            if name in ("streets", "communities", "grids", "buildings"):
                # Projection noise can, rarely, make a ring touch itself; mend only those.
                df["geometry"] = [polygonal(g if g.is_valid else shapely.make_valid(g)) for g in df.geometry]
        out[name] = df
    return out


def write_district(layers: dict[str, gpd.GeoDataFrame], out_dir: Path) -> Path:
    """Write the layers into ``out_dir/district.gpkg`` (replacing it) and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "district.gpkg"
    if path.exists():
        path.unlink()
    for name in LAYERS:
        pyogrio.write_dataframe(layers[name], path, layer=name, driver="GPKG")
    return path


def lattice_buildings(
    n: int,
    seed: int = 0,
    width_m: float = 2000.0,
    height_m: float = 1200.0,
    origin: tuple[float, float] = (421_000.0, 4_552_000.0),
):
    """Small buildings on a jittered lattice near Panjin (UTM 51N), with 5–59 households each, plus the
    boundary around them and a few straight roads: the fine-grained input of partition tests and benchmarks.

    Returns (buildings, boundary, roads, lattice step in metres), all in EPSG:4326.
    """
    rng = np.random.default_rng(seed)
    e0, n0 = origin
    cols = int(np.ceil(np.sqrt(n * width_m / height_m)))
    step = width_m / cols
    i = np.arange(n)
    x = e0 + (i % cols + 0.5) * step + rng.uniform(-step / 6, step / 6, n)
    y = n0 + (i // cols + 0.5) * step + rng.uniform(-step / 6, step / 6, n)
    rows = int(np.ceil(n / cols))
    top = n0 + rows * step
    fp = shapely.buffer(shapely.points(x, y), 3, cap_style="square")
    buildings = gpd.GeoDataFrame({"households": rng.integers(5, 60, n)}, geometry=fp, crs=32651).to_crs(4326)
    boundary = gpd.GeoSeries([box(e0 - 20, n0 - 20, e0 + width_m + 20, top + 20)], crs=32651).to_crs(4326)
    roads = gpd.GeoSeries(
        [LineString([(e0 - 50, n0 + v), (e0 + width_m + 50, n0 + v)]) for v in np.arange(400, top - n0, 400)]
        + [LineString([(e0 + u, n0 - 50), (e0 + u, top + 50)]) for u in np.arange(500, width_m, 500)],
        crs=32651,
    )
    return buildings, boundary, roads.to_crs(4326), step
