"""Tables out: CSV that Excel on a Chinese system opens as written (UTF-8 with a byte-order mark), Excel
workbooks (a sheet per table), and, for tables with a place, GeoPackage or GeoJSON points for QGIS."""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

TABLE_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
SPATIAL = (".gpkg", ".geojson")
LON, LAT = "经度 lon", "纬度 lat"


class TableRefused(ValueError):
    """A file type these tables cannot be written as; the message says which can."""


def table_bytes(sheets: dict[str, pd.DataFrame], fmt: str) -> bytes:
    """``csv``: the first table, with a BOM; ``xlsx``: every table on its own sheet."""
    if fmt == "csv":
        first = next(iter(sheets.values()))
        return first.to_csv(index=False).encode("utf-8-sig")
    if fmt == "xlsx":
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as book:
            for name, frame in sheets.items():
                frame.to_excel(book, sheet_name=name[:31], index=False)
        return buffer.getvalue()
    raise TableRefused(f"cannot write {fmt!r}: use csv or xlsx")


def write_tables(sheets: dict[str, pd.DataFrame], path: Path) -> int:
    """Write ``sheets`` to ``path`` by its suffix (.csv, .xlsx, .gpkg, .geojson); returns the first table's
    rows. GeoPackage and GeoJSON take the first table as points (WGS-84); a GeoPackage keeps the others
    as attribute tables beside it."""
    suffix = path.suffix.lower()
    first_name, first = next(iter(sheets.items()))
    if suffix in (".csv", ".xlsx"):
        path.write_bytes(table_bytes(sheets, suffix[1:]))
        return len(first)
    if suffix not in SPATIAL or LON not in first.columns:
        raise TableRefused(
            f"cannot write {path.name}: use .csv, .xlsx" + (", .gpkg or .geojson" if LON in first else "")
        )
    points = gpd.GeoDataFrame(first, geometry=gpd.points_from_xy(first[LON], first[LAT]), crs=4326)
    if path.exists():
        path.unlink()  # a fresh file: layers are not appended to an old export
    points.to_file(path, layer=_layer(first_name), driver="GPKG" if suffix == ".gpkg" else "GeoJSON")
    if suffix == ".gpkg":
        for name, frame in list(sheets.items())[1:]:
            pyogrio.write_dataframe(frame, path, layer=_layer(name), driver="GPKG", append=True)
    return len(first)


def _layer(sheet: str) -> str:
    """A GIS layer name from a sheet name ('事件 incidents' → 'incidents')."""
    return sheet.split()[-1]
