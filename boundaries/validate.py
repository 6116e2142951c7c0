"""Checks of a whole hierarchy: containment, overlaps, gaps, buildings across grids, sizes, owners.

Works on frames (from the database or a GeoPackage) in a metric projection, with
tolerances in metres: a sliver thinner than the tolerance is digitising noise, not
a gap or an overlap, and is not reported.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.locate import metric_epsg_for_bounds

ERROR, WARNING = "error", "warning"
# (child layer, parent column, parent layer): the polygon containment chain.
CHAIN = (
    ("communities", "street_id", "streets"),
    ("grids", "community_id", "communities"),
    ("buildings", "grid_id", "grids"),
)
SINGULAR = {"streets": "street", "communities": "community", "grids": "grid", "buildings": "building"}
TILED = (("communities", "street_id", "streets"), ("grids", "community_id", "communities"))


@dataclass
class Finding:
    severity: str
    check: str
    layer: str
    id: str | None
    detail: str
    geometry: object = None  # in EPSG:4326, for the GeoJSON of problem locations

    def as_dict(self) -> dict:
        d = asdict(self)
        geom = d.pop("geometry")
        pt = geom.representative_point() if geom is not None and not geom.is_empty else None
        d["lon"], d["lat"] = (round(pt.x, 7), round(pt.y, 7)) if pt is not None else (None, None)
        return d


@dataclass
class Tolerances:
    topology_m: float = 0.5
    households_band: tuple[float, float] = (450.0, 550.0)
    informants_per_worker: int = 20


def _real(geom, tol_m: float) -> bool:
    """Is this piece more than a sliver? It must survive shrinking by half the tolerance."""
    return geom is not None and not geom.is_empty and not geom.buffer(-tol_m / 2).is_empty


def _to_wgs(geom, epsg: int):
    return gpd.GeoSeries([geom], crs=epsg).to_crs(4326).iloc[0]


def validate_hierarchy(layers: dict[str, pd.DataFrame], tol: Tolerances) -> list[Finding]:
    """All findings for the hierarchy in ``layers`` (frames as ``read_table`` or a demo GeoPackage gives them)."""
    out: list[Finding] = []
    streets = layers.get("streets")
    if streets is None or len(streets) == 0:
        return [Finding(ERROR, "empty", "streets", None, "没有街道 / no streets stored")]
    epsg = metric_epsg_for_bounds(streets.total_bounds)
    metric = {
        name: f.to_crs(epsg) for name, f in layers.items() if isinstance(f, gpd.GeoDataFrame) and len(f)
    }
    out += _duplicates(layers)
    for child, col, parent in CHAIN:
        if child in metric and parent in metric:
            out += _containment(metric[child], col, metric[parent], child, parent, tol, epsg)
    for name in ("streets", "communities", "grids"):
        if name in metric:
            out += _overlaps(metric[name], name, tol, epsg)
    for child, col, parent in TILED:
        if child in metric and parent in metric:
            out += _gaps(metric[child], col, metric[parent], child, tol, epsg)
    if "buildings" in metric and "grids" in metric:
        out += _buildings_across_grids(metric["buildings"], metric["grids"], tol, epsg)
    if "grids" in layers:
        out += _household_band(layers["grids"], layers.get("buildings"), tol)
    out += _owners(layers)
    out += _informants(layers, tol.informants_per_worker)
    return out


def _duplicates(layers: dict[str, pd.DataFrame]) -> list[Finding]:
    out = []
    for name, frame in layers.items():
        dup = frame["id"][frame["id"].duplicated()]
        out += [
            Finding(ERROR, "duplicate_id", name, i, f"编号重复 id {i} appears more than once")
            for i in dup.unique()
        ]
    return out


def _containment(
    child: gpd.GeoDataFrame,
    col: str,
    parent: gpd.GeoDataFrame,
    cname: str,
    pname: str,
    tol: Tolerances,
    epsg: int,
) -> list[Finding]:
    out = []
    parents = parent.set_index("id").geometry
    for cid, pid, geom in zip(child["id"], child[col], child.geometry, strict=True):
        if pid not in parents.index:
            out.append(
                Finding(
                    ERROR,
                    "orphan",
                    cname,
                    cid,
                    f"上级不存在 parent {col}={pid} not found",
                    _to_wgs(geom, epsg),
                )
            )
            continue
        outside = geom.difference(parents[pid])
        if _real(outside, tol.topology_m):
            out.append(
                Finding(
                    ERROR,
                    "outside_parent",
                    cname,
                    cid,
                    f"超出上级 {outside.area:.1f} m² lies outside {SINGULAR[pname]} {pid}",
                    _to_wgs(outside, epsg),
                )
            )
    return out


def _overlaps(frame: gpd.GeoDataFrame, name: str, tol: Tolerances, epsg: int) -> list[Finding]:
    geoms = frame.geometry.values
    ids = frame["id"].to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    out = []
    for i, j in zip(left[keep], right[keep], strict=True):
        inter = shapely.intersection(geoms[i], geoms[j])
        if _real(inter, tol.topology_m):
            out.append(
                Finding(
                    ERROR,
                    "overlap",
                    name,
                    ids[i],
                    f"与 {ids[j]} 重叠 overlaps {ids[j]} by {inter.area:.1f} m²",
                    _to_wgs(inter, epsg),
                )
            )
    return out


def _gaps(
    child: gpd.GeoDataFrame, col: str, parent: gpd.GeoDataFrame, cname: str, tol: Tolerances, epsg: int
) -> list[Finding]:
    out = []
    for pid, pgeom in zip(parent["id"], parent.geometry, strict=True):
        kids = child.geometry[child[col] == pid]
        gap = pgeom.difference(shapely.union_all(kids.values)) if len(kids) else pgeom
        for piece in getattr(gap, "geoms", [gap]):
            if _real(piece, tol.topology_m):
                out.append(
                    Finding(
                        ERROR,
                        "gap",
                        cname,
                        pid,
                        f"空白 {piece.area:.1f} m² of {pid} is in no {SINGULAR[cname]}",
                        _to_wgs(piece, epsg),
                    )
                )
    return out


def _buildings_across_grids(
    buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, tol: Tolerances, epsg: int
) -> list[Finding]:
    b, g = shapely.STRtree(grids.geometry.values).query(buildings.geometry.values, predicate="intersects")
    counts = np.bincount(b, minlength=len(buildings))
    out = []
    for bi in np.flatnonzero(counts > 1):
        geom = buildings.geometry.values[bi]
        hits = [
            grids["id"].iloc[gi]
            for gi in g[b == bi]
            if _real(shapely.intersection(geom, grids.geometry.values[gi]), tol.topology_m)
        ]
        if len(hits) > 1:
            out.append(
                Finding(
                    ERROR,
                    "building_across_grids",
                    "buildings",
                    buildings["id"].iloc[bi],
                    f"楼栋跨网格 footprint lies in grids {', '.join(hits)}",
                    _to_wgs(geom, epsg),
                )
            )
    return out


def _household_band(grids: pd.DataFrame, buildings: pd.DataFrame | None, tol: Tolerances) -> list[Finding]:
    lo, hi = tol.households_band
    if buildings is not None and len(buildings):
        counted = buildings.groupby("grid_id")["households"].sum()
        households = grids["id"].map(counted).fillna(0)
    else:
        households = grids["households"].fillna(0)
    out = []
    geoms = grids.geometry.values if isinstance(grids, gpd.GeoDataFrame) else [None] * len(grids)
    for gid, hh, geom in zip(grids["id"], households, geoms, strict=True):
        if not lo <= hh <= hi:
            out.append(
                Finding(
                    WARNING,
                    "households_band",
                    "grids",
                    gid,
                    f"户数 {int(hh)} households, outside {lo:g}–{hi:g}",
                    geom,
                )
            )
    return out


def _owners(layers: dict[str, pd.DataFrame]) -> list[Finding]:
    people = layers.get("people")
    out = []
    if people is None:
        return out
    chiefs = set(people.loc[people["role"] == "street_chief", "segment_id"].dropna())
    workers = set(people.loc[people["role"] == "grid_worker", "grid_id"].dropna())
    for name, owned, check, text in (
        ("road_segments", chiefs, "segment_without_chief", "路段无街长 no street chief"),
        ("grids", workers, "grid_without_worker", "网格无网格员 no grid worker"),
    ):
        frame = layers.get(name)
        if frame is None:
            continue
        for fid, geom in zip(frame["id"], frame.geometry, strict=True):
            if fid not in owned:
                out.append(Finding(WARNING, check, name, fid, text, geom))
    return out


def _informants(layers: dict[str, pd.DataFrame], minimum: int) -> list[Finding]:
    """Grid workers with fewer informants than the minimum (seed 004: 20), once the database keeps any
    (``informants``: a worker's id, how many; files have none)."""
    counts, people, grids = layers.get("informants"), layers.get("people"), layers.get("grids")
    if counts is None or not len(counts) or people is None or grids is None:
        return []
    have = dict(zip(counts["id"], counts["informants"], strict=True))
    where = dict(zip(grids["id"], grids.geometry, strict=True))
    workers = people[people["role"] == "grid_worker"]
    return [
        Finding(
            WARNING,
            "few_informants",
            "people",
            pid,
            f"网格信息员 {have.get(pid, 0)} 名 informants, fewer than {minimum}",
            where.get(gid),
        )
        for pid, gid in zip(workers["id"], workers["grid_id"], strict=True)
        if have.get(pid, 0) < minimum
    ]


def findings_geojson(findings: list[Finding]) -> dict:
    """Problem locations as an RFC 7946 FeatureCollection, for a map."""
    feats = [
        {
            "type": "Feature",
            "properties": {k: v for k, v in f.as_dict().items() if k not in ("lon", "lat")},
            "geometry": shapely.geometry.mapping(f.geometry) if f.geometry is not None else None,
        }
        for f in findings
    ]
    return {"type": "FeatureCollection", "features": feats}
