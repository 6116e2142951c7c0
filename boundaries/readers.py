"""Reading boundary files (GeoJSON, GeoPackage, Shapefile, GeoParquet) into the layer's columns, in WGS-84."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from boundaries.layers import LAYERS, LayerSpec
from geo.coords import LIKE_WGS84, geometries_to_wgs84


class ReadError(ValueError):
    """The file cannot be read as this layer at all (as opposed to bad features inside it)."""


def source_layer_name(path: Path, wanted: str | None, default: str) -> str | None:
    """The layer inside a multi-layer file: the one asked for, else one named like ours, else the first."""
    if path.suffix.lower() == ".parquet":
        return None
    try:
        names = [row[0] for row in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio raises its own DataSourceError family
        raise ReadError(f"cannot open {path}: {exc}") from exc
    if wanted:
        if wanted not in names:
            raise ReadError(f"{path} has no layer {wanted!r}; it has {', '.join(names)}")
        return wanted
    return default if default in names else names[0]


def read_layer(
    path: str | Path,
    spec: LayerSpec,
    *,
    source_layer: str | None = None,
    fields: dict[str, str] | None = None,
    crs: str = "wgs84",
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read ``path`` as ``spec``: rename mapped fields, keep the layer's columns, reproject to EPSG:4326.

    ``fields`` maps our column to the file's (``{"id": "GRID_CODE"}``). ``crs`` says the file's
    geographic coordinates are GCJ-02 or BD-09 (digitised on a Chinese web map).
    """
    path = Path(path)
    if not path.exists():
        raise ReadError(f"file not found: {path}")
    layer = source_layer_name(path, source_layer, spec.name)
    _refuse_nul(path)
    try:
        if path.suffix.lower() == ".parquet":
            frame = gpd.read_parquet(path)
        else:
            frame = pyogrio.read_dataframe(path, layer=layer, read_geometry=spec.geometry is not None)
    except Exception as exc:
        raise ReadError(f"cannot read {path}: {exc}") from exc
    fields = dict(fields or {})
    missing = [src for src in fields.values() if src not in frame.columns]
    if missing:
        raise ReadError(
            f"{path} has no field {', '.join(missing)}; its fields are {', '.join(map(str, frame.columns))}"
        )
    renamed = frame.rename(columns={src: dst for dst, src in fields.items()})
    if "id" not in renamed.columns:
        raise ReadError(f"{path} has no 'id' field; name the id field with --id-field")
    out = conform(renamed, spec)
    if spec.geometry is None:
        return out
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        raise ReadError(f"{path} layer {layer!r} has no geometry; {spec.label} needs one")
    source_crs = frame.crs
    geo = gpd.GeoDataFrame(out, geometry=frame.geometry.values, crs=source_crs or "EPSG:4326")
    if source_crs is not None and not source_crs.equals("EPSG:4326"):
        if crs != "wgs84" and not source_crs.is_geographic:
            raise ReadError(
                f"--crs {crs} applies to longitude/latitude data, but {path} is in {source_crs.name}"
            )
        with np.errstate(all="ignore"):
            geo = geo.to_crs(4326)
    if crs not in LIKE_WGS84:
        geo["geometry"] = geometries_to_wgs84(geo.geometry.values, crs)
    geo.attrs["source_crs"] = source_crs.to_string() if source_crs is not None else "EPSG:4326 (assumed)"
    return geo


# Text formats where GDAL would silently end a string at a NUL: refused instead, so nothing is cut.
_TEXT_SUFFIXES = (".geojson", ".json", ".geojsonl", ".geojsons", ".csv")


def _refuse_nul(path: Path) -> None:
    if path.suffix.lower() not in _TEXT_SUFFIXES:
        return
    data = path.read_bytes()
    if b"\x00" in data or b"\\u0000" in data:
        raise ReadError(f"{path} contains a NUL character (\\u0000): remove it; no text may hold one")


def conform(frame: pd.DataFrame, spec: LayerSpec) -> pd.DataFrame:
    """The layer's columns only, ids and names as text, counts as numbers (NaN where missing)."""
    out = pd.DataFrame(index=frame.index)
    for col in spec.columns:
        out[col] = frame[col] if col in frame.columns else None
    for col in spec.int_columns:
        out[col] = pd.to_numeric(out[col], errors="coerce")
    for col in ("id", "name", *spec.parents, *spec.text_columns):
        # Object dtype keeps None as None (pandas' string dtype would turn it back into NaN).
        out[col] = pd.Series([_text(v) for v in out[col]], index=out.index, dtype=object)
    if isinstance(frame, gpd.GeoDataFrame):
        return gpd.GeoDataFrame(out, geometry=frame.geometry.values, crs=frame.crs)
    return out


def _text(value: object) -> str | None:
    """File fields come as str, int or float codes; ids are text, and 2110.0 must read as '2110'."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def read_hierarchy_file(path: str | Path) -> dict[str, pd.DataFrame]:
    """Every layer of a district GeoPackage (as ``wangge demo`` writes it) that is present, conformed."""
    path = Path(path)
    if not path.exists():
        raise ReadError(f"file not found: {path}")
    present = {row[0] for row in pyogrio.list_layers(path)}
    return {
        name: read_layer(path, spec, source_layer=name) for name, spec in LAYERS.items() if name in present
    }
