"""Loading checked layers into PostGIS (all or nothing) and writing stored layers back out to files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from geoalchemy2 import WKBElement
from sqlalchemy.orm import Session

from boundaries.checks import CheckResult, Problem, check_features
from boundaries.layers import LAYERS, LayerSpec
from boundaries.osm import is_osm
from boundaries.osm_import import osm_layer
from boundaries.readers import conform, read_layer
from geo.polygons import describe_faults, grid_faults
from store import hierarchy as store
from store.hierarchy import read_table
from store.models import SRID

INSERT_BATCH = 2000


class ImportRejected(ValueError):
    """The file had bad features; nothing was written."""

    def __init__(self, layer: str, problems: list[Problem]):
        self.layer, self.problems = layer, problems
        super().__init__(f"{layer}: {len(problems)} bad feature(s); nothing was imported")


@dataclass
class ImportReport:
    layer: str
    imported: int
    repairs: list[Problem] = field(default_factory=list)
    source_crs: str | None = None
    outside: int = 0  # features of an OSM extract outside the stored district, left out


def stored_ids(session: Session, spec: LayerSpec) -> set[str]:
    return store.stored_ids(session, spec.model)


def known_parent_ids(
    session: Session, spec: LayerSpec, pending: dict[str, set[str]] | None = None
) -> dict[str, set[str]]:
    """Ids each parent column may point at: stored ones, plus those of layers in the same import."""
    out: dict[str, set[str]] = {}
    for parent_layer in set(spec.parents.values()):
        out[parent_layer] = stored_ids(session, LAYERS[parent_layer]) | (pending or {}).get(
            parent_layer, set()
        )
    return out


def insert_frame(session: Session, spec: LayerSpec, frame: pd.DataFrame) -> int:
    """Insert checked rows (geometry as EWKB) in batches; the caller owns the transaction."""
    records = []
    geoms = frame.geometry.values if spec.geometry else None
    for pos, row in enumerate(frame[list(spec.columns)].itertuples(index=False)):
        rec = {
            k: (None if pd.isna(v) else (int(v) if k in spec.int_columns else v))
            for k, v in zip(spec.columns, row, strict=True)
        }
        if geoms is not None:
            rec["geom"] = WKBElement(shapely.to_wkb(geoms[pos]), srid=SRID)
        records.append(rec)
    store.insert_rows(session, spec.model, records, INSERT_BATCH)
    return len(records)


def check_and_insert(
    session: Session,
    spec: LayerSpec,
    frame: pd.DataFrame,
    *,
    repair: bool = False,
    pending: dict[str, set[str]] | None = None,
) -> CheckResult:
    """Check ``frame`` against the stored hierarchy and insert it, or raise ImportRejected having written nothing."""
    result = check_features(
        frame,
        spec,
        known_ids=known_parent_ids(session, spec, pending),
        stored_ids=stored_ids(session, spec),
        repair=repair,
    )
    if not result.ok:
        raise ImportRejected(spec.name, result.problems)
    insert_frame(session, spec, result.frame)
    return result


def import_file(
    session: Session,
    layer: str,
    path: str | Path,
    *,
    source_layer: str | None = None,
    fields: dict[str, str] | None = None,
    crs: str = "wgs84",
    repair: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ImportReport:
    """Read, check and insert one layer file inside the caller's transaction (``progress`` hears each stage
    begin: a large file reads and checks for many seconds)."""
    spec = LAYERS[layer]
    if progress:
        progress("读取 reading")
    outside = 0
    if is_osm(path):  # buildings or roads, each given the grid or street it lies in
        frame, outside = osm_layer(session.connection(), layer, path)
        frame.attrs["source_crs"] = "OpenStreetMap (WGS-84)"
    else:
        frame = read_layer(path, spec, source_layer=source_layer, fields=fields, crs=crs)
    if progress:
        progress(f"检查写入 checking and writing {len(frame):,}")
    with session.begin_nested():
        result = check_and_insert(session, spec, frame, repair=repair)
    return ImportReport(layer, len(result.frame), result.repairs, frame.attrs.get("source_crs"), outside)


def load_layers(
    session: Session, layers: dict[str, pd.DataFrame], progress: Callable[[str], None] | None = None
) -> dict[str, int]:
    """Insert several layers, parents first, as one unit (used for the demo district); ``progress`` hears
    each layer's name as it begins."""
    counts: dict[str, int] = {}
    pending: dict[str, set[str]] = {}
    with session.begin_nested():
        for name, spec in LAYERS.items():
            if name not in layers:
                continue
            if progress:
                progress(name)
            check_and_insert(session, spec, conform(layers[name], spec), pending=pending)
            pending[name] = set(layers[name]["id"])
            counts[name] = len(layers[name])
    return counts


class ShapeRefused(ValueError):
    """Grids whose shapes QGIS or PostGIS would reject (invalid, in pieces, slivers): nothing was written."""


def write_frame(frame: pd.DataFrame, path: str | Path, layer: str, *, drawn: bool = False) -> Path:
    """Write a layer in the format its extension names (.gpkg, .geojson, .shp, .parquet, .csv).

    Grids are checked first (``geo.polygons.grid_faults``; ``drawn`` grids, ours, must each be one polygon):
    one bad shape and nothing is written.
    """
    if layer == "grids" and isinstance(frame, gpd.GeoDataFrame):
        if faults := grid_faults(frame, one_piece=drawn):
            raise ShapeRefused(f"未写入 not written {path}: {describe_faults(faults)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame.to_parquet(path)
    elif suffix == ".csv":
        out = frame.copy()
        if isinstance(out, gpd.GeoDataFrame):
            out["wkt"] = out.geometry.to_wkt()
            out = pd.DataFrame(out.drop(columns=out.geometry.name))
        out.to_csv(path, index=False)
    else:
        driver = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".shp": "ESRI Shapefile"}.get(
            suffix
        )
        if driver is None:
            raise ValueError(f"unknown output format {suffix!r}: use .gpkg, .geojson, .shp, .parquet or .csv")
        if driver == "GeoJSON" and path.exists():
            path.unlink()
        pyogrio.write_dataframe(frame, path, layer=layer if driver == "GPKG" else None, driver=driver)
    return path


def export_layer(session: Session, layer: str, path: str | Path, *, include_history: bool = False) -> int:
    """Write a stored layer to a file; returns the number of features."""
    frame = read_table(session.connection(), LAYERS[layer].table, include_history=include_history)
    write_frame(frame, path, layer)
    return len(frame)
