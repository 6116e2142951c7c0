"""Drawing and re-splitting grids on the stored district: previews first, then one transaction.

A preview holds the new grids, each building's grid and the quality report, and the
fingerprint of what it was computed from; applying it checks that nothing changed since,
closes the retired grids (``valid_to``), inserts the new ones, re-points buildings, grid
workers and their tokens, and records old → new lineage with the households that moved.
Incidents keep the grid they were reported in, and are found under the new grid by place.
Grid versions are stamped with the database's clock, so their order never depends on a server's.
"""

from __future__ import annotations

import hashlib
import json
import uuid

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from api.http.problems import ApiProblem
from boundaries.checks import polygonal
from geo.partition import PartitionError, draw_grids, fit_around, resplit_grids
from store.hierarchy import metric_epsg


class GridError(ApiProblem):
    """A refusal with its HTTP status (400 bad request, 404 unknown, 409 stale or applied, 422 cannot draw)."""


def scope_communities(
    conn: Connection, *, community: str | None = None, street: str | None = None
) -> list[str]:
    """The communities a drawing covers: one, or every community of a street (grids never cross communities)."""
    if bool(community) == bool(street):
        raise GridError(400, "say exactly one of community or street")
    if community:
        found = (
            conn.execute(text("SELECT id FROM communities WHERE id = :i"), {"i": community}).scalars().all()
        )
        if not found:
            raise GridError(404, f"no community {community!r}")
        return list(found)
    found = conn.execute(
        text("SELECT id FROM communities WHERE street_id = :s ORDER BY id"), {"s": street}
    ).scalars()
    ids = list(found)
    if not ids:
        raise GridError(404, f"no street {street!r} with communities")
    return ids


def _fingerprint(conn: Connection, communities: list[str]) -> str:
    """What a preview was computed from: current grids and their buildings' households."""
    rows = conn.execute(
        text("""
        SELECT g.id, g.valid_from, b.id, b.households, md5(ST_AsBinary(b.geom))
        FROM grids g JOIN buildings b ON b.grid_id = g.id
        WHERE g.community_id = ANY(:c) AND g.valid_to IS NULL ORDER BY g.id, b.id"""),
        {"c": communities},
    ).all()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _read(
    conn: Connection, community: str
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame, object]:
    grids = gpd.read_postgis(
        text("SELECT id, geom FROM grids WHERE community_id = :c AND valid_to IS NULL ORDER BY id"),
        conn,
        geom_col="geom",
        params={"c": community},
    )
    buildings = gpd.read_postgis(
        text("""
        SELECT b.id, b.households, b.grid_id, b.geom FROM buildings b JOIN grids g ON g.id = b.grid_id
        WHERE g.community_id = :c AND g.valid_to IS NULL ORDER BY b.id"""),
        conn,
        geom_col="geom",
        params={"c": community},
    ).set_index("id")
    roads = gpd.read_postgis(
        text("""
        SELECT r.geom FROM roads r, communities c WHERE c.id = :c AND ST_Intersects(r.geom, c.geom)"""),
        conn,
        geom_col="geom",
        params={"c": community},
    )
    boundary = gpd.read_postgis(
        text("SELECT geom FROM communities WHERE id = :c"), conn, geom_col="geom", params={"c": community}
    )
    return grids, buildings, roads, boundary


def _codes(conn: Connection, community: str, n: int) -> list[str]:
    """The next free codes under a community: its id plus a number never used before (history included)."""
    used = (
        conn.execute(text("SELECT id FROM grids WHERE community_id = :c"), {"c": community}).scalars().all()
    )
    numbers = [
        int(g[len(community) :]) for g in used if g.startswith(community) and g[len(community) :].isdigit()
    ]
    start = max(numbers, default=0) + 1
    return [f"{community}{k:02d}" for k in range(start, start + n)]


def make_preview(
    conn: Connection, kind: str, communities: list[str], *, target: int, tolerance: float, actor: str
) -> dict:
    """Draw (from scratch) or re-split (only what is out of band) each community; store and return a preview."""
    if kind not in ("draw", "resplit"):
        raise GridError(400, f"kind {kind!r} is not draw or resplit")
    if target <= 0 or not 0 < tolerance < 1:
        raise GridError(
            400, f"target must be positive and tolerance between 0 and 1 (got {target}, {tolerance})"
        )
    features, assignments, reports, mapping = [], {}, {}, []
    names = dict(
        conn.execute(text("SELECT id, name FROM communities WHERE id = ANY(:c)"), {"c": communities}).all()
    )
    for community in communities:
        grids, buildings, roads, boundary = _read(conn, community)
        if buildings.empty:
            raise GridError(422, f"community {community} has no buildings to draw grids around")
        try:
            if kind == "draw":
                result = draw_grids(buildings, boundary, roads, target=target, tolerance=tolerance)
            else:
                result = resplit_grids(
                    buildings,
                    grids,
                    roads,
                    boundary=boundary,
                    target=target,
                    tolerance=tolerance,
                    current=buildings["grid_id"],
                )
        except PartitionError as exc:
            raise GridError(422, f"community {community}: {exc}") from None
        kept = set(result.report.get("unchanged", [])) if kind == "resplit" else set()
        fresh = [g for g in result.grids["id"] if g not in kept]
        rename = dict(zip(fresh, _codes(conn, community, len(fresh)), strict=True)) | {g: g for g in kept}
        out = _fitted(
            result.grids.assign(id=result.grids["id"].map(rename)), grids, boundary, kept, metric_epsg(conn)
        )
        for row in out.itertuples():
            number = int(row.id[len(community) :])
            features.append(
                {
                    "type": "Feature",
                    "id": row.id,
                    "geometry": shapely.geometry.mapping(row.geometry),
                    "properties": {
                        "id": row.id,
                        "name": f"{names[community]}第{number}网格",
                        "community_id": community,
                        "households": int(row.households),
                        "n_buildings": int(row.n_buildings),
                        "polsby_popper": float(row.polsby_popper),
                        "in_band": bool(row.in_band),
                        "status": "unchanged" if row.id in kept else "new",
                    },
                }
            )
        new_of = result.assignments.map(rename)
        assignments.update({str(b): g for b, g in new_of.items()})
        moved = pd.DataFrame(
            {"old": buildings["grid_id"], "new": new_of, "households": buildings["households"]}
        )
        moved = moved[~moved["old"].isin(kept)]
        lineage = moved.groupby(["old", "new"])["households"].sum().reset_index()
        lineage["share"] = lineage["households"] / lineage.groupby("old")["households"].transform("sum").clip(
            lower=1
        )
        mapping += lineage.to_dict("records")
        report = {k: v for k, v in result.report.items() if k not in ("mapping",)}
        if kind == "resplit":
            report["moves"] = [
                {**m, "from": m["from"], "to": rename.get(m["to"], m["to"])} for m in report["moves"]
            ]
            report["unchanged"] = sorted(kept)
        reports[community] = report
    summary = _summary(features, reports)
    preview_id = uuid.uuid4().hex[:12]
    collection = {"type": "FeatureCollection", "features": features}
    conn.execute(
        text("""
        INSERT INTO grid_previews (id, kind, community_ids, status, created_at, created_by, base_fingerprint, target,
                                   tolerance, report, grids, assignments)
        VALUES (:id, :kind, :c, 'preview', now(), :actor, :fp, :target, :tol, CAST(:report AS jsonb),
                CAST(:grids AS jsonb), CAST(:assign AS jsonb))"""),
        {
            "id": preview_id,
            "kind": kind,
            "c": communities,
            "actor": actor,
            "fp": _fingerprint(conn, communities),
            "target": target,
            "tol": tolerance,
            "report": json.dumps(
                {"summary": summary, "communities": reports, "lineage": mapping}, default=_plain
            ),
            "grids": json.dumps(collection),
            "assign": json.dumps(assignments),
        },
    )
    return {
        "preview_id": preview_id,
        "kind": kind,
        "communities": communities,
        "status": "preview",
        "report": {"summary": summary, "communities": reports},
        "grids": collection,
    }


def _fitted(
    new: gpd.GeoDataFrame, stored: gpd.GeoDataFrame, boundary: gpd.GeoDataFrame, kept: set[str], epsg: int
) -> gpd.GeoDataFrame:
    """Kept grids keep their stored shapes; changed ones fill the rest of the community exactly."""
    new_m, stored_m = new.to_crs(epsg), stored.set_index("id").to_crs(epsg)
    changed = ~new_m["id"].isin(kept)
    kept_shapes = [stored_m.geometry[g] for g in new_m.loc[~changed, "id"]]
    fitted = fit_around(kept_shapes, list(new_m.geometry[changed]), boundary.to_crs(epsg).geometry.iloc[0])
    geoms = list(new_m.geometry)
    for i, shape in zip(new_m.index[changed], fitted, strict=True):
        geoms[new_m.index.get_loc(i)] = shape
    for i in new_m.index[~changed]:
        geoms[new_m.index.get_loc(i)] = stored_m.geometry[new_m.at[i, "id"]]
    out = gpd.GeoDataFrame(new_m.drop(columns="geometry"), geometry=geoms, crs=epsg).to_crs(4326)
    # Reprojection can leave a ring touching itself; mend only those.
    out["geometry"] = [g if g.is_valid else polygonal(shapely.make_valid(g)) for g in out.geometry]
    return out


def _plain(value):
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(type(value))


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
    row = (
        conn.execute(text("SELECT * FROM grid_previews WHERE id = :i"), {"i": preview_id}).mappings().first()
    )
    if row is None:
        raise GridError(404, f"no grid preview {preview_id!r}")
    return dict(row)


def apply_preview(conn: Connection, preview_id: str, *, actor: str) -> dict:
    """Make a preview the current grids, in the caller's transaction (all of it, or nothing)."""
    row = (
        conn.execute(text("SELECT * FROM grid_previews WHERE id = :i FOR UPDATE"), {"i": preview_id})
        .mappings()
        .first()
    )
    if row is None:
        raise GridError(404, f"no grid preview {preview_id!r}")
    if row["status"] != "preview":
        raise GridError(409, f"preview {preview_id} was already {row['status']}")
    if _fingerprint(conn, row["community_ids"]) != row["base_fingerprint"]:
        raise GridError(
            409, f"grids or buildings changed since preview {preview_id} was made: make a new preview"
        )
    features = row["grids"]["features"]
    kept = [f["id"] for f in features if f["properties"]["status"] == "unchanged"]
    new = [f for f in features if f["properties"]["status"] == "new"]
    retired = (
        conn.execute(
            text("""
        UPDATE grids SET valid_to = now()
        WHERE community_id = ANY(:c) AND valid_to IS NULL AND NOT (id = ANY(:kept)) RETURNING id"""),
            {"c": row["community_ids"], "kept": kept},
        )
        .scalars()
        .all()
    )
    conn.execute(
        text("""
        INSERT INTO grids (id, name, community_id, households, valid_from, geom)
        SELECT f->>'id', f->'properties'->>'name', f->'properties'->>'community_id',
               (f->'properties'->>'households')::int, now(),
               ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(f->>'geometry'), 4326))
        FROM jsonb_array_elements(CAST(:features AS jsonb)) f"""),
        {"features": json.dumps(new)},
    )
    conn.execute(
        text("""
        UPDATE grids g SET households = (f->'properties'->>'households')::int
        FROM jsonb_array_elements(CAST(:features AS jsonb)) f
        WHERE g.id = f->>'id'"""),
        {"features": json.dumps([f for f in features if f["id"] in kept])},
    )
    moved = conn.execute(
        text("""
        UPDATE buildings b SET grid_id = a.value #>> '{}'
        FROM jsonb_each(CAST(:a AS jsonb)) a WHERE b.id = a.key AND b.grid_id <> a.value #>> '{}'"""),
        {"a": json.dumps(row["assignments"])},
    ).rowcount
    lineage = pd.DataFrame(row["report"]["lineage"])
    workers = 0
    if not lineage.empty:
        conn.execute(
            text("""
            INSERT INTO grid_lineage (preview_id, old_grid_id, new_grid_id, households, share, changed_at)
            SELECT :p, l->>'old', l->>'new', (l->>'households')::int, (l->>'share')::float8, now()
            FROM jsonb_array_elements(CAST(:l AS jsonb)) l"""),
            {"p": preview_id, "l": json.dumps(lineage.to_dict("records"), default=_plain)},
        )
        # A retired grid's worker follows the largest share of its households; so do their tokens.
        heirs = lineage.sort_values(
            ["old", "households", "new"], ascending=[True, False, True]
        ).drop_duplicates("old")
        for old, heir in zip(heirs["old"], heirs["new"], strict=True):
            workers += conn.execute(
                text("UPDATE people SET grid_id = :n WHERE role = 'grid_worker' AND grid_id = :o"),
                {"n": heir, "o": old},
            ).rowcount
            conn.execute(
                text("UPDATE api_tokens SET scope_id = :n WHERE role = 'grid_worker' AND scope_id = :o"),
                {"n": heir, "o": old},
            )
    conn.execute(
        text("UPDATE grid_previews SET status = 'applied', applied_at = now() WHERE id = :i"),
        {"i": preview_id},
    )
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


def grid_history(conn: Connection, grid_id: str) -> dict:
    """A grid's version (valid_from, valid_to), the grids it came from and the grids it became."""
    grid = (
        conn.execute(
            text("SELECT id, name, community_id, households, valid_from, valid_to FROM grids WHERE id = :g"),
            {"g": grid_id},
        )
        .mappings()
        .first()
    )
    if grid is None:
        raise GridError(404, f"no grid {grid_id!r}")

    def links(column: str, other: str) -> list[dict]:
        rows = conn.execute(
            text(f"""
            SELECT l.{other} AS grid, g.name, l.households, l.share, l.changed_at, l.preview_id
            FROM grid_lineage l JOIN grids g ON g.id = l.{other}
            WHERE l.{column} = :g ORDER BY l.changed_at, l.{other}"""),  # noqa: S608
            {"g": grid_id},
        ).mappings()
        return [
            {**dict(r), "changed_at": r["changed_at"].isoformat(), "share": round(r["share"], 4)}
            for r in rows
        ]

    out = {
        **dict(grid),
        "valid_from": grid["valid_from"].isoformat(),
        "valid_to": grid["valid_to"].isoformat() if grid["valid_to"] else None,
        "current": grid["valid_to"] is None,
        "came_from": links("new_grid_id", "old_grid_id"),
        "became": links("old_grid_id", "new_grid_id"),
    }
    return out
