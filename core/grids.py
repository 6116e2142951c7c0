"""Drawing and re-splitting grids on the stored district: previews first, then one transaction.

A preview holds the new grids, each building's grid and the quality report, and the
fingerprint of what it was computed from; applying it checks that nothing changed since,
closes the retired grids (``valid_to``), inserts the new ones, re-points buildings, grid
workers and their tokens, and records old → new lineage with the households that moved.
Incidents keep the grid they were reported in, and are found under the new grid by place.
The statements are ``store.grids``'s; grid versions are stamped with the database's clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Connection

from core.errors import Conflict, Invalid, NotFound, Unprocessable
from core.vocabulary import beijing_iso
from geo.partition import Partition, PartitionError, draw_grids, resplit_grids
from geo.partition.barriers import major_roads
from geo.polygons import describe_faults, grid_faults
from store import grids as stored


def scope_communities(
    conn: Connection, *, community: str | None = None, street: str | None = None
) -> list[str]:
    """The communities a drawing covers: one, or every community of a street (grids never cross communities)."""
    if bool(community) == bool(street):
        raise Invalid("say exactly one of community or street")
    if community:
        found = stored.community_ids(conn, community)
        if not found:
            raise NotFound(f"no community {community!r}")
        return found
    ids = stored.street_communities(conn, street or "")
    if not ids:
        raise NotFound(f"no street {street!r} with communities")
    return ids


# ---- a preview --------------------------------------------------------------------------------


@dataclass
class _Drawn:
    """One community's part of a preview."""

    features: list[dict]
    assignments: dict[str, str]
    report: dict
    lineage: list[dict] = field(default_factory=list)


def make_preview(
    conn: Connection,
    kind: str,
    communities: list[str],
    *,
    target: int,
    tolerance: float,
    actor: str,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Draw (from scratch) or re-split (only what is out of band) each community; store and return a preview
    (``progress`` hears each community's id as its drawing begins: a street's take many seconds)."""
    if kind not in ("draw", "resplit"):
        raise Invalid(f"kind {kind!r} is not draw or resplit")
    if target <= 0 or not 0 < tolerance < 1:
        raise Invalid(f"target must be positive and tolerance between 0 and 1 (got {target}, {tolerance})")
    names = stored.community_names(conn, communities)
    drawn = []
    for c in communities:
        if progress:
            progress(c)
        drawn.append(_draw_community(conn, kind, c, names, target=target, tolerance=tolerance))
    features = [f for d in drawn for f in d.features]
    reports = {c: d.report for c, d in zip(communities, drawn, strict=True)}
    summary = _summary(features, reports)
    preview_id = uuid.uuid4().hex[:12]
    collection = {"type": "FeatureCollection", "features": features}
    stored.insert_preview(
        conn,
        preview_id=preview_id,
        kind=kind,
        communities=communities,
        actor=actor,
        base_fingerprint=stored.fingerprint(conn, communities),
        target=target,
        tolerance=tolerance,
        report={"summary": summary, "communities": reports, "lineage": [r for d in drawn for r in d.lineage]},
        grids=collection,
        assignments={b: g for d in drawn for b, g in d.assignments.items()},
    )
    return {
        "preview_id": preview_id,
        "kind": kind,
        "communities": communities,
        "status": "preview",
        "report": {"summary": summary, "communities": reports},
        "grids": collection,
    }


def _draw_community(
    conn: Connection, kind: str, community: str, names: dict[str, str], *, target: int, tolerance: float
) -> _Drawn:
    """Partition one community, give new grids free codes, fit them around the kept ones."""
    grids, buildings, roads, boundary = stored.community_frames(conn, community)
    if buildings.empty:
        raise Unprocessable(f"community {community} has no buildings to draw grids around")
    result = _partition(
        kind, community, grids, buildings, roads, boundary, target=target, tolerance=tolerance
    )
    kept = set(result.report.get("unchanged", [])) if kind == "resplit" else set()
    fresh = [g for g in result.grids["id"] if g not in kept]
    rename = dict(zip(fresh, stored.free_codes(conn, community, len(fresh)), strict=True)) | {
        g: g for g in kept
    }
    out = _checked(result.grids.assign(id=result.grids["id"].map(rename)), kept)
    new_of = result.assignments.map(rename)
    return _Drawn(
        features=[_feature(row, community, names[community], kept) for row in out.itertuples()],
        assignments={str(b): g for b, g in new_of.items()},
        report=_report(result.report, kind, kept, rename),
        lineage=_lineage(buildings, new_of, kept),
    )


def _partition(
    kind: str,
    community: str,
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame,
    *,
    target: int,
    tolerance: float,
) -> Partition:
    try:
        if kind == "draw":
            # Major roads are barriers here as in drawing on files: crossed only where the band needs it.
            barriers = major_roads(roads)
            return draw_grids(
                buildings, boundary, roads, target=target, tolerance=tolerance, barriers=barriers
            )
        return resplit_grids(
            buildings,
            grids,
            roads,
            boundary=boundary,
            target=target,
            tolerance=tolerance,
            current=buildings["grid_id"],
            mend_pieces=False,
        )
    except PartitionError as exc:
        raise Unprocessable(f"community {community}: {exc}") from None


def _feature(row: Any, community: str, name: str, kept: set[str]) -> dict:
    """A drawn grid as the preview's GeoJSON feature (named after its community and number)."""
    number = int(row.id[len(community) :])
    return {
        "type": "Feature",
        "id": row.id,
        "geometry": shapely.geometry.mapping(row.geometry),
        "properties": {
            "id": row.id,
            "name": f"{name}第{number}网格",
            "community_id": community,
            "households": int(row.households),
            "n_buildings": int(row.n_buildings),
            "polsby_popper": float(row.polsby_popper),
            "in_band": bool(row.in_band),
            "status": "unchanged" if row.id in kept else "new",
        },
    }


def _lineage(buildings: gpd.GeoDataFrame, new_of: pd.Series, kept: set[str]) -> list[dict]:
    """old → new links with the households that moved and their share of the old grid's."""
    moved = pd.DataFrame({"old": buildings["grid_id"], "new": new_of, "households": buildings["households"]})
    moved = moved[~moved["old"].isin(kept)]
    lineage = moved.groupby(["old", "new"])["households"].sum().reset_index()
    lineage["share"] = lineage["households"] / lineage.groupby("old")["households"].transform("sum").clip(
        lower=1
    )
    return lineage.to_dict("records")


def _report(report: dict, kind: str, kept: set[str], rename: dict[str, str]) -> dict:
    """The partition's report under the new codes (a re-split's moves and unchanged grids too)."""
    out = {k: v for k, v in report.items() if k not in ("mapping",)}
    if kind == "resplit":
        out["moves"] = [{**m, "from": m["from"], "to": rename.get(m["to"], m["to"])} for m in out["moves"]]
        out["unchanged"] = sorted(kept)
    return out


def _checked(new: gpd.GeoDataFrame, kept: set[str]) -> gpd.GeoDataFrame:
    """The drawn grids in WGS-84, each new one checked (kept grids keep their stored shapes, as the re-split
    fitted the new ones around them, and are not written again)."""
    out = new.to_crs(4326)
    # Nothing is mended here: a bad shape is a fault upstream, refused with its grid and reason.
    if faults := grid_faults(out[~out["id"].isin(kept).to_numpy()]):
        raise Unprocessable(f"未生成预览 no preview: {describe_faults(faults)}")
    return out


def _summary(features: list[dict], reports: dict) -> dict:
    props = pd.DataFrame([f["properties"] for f in features])
    moves = sum(len(r.get("moves", [])) for r in reports.values())
    return {
        "n_grids": len(props),
        "n_new": int((props["status"] == "new").sum()),
        "n_unchanged": int((props["status"] == "unchanged").sum()),
        "in_band_share": float(props["in_band"].mean()),
        "households": int(props["households"].sum()),
        "polsby_popper_median": float(props["polsby_popper"].median()),
        "buildings_moved": moves,
    }


def get_preview(conn: Connection, preview_id: str) -> dict:
    row = stored.preview(conn, preview_id)
    if row is None:
        raise NotFound(f"no grid preview {preview_id!r}")
    return row


# ---- applying it ------------------------------------------------------------------------------


def apply_preview(conn: Connection, preview_id: str, *, actor: str) -> dict:
    """Make a preview the current grids, in the caller's transaction (all of it, or nothing)."""
    row = _applicable(conn, preview_id)
    features = row["grids"]["features"]
    kept = [f["id"] for f in features if f["properties"]["status"] == "unchanged"]
    new = [f for f in features if f["properties"]["status"] == "new"]
    retired = stored.retire_grids(conn, row["community_ids"], kept)
    stored.insert_grids(conn, new)
    stored.update_households(conn, [f for f in features if f["id"] in kept])
    moved = stored.repoint_buildings(conn, row["assignments"])
    workers = _record_lineage(conn, preview_id, pd.DataFrame(row["report"]["lineage"]))
    stored.mark_applied(conn, preview_id)
    return {
        "preview_id": preview_id,
        "status": "applied",
        "retired": sorted(retired),
        "created": sorted(f["id"] for f in new),
        "unchanged": sorted(kept),
        "buildings_moved": moved,
        "workers_repointed": workers,
        "applied_by": actor,
    }


def _applicable(conn: Connection, preview_id: str) -> dict:
    """The preview, locked, if it is still a preview and nothing it was computed from has changed."""
    row = stored.preview(conn, preview_id, lock=True)
    if row is None:
        raise NotFound(f"no grid preview {preview_id!r}")
    if row["status"] != "preview":
        raise Conflict(f"preview {preview_id} was already {row['status']}")
    if stored.fingerprint(conn, row["community_ids"]) != row["base_fingerprint"]:
        raise Conflict(f"grids or buildings changed since preview {preview_id} was made: make a new preview")
    return row


def _record_lineage(conn: Connection, preview_id: str, lineage: pd.DataFrame) -> int:
    """Store old → new links; a retired grid's worker (and their tokens) follows the largest share of its
    households. Returns how many workers moved."""
    if lineage.empty:
        return 0
    stored.insert_lineage(conn, preview_id, lineage.to_dict("records"))
    heirs = lineage.sort_values(["old", "households", "new"], ascending=[True, False, True]).drop_duplicates(
        "old"
    )
    return sum(
        stored.repoint_worker(conn, old, heir) for old, heir in zip(heirs["old"], heirs["new"], strict=True)
    )


# ---- history ----------------------------------------------------------------------------------


def grid_history(conn: Connection, grid_id: str) -> dict:
    """A grid's version (valid_from, valid_to), the grids it came from and the grids it became."""
    grid = stored.grid_version(conn, grid_id)
    if grid is None:
        raise NotFound(f"no grid {grid_id!r}")

    def links(direction: str) -> list[dict]:
        return [
            {**r, "changed_at": beijing_iso(r["changed_at"]), "share": round(r["share"], 4)}
            for r in stored.lineage_links(conn, grid_id, direction)
        ]

    return {
        **grid,
        "valid_from": beijing_iso(grid["valid_from"]),
        "valid_to": beijing_iso(grid["valid_to"]),
        "current": grid["valid_to"] is None,
        "came_from": links("came_from"),
        "became": links("became"),
    }
