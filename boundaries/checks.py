"""Feature-by-feature checks of a layer before it may be imported.

An import is all or nothing: every bad feature is reported (index, id, reason,
location) so the person fixing the file sees them all at once, not one per run.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod
from shapely.geometry import LineString
from shapely.ops import linemerge

from boundaries.layers import LayerSpec
from core.inputs import ID_PATTERN, printable
from core.vocabulary import CHIEF_KINDS, ROLES
from geo.polygons import polygonal


@dataclass
class Problem:
    """One bad feature: where it is in the file, its id, what is wrong and where on the map."""

    index: int
    id: str | None
    reason: str
    lon: float | None = None
    lat: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class CheckResult:
    frame: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    repairs: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _where(geom) -> tuple[float | None, float | None]:
    if geom is None or geom.is_empty:
        return None, None
    coords = shapely.get_coordinates(geom)
    finite = coords[np.isfinite(coords).all(axis=1)]
    if len(finite) == 0:
        return None, None
    try:
        pt = geom.representative_point() if geom.is_valid else shapely.Point(finite[0])
    except shapely.errors.GEOSException:
        pt = shapely.Point(finite[0])
    return round(pt.x, 7), round(pt.y, 7)


_GEOD = Geod(ellps="WGS84")


def _area_m2(geom) -> float:
    """Area on the ellipsoid, so a repair report speaks in square metres (0 for lines)."""
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        return 0.0
    return abs(_GEOD.geometry_area_perimeter(geom)[0])


def _linear(geom):
    if geom.geom_type == "LineString":
        return geom
    if geom.geom_type == "MultiLineString":
        merged = linemerge(geom)
        return merged if isinstance(merged, LineString) else None
    return None


def _check_geometry(i: int, fid, geom, spec: LayerSpec, repair: bool, res: CheckResult):
    """Return the geometry to store, or None after recording why it cannot be."""
    problem = _coordinates_problem(i, fid, geom)
    if problem is not None:
        res.problems.append(problem)
        return None
    shaped = _shaped(geom, spec)
    want = "Polygon or MultiPolygon" if spec.geometry == "polygon" else "a single connected LineString"
    if shaped is None:
        res.problems.append(
            Problem(
                i,
                fid,
                f"wrong geometry type {geom.geom_type}; {spec.label} needs {want} 几何类型错误",
                *_where(geom),
            )
        )
        return None
    if not shapely.is_valid(shaped):
        shaped = _repaired(i, fid, shaped, spec, repair, res)
        if shaped is None:
            return None
    if spec.geometry == "polygon" and shaped.area == 0:
        res.problems.append(Problem(i, fid, "polygon has no area 面积为零", *_where(shaped)))
        return None
    return shaped


def _coordinates_problem(i: int, fid, geom) -> Problem | None:
    """What is wrong with a geometry's coordinates (none, not numbers, off the globe), if anything."""
    if geom is None or geom.is_empty:
        return Problem(i, fid, "missing or empty geometry 缺少几何")
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        return Problem(i, fid, "NaN or infinite coordinate 坐标非数值", *_where(geom))
    lon, lat = coords[:, 0], coords[:, 1]
    if (np.abs(lon) > 180).any() or (np.abs(lat) > 90).any():
        j = int(np.flatnonzero((np.abs(lon) > 180) | (np.abs(lat) > 90))[0])
        return Problem(
            i,
            fid,
            f"coordinate ({lon[j]:.6g}, {lat[j]:.6g}) is outside lon −180..180 / lat −90..90 "
            "坐标超出范围: is the file's CRS right?",
        )
    return None


def _shaped(geom, spec: LayerSpec):
    """The geometry as the layer stores it (polygonal, or one line), or None if it cannot be."""
    return polygonal(geom) if spec.geometry == "polygon" else _linear(geom)


def _repaired(i: int, fid, shaped, spec: LayerSpec, repair: bool, res: CheckResult):
    """An invalid geometry made valid (recorded as a repair), or None after recording why it is not."""
    reason = shapely.is_valid_reason(shaped)
    if not repair:
        res.problems.append(
            Problem(i, fid, f"invalid geometry 几何无效: {reason} (try --repair)", *_where(shaped))
        )
        return None
    fixed = _shaped(shapely.make_valid(shaped), spec)
    if fixed is None or fixed.is_empty or not fixed.is_valid:
        res.problems.append(
            Problem(i, fid, f"invalid geometry that make_valid cannot fix: {reason}", *_where(shaped))
        )
        return None
    before, after = _area_m2(shaped), _area_m2(fixed)
    res.repairs.append(
        Problem(
            i,
            fid,
            f"repaired {reason}; parts {len(getattr(shaped, 'geoms', [1]))}"
            f"→{len(getattr(fixed, 'geoms', [1]))}, area {before:.1f}→{after:.1f} m²",
            *_where(fixed),
        )
    )
    return fixed


def check_features(
    frame: pd.DataFrame,
    spec: LayerSpec,
    *,
    known_ids: dict[str, set[str]],
    stored_ids: set[str],
    repair: bool = False,
) -> CheckResult:
    """Check every feature of ``frame`` (as read by ``read_layer``) for import into ``spec``.

    ``known_ids`` holds, per layer, the ids a parent column may point at (stored plus in this
    import); ``stored_ids`` are ids of this layer already in the database.
    """
    res = CheckResult(frame.copy())
    ids = frame["id"]
    dup = ids[ids.notna() & ids.duplicated(keep=False)]
    geoms = frame.geometry.values if spec.geometry else [None] * len(frame)
    out_geoms = []
    # to_dict keeps None as None; iterrows would turn it into NaN.
    records = pd.DataFrame(frame.drop(columns="geometry", errors="ignore")).to_dict("records")
    for pos, (i, row) in enumerate(zip(frame.index, records, strict=True)):
        fid = row["id"]
        where = _where(geoms[pos]) if spec.geometry else (None, None)
        _check_id(int(i), fid, where, dup, stored_ids, res)
        _check_text(int(i), row, where, spec, res)
        if not row["name"]:
            res.frame.at[i, "name"] = fid
        _check_parents(int(i), row, where, spec, known_ids, res)
        _check_ints(int(i), row, where, spec, res)
        if spec.name == "people":
            _check_person(int(i), row, res)
        if spec.geometry:
            out_geoms.append(_check_geometry(int(i), fid, geoms[pos], spec, repair, res))
    if spec.geometry:
        res.frame = gpd.GeoDataFrame(res.frame.drop(columns="geometry"), geometry=out_geoms, crs=4326)
    return res


def _check_id(i: int, fid, where: tuple, dup: pd.Series, stored_ids: set[str], res: CheckResult) -> None:
    """An id must be given, once in the file, and not already stored."""
    if fid is None:
        res.problems.append(Problem(i, None, "missing id 缺少编号", *where))
    elif fid in dup.values:
        res.problems.append(Problem(i, fid, "duplicate id in file 编号重复", *where))
    elif fid in stored_ids:
        res.problems.append(Problem(i, fid, "id already stored 编号已存在", *where))


def _check_text(i: int, row: dict, where: tuple, spec: LayerSpec, res: CheckResult) -> None:
    """Ids match the one id pattern the API accepts; text fits its column and has no control character
    (PostgreSQL refuses a NUL; a page would show the others as nothing)."""
    fid = row["id"]
    if isinstance(fid, str) and not re.fullmatch(ID_PATTERN, fid):
        res.problems.append(
            Problem(i, None, f"id {fid[:40]!r}: letters, digits and _.:- only, at most 64", *where)
        )
    columns = spec.model.__table__.columns
    for col in ("id", "name", *spec.parents, *spec.text_columns):
        value = row.get(col)
        if value is None or (isinstance(value, float) and pd.isna(value)):
            continue
        text = str(value)
        size = getattr(columns[col].type, "length", None)
        if size is not None and len(text) > size:
            res.problems.append(Problem(i, fid, f"{col} is {len(text)} characters, over {size} 超长", *where))
        try:
            printable(text)
        except ValueError as exc:
            res.problems.append(Problem(i, fid, f"{col} {exc} 含控制字符", *where))


def _check_parents(
    i: int, row: dict, where: tuple, spec: LayerSpec, known_ids: dict[str, set[str]], res: CheckResult
) -> None:
    """Each parent column points at a known id of its layer (and the required ones are given)."""
    fid = row["id"]
    for col, parent_layer in spec.parents.items():
        value = row[col]
        if value is None:
            if col in spec.required_parents:
                res.problems.append(Problem(i, fid, f"missing parent {col} 缺少上级编号", *where))
        elif value not in known_ids.get(parent_layer, set()):
            res.problems.append(Problem(i, fid, f"unknown parent {col}={value} 上级不存在", *where))


def _check_ints(i: int, row: dict, where: tuple, spec: LayerSpec, res: CheckResult) -> None:
    """Counts are whole numbers, zero or more (floors and units: positive), and given where required."""
    fid = row["id"]
    for col in spec.int_columns:
        value = row[col]
        if pd.isna(value):
            if col in spec.required_ints:
                res.problems.append(Problem(i, fid, f"missing {col} 缺少{col}", *where))
        elif value < 0 or (col in ("floors", "units") and value <= 0):
            res.problems.append(
                Problem(
                    i,
                    fid,
                    f"{col} {value:g} must be {'positive' if col in ('floors', 'units') else 'zero or more'}",
                    *where,
                )
            )
        elif not float(value).is_integer():
            res.problems.append(Problem(i, fid, f"{col} {value:g} is not a whole number", *where))


def _check_person(i: int, row: dict, res: CheckResult) -> None:
    fid = row["id"]
    if row["role"] not in ROLES:
        res.problems.append(Problem(i, fid, f"role {row['role']!r} is not one of {', '.join(ROLES)}"))
    if row["chief_kind"] is not None and row["chief_kind"] not in CHIEF_KINDS:
        res.problems.append(Problem(i, fid, f"chief_kind {row['chief_kind']!r} is not party or merchant"))
    if row["role"] == "street_chief" and (row["chief_kind"] is None or row["segment_id"] is None):
        res.problems.append(
            Problem(i, fid, "a street chief needs chief_kind (party/merchant) and segment_id")
        )
    if row["role"] == "grid_worker" and row["grid_id"] is None:
        res.problems.append(Problem(i, fid, "a grid worker needs grid_id"))
