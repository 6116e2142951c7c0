"""Points files cut into parts a worker can read on its own, and the located parts put back together.

A Parquet file is cut by row groups, a CSV file by byte ranges that start on a line; a directory of
either is cut file by file, and its output keeps the same files under the same relative names (as
Parquet). Workers read from and write to the same paths, so on a cluster both must be a shared location.
A part is written to a temporary name and renamed, so a retried part overwrites, never doubles.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from boundaries.points import PointsError, lon_lat_columns
from geo.locate import RESULT_COLUMNS
from geo.locate_parts import HierarchyWire, locate_part

SUFFIXES = (".parquet", ".csv")


@dataclass(frozen=True)
class Part:
    """One task's share of the input: a file's row groups (Parquet) or byte range (CSV)."""

    source: str
    row_groups: tuple[int, ...]
    byte_range: tuple[int, int]
    rows: int
    target: str
    temp: str


def plan_parts(src: Path, out: Path, part_points: int) -> list[Part]:
    """The parts of a file or a directory of files, each about ``part_points`` rows."""
    if not src.exists():
        raise PointsError(f"file not found: {src}")
    if src.is_dir():
        files = sorted(p for p in src.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
        if not files:
            raise PointsError(f"{src} holds no .parquet or .csv file")
        targets = [(out / f.relative_to(src)).with_suffix(".parquet") for f in files]
    else:
        if src.suffix.lower() not in SUFFIXES or out.suffix.lower() not in SUFFIXES:
            raise PointsError(
                "分布式定位只读写 Parquet 和 CSV distributed locate reads and writes .parquet and .csv"
            )
        files, targets = [src], [out]
    temp_dir = temp_dir_for(out)
    parts = []
    for f, target in zip(files, targets, strict=True):
        pieces = (
            _parquet_pieces(f, part_points) if f.suffix.lower() == ".parquet" else _csv_pieces(f, part_points)
        )
        for groups, byte_range, rows in pieces:
            temp = temp_dir / f"{len(parts):06d}{'.csv' if target.suffix.lower() == '.csv' else '.parquet'}"
            parts.append(Part(str(f), groups, byte_range, rows, str(target), str(temp)))
    return parts


def temp_dir_for(out: Path) -> Path:
    """Where the parts of ``out`` wait to be put together (beside it, so on the same shared disk)."""
    return out.parent / f".{out.name}.parts"


def _parquet_pieces(path: Path, part_points: int) -> list[tuple[tuple[int, ...], tuple[int, int], int]]:
    meta = pq.ParquetFile(path).metadata
    pieces: list[tuple[tuple[int, ...], tuple[int, int], int]] = []
    groups: list[int] = []
    rows = 0
    for g in range(meta.num_row_groups):
        if groups and rows + meta.row_group(g).num_rows > part_points:
            pieces.append((tuple(groups), (0, 0), rows))
            groups, rows = [], 0
        groups.append(g)
        rows += meta.row_group(g).num_rows
    if groups or not pieces:
        pieces.append((tuple(groups), (0, 0), rows))
    return pieces


def _csv_pieces(path: Path, part_points: int) -> list[tuple[tuple[int, ...], tuple[int, int], int]]:
    """Byte ranges of about ``part_points`` lines, each starting on a line (a field holding a line break
    would be cut: such files go through the in-process path)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        f.readline()  # the header
        first = f.tell()
        sample = f.read(1 << 16)
        per_line = max(len(sample) / max(sample.count(b"\n"), 1), 1.0)
        step = max(int(part_points * per_line), 1)
        starts = [first]
        while starts[-1] + step < size:
            f.seek(starts[-1] + step)
            f.readline()
            if f.tell() >= size:
                break
            starts.append(f.tell())
    ends = starts[1:] + [size]
    return [((), (a, b), int(round((b - a) / per_line))) for a, b in zip(starts, ends, strict=True)]


def read_part(part: Part, lon_field: str, lat_field: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A part's rows and coordinates, read as ``read_points`` reads a whole file."""
    if part.source.lower().endswith(".csv"):
        with open(part.source, "rb") as f:
            columns = list(pd.read_csv(f, nrows=0).columns)
            f.seek(part.byte_range[0])
            data = f.read(part.byte_range[1] - part.byte_range[0])
        frame = pd.read_csv(io.BytesIO(data), header=None, names=columns)
        return frame, *lon_lat_columns(frame, part.source, lon_field, lat_field)
    pf = pq.ParquetFile(part.source)
    table = pf.read_row_groups(list(part.row_groups)) if part.row_groups else pf.schema_arrow.empty_table()
    geo = json.loads((table.schema.metadata or {}).get(b"geo", b"null"))
    frame = table.to_pandas().reset_index(drop=True)
    if geo is None:
        return frame, *lon_lat_columns(frame, part.source, lon_field, lat_field)
    column = geo["primary_column"]
    crs = geo["columns"][column].get("crs", "OGC:CRS84")
    frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries.from_wkb(frame[column], crs=crs), crs=crs)
    types = set(frame.geometry.geom_type.dropna())
    if not types <= {"Point"}:
        raise PointsError(f"{part.source} must hold points; it has {', '.join(sorted(types))}")
    if frame.crs is not None and not frame.crs.is_geographic:
        frame = frame.to_crs(4326)
    return frame, frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()


def locate_part_file(
    part: Part,
    wire: HierarchyWire,
    lon_field: str = "lon",
    lat_field: str = "lat",
    crs: str = "wgs84",
    segment_search_m: float = 50.0,
) -> dict[str, int]:
    """The task a worker runs: read one part, locate it, write it; returns its rows and statuses."""
    frame, lon, lat = read_part(part, lon_field, lat_field)
    located = locate_part(frame, lon, lat, wire, crs=crs, segment_search_m=segment_search_m)
    temp = Path(part.temp)
    temp.parent.mkdir(parents=True, exist_ok=True)
    scratch = temp.with_name(f"{temp.name}.{os.getpid()}.tmp")
    if temp.suffix == ".csv":
        pd.DataFrame(located).to_csv(scratch, index=False, header=False)
    else:
        located.to_parquet(scratch)
    os.replace(scratch, temp)
    return {"rows": len(located), **Counter(located["status"].tolist())}


def assemble(parts: list[Part], out: Path) -> None:
    """Put each target's parts together in order, one part in memory at a time, and clear the parts."""
    by_target: dict[str, list[Part]] = {}
    for part in parts:
        by_target.setdefault(part.target, []).append(part)
    for target, its_parts in by_target.items():
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.assembling")
        if len(its_parts) == 1 and path.suffix.lower() == ".parquet":
            os.replace(its_parts[0].temp, path)  # a whole file already: nothing to put together
            continue
        if path.suffix.lower() == ".csv":
            _assemble_csv(its_parts, scratch)
        else:
            _assemble_parquet([Path(p.temp) for p in its_parts], scratch)
        os.replace(scratch, path)
    shutil.rmtree(temp_dir_for(out), ignore_errors=True)


def _assemble_csv(parts: list[Part], scratch: Path) -> None:
    with open(parts[0].source, "rb") as f:
        columns = list(pd.read_csv(f, nrows=0).columns)
    # The result columns as ``locate_part`` adds them: a column of the same name is overwritten in place.
    header = columns + [c for c in RESULT_COLUMNS if c not in columns]
    with scratch.open("wb") as out:
        out.write(pd.DataFrame(columns=header).to_csv(index=False).encode())
        for part in parts:
            with open(part.temp, "rb") as f:
                shutil.copyfileobj(f, out)


def _assemble_parquet(temps: list[Path], scratch: Path) -> None:
    """One file from the parts; the file-wide bounding box and row count in the metadata are dropped, as
    they described only the first part (both are optional to readers)."""
    schemas = [pq.read_schema(t) for t in temps]
    schema = pa.unify_schemas([s.remove_metadata() for s in schemas], promote_options="permissive")
    metadata = dict(schemas[0].metadata or {})
    if b"geo" in metadata:
        geo = json.loads(metadata[b"geo"])
        for column in geo.get("columns", {}).values():
            column.pop("bbox", None)
        metadata[b"geo"] = json.dumps(geo).encode()
    metadata.pop(b"pandas", None)
    schema = schema.with_metadata(metadata)
    with pq.ParquetWriter(scratch, schema) as writer:
        for t in temps:
            writer.write_table(pq.read_table(t).replace_schema_metadata(None).cast(schema))
