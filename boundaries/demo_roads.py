"""The demo district's street outline and roads: five east–west and five north–south roads with gentle
bends, six lanes between them, and the roads cut at junctions into responsible segments with their chiefs.

All in the street-aligned metric frame (u along the street, v across)."""

from __future__ import annotations

import numpy as np
from shapely.geometry import LineString, Point, Polygon
from shapely.ops import substring, unary_union

from boundaries.demo_grids import largest_remainder
from boundaries.demo_people import person

STREET_W, STREET_H = 960.0, 720.0  # metres; about 0.69 km², as Zhenxing's 0.68 km²
SEGMENTS_PER_STREET = 42
PARTY_CHIEFS, MERCHANT_CHIEFS = 44, 32
EW_ROADS = ["兴隆大街", "石油大街", "惠宾大街", "市府大街", "泰山路"]
NS_ROADS = ["双兴路", "振兴路", "渤海路", "中兴路", "光明路"]
LANES = ["民主巷", "友谊巷", "新工街", "育才巷", "幸福巷", "春晖巷"]
HALF_WIDTH = {"main": 16.0, "secondary": 10.0, "lane": 6.0}
BORDER = "街道边界"


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


def street_outline(rng: np.random.Generator) -> Polygon:
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


def street_roads(rng: np.random.Generator, outline: Polygon) -> list[dict]:
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
    roads.extend(_lanes(rng, roads[:5], roads[5:], ew_at, ns_at))
    for r in roads:
        clipped = r["line"].intersection(outline)
        if clipped.geom_type != "LineString":
            clipped = max(getattr(clipped, "geoms", [clipped]), key=lambda g: g.length)
        r["line"] = clipped
    return roads


def _lanes(
    rng: np.random.Generator, ew: list[dict], ns: list[dict], ew_at: np.ndarray, ns_at: np.ndarray
) -> list[dict]:
    """Six lanes, each across a different block between two neighbouring parallel roads."""
    lanes: list[dict] = []
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
        lanes.append({"name": name, "kind": "lane", "line": LineString([pa.coords[0], pb.coords[0]])})
    return lanes


def road_corridor(roads: list[dict]):
    """The ground the roads take, by their kind's width: buildings keep out of it."""
    return unary_union([r["line"].buffer(HALF_WIDTH[r["kind"]], cap_style="flat") for r in roads])


def add_roads(rng: np.random.Generator, street_id: str, roads: list[dict], layers: dict) -> None:
    """The roads layer, then the responsible segments and their street chiefs, then the street's officials."""
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
    counts = largest_remainder(np.array([r["line"].length for r in roads]), SEGMENTS_PER_STREET)
    seg_ids: list[str] = []
    for r, n in zip(roads, counts, strict=True):
        _add_segments(street_id, r, roads, n, seg_ids, layers)
    kinds = ["party"] * PARTY_CHIEFS + ["merchant"] * MERCHANT_CHIEFS
    kinds = [kinds[i] for i in rng.permutation(len(kinds))]
    owners = seg_ids + [
        seg_ids[i] for i in rng.choice(len(seg_ids), size=len(kinds) - len(seg_ids), replace=False)
    ]
    for sid, kind in zip(owners, kinds, strict=True):
        layers["people"].append(person(rng, "street_chief", street_id, None, None, sid, kind))
    for _ in range(4):
        layers["people"].append(person(rng, "official", street_id, None, None, None))


def _add_segments(
    street_id: str, road: dict, roads: list[dict], n: int, seg_ids: list[str], layers: dict
) -> None:
    """Cut ``road`` into ``n`` segments, at junctions where one is near the even cut, named by their ends."""
    line: LineString = road["line"]
    junctions = []
    for other in roads:
        if other is road:
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
    stops = [(0.0, BORDER)] + cuts + [(line.length, BORDER)]
    for (d0, n0), (d1, n1) in zip(stops[:-1], stops[1:], strict=True):
        sid = f"{street_id}S{len(seg_ids) + 1:02d}"
        seg_ids.append(sid)
        f, t = _end_desc(road["name"], d0, n0), _end_desc(road["name"], d1, n1)
        layers["road_segments"].append(
            {
                "id": sid,
                "name": f"{road['name']}（{f}至{t}）",
                "street_id": street_id,
                "road_name": road["name"],
                "from_desc": f,
                "to_desc": t,
                "geom": substring(line, d0, d1),
            }
        )


def _end_desc(road_name: str, at: float, junction: str) -> str:
    """A segment end: the crossing road's junction, the street boundary, or a distance along the road."""
    if junction and junction != BORDER:
        return junction + "路口"
    return junction or f"{road_name}约{int(at)}米处"
