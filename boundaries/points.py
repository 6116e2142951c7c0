"""Points files for bulk locating: CSV (and plain Parquet) by its longitude and latitude columns, GeoJSON,
GeoPackage or GeoParquet by their point geometry; the located rows written back in the input's format."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio

from core.errors import Invalid


class PointsError(Invalid):
    """The points file cannot be read as points, or the output written in the format asked."""


def lon_lat_columns(
    frame: pd.DataFrame, source: str, lon_field: str, lat_field: str
) -> tuple[np.ndarray, np.ndarray]:
    """A table's coordinate columns as numbers (NaN where a cell is not one); a missing column is named."""
    missing = [c for c in (lon_field, lat_field) if c not in frame.columns]
    if missing:
        raise PointsError(
            f"{source} has no column {', '.join(missing)} (columns: {', '.join(map(str, frame.columns))}); "
            "use --lon-field/--lat-field"
        )
    lon = pd.to_numeric(frame[lon_field], errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(frame[lat_field], errors="coerce").to_numpy(dtype=float)
    return lon, lat


def read_points(path: Path, lon_field: str, lat_field: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The file's rows and their coordinates; CSV by columns, GeoJSON/GeoParquet by point geometry."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise PointsError(f"file not found: {path}")
    plain_parquet = suffix == ".parquet" and b"geo" not in (_parquet_schema(path).metadata or {})
    if suffix == ".csv" or plain_parquet:  # plain Parquet: coordinates in columns, as in a CSV
        frame = pd.read_parquet(path) if plain_parquet else pd.read_csv(path)
        return frame, *lon_lat_columns(frame, str(path), lon_field, lat_field)
    if suffix == ".parquet":
        frame = gpd.read_parquet(path)
    elif suffix in (".geojson", ".json", ".gpkg"):
        frame = pyogrio.read_dataframe(path)
    else:
        raise PointsError(f"unknown points format {suffix!r}: use .csv, .geojson or .parquet")
    types = set(frame.geometry.geom_type.dropna())
    if not types <= {"Point"}:
        raise PointsError(f"{path} must hold points; it has {', '.join(sorted(types))}")
    if frame.crs is not None and not frame.crs.is_geographic:
        frame = frame.to_crs(4326)
    return frame, frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()


def _parquet_schema(path: Path) -> pa.Schema:
    try:
        return pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise PointsError(f"{path} is not a Parquet file: {exc}") from None


def write_points(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        pd.DataFrame(frame).to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path)
    elif suffix in (".geojson", ".json", ".gpkg"):
        if path.exists():
            path.unlink()
        pyogrio.write_dataframe(frame, path)
    else:
        raise PointsError(f"unknown output format {suffix!r}: use .csv, .geojson or .parquet")
