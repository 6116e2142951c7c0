"""Every SQL statement of drawing and re-splitting grids: what a drawing reads of a community, the previews,
the steps that apply one (all in the caller's transaction) and the lineage that records old → new.

Grid versions are stamped with the database's clock (``now()``), so their order never depends on a
server's. JSON documents go into jsonb through bound parameters, numpy numbers as plain ones.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import geopandas as gpd
from sqlalchemy import Connection, text


def _plain(value: Any) -> Any:
    """numpy scalars (households summed by pandas, shares) as the JSON numbers they are."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(type(value))


def _json(value: object) -> str:
    return json.dumps(value, default=_plain)


# ---- what a drawing covers and reads ----------------------------------------------------------


def community_ids(conn: Connection, community: str) -> list[str]:
    """The community itself when it exists (empty when not)."""
    return list(conn.execute(text("SELECT id FROM communities WHERE id = :i"), {"i": community}).scalars())


def street_communities(conn: Connection, street: str) -> list[str]:
    """A street's communities, in id order (empty for an unknown street)."""
    sql = text("SELECT id FROM communities WHERE street_id = :s ORDER BY id")
    return list(conn.execute(sql, {"s": street}).scalars())


def community_names(conn: Connection, communities: list[str]) -> dict[str, str]:
    sql = text("SELECT id, name FROM communities WHERE id = ANY(:c)")
    return {i: n for i, n in conn.execute(sql, {"c": communities}).all()}


def fingerprint(conn: Connection, communities: list[str]) -> str:
    """What a preview was computed from: current grids and their buildings' households and shapes."""
    rows = conn.execute(
        text("""
        SELECT g.id, g.valid_from, b.id, b.households, md5(ST_AsBinary(b.geom))
        FROM grids g JOIN buildings b ON b.grid_id = g.id
        WHERE g.community_id = ANY(:c) AND g.valid_to IS NULL ORDER BY g.id, b.id"""),
        {"c": communities},
    ).all()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _frame(conn: Connection, sql: str, community: str) -> gpd.GeoDataFrame:
    return gpd.read_postgis(text(sql), conn, geom_col="geom", params={"c": community})


def community_frames(
    conn: Connection, community: str
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """A community's current grids, their buildings (by id), the roads crossing it (with their ``kind``) and
    its boundary."""
    grids = _frame(
        conn, "SELECT id, geom FROM grids WHERE community_id = :c AND valid_to IS NULL ORDER BY id", community
    )
    buildings = _frame(
        conn,
        """SELECT b.id, b.households, b.grid_id, b.geom FROM buildings b JOIN grids g ON g.id = b.grid_id
           WHERE g.community_id = :c AND g.valid_to IS NULL ORDER BY b.id""",
        community,
    ).set_index("id")
    roads = _frame(
        conn,
        "SELECT r.kind, r.geom FROM roads r, communities c WHERE c.id = :c AND ST_Intersects(r.geom, c.geom)",
        community,
    )
    boundary = _frame(conn, "SELECT geom FROM communities WHERE id = :c", community)
    return grids, buildings, roads, boundary


def free_codes(conn: Connection, community: str, n: int) -> list[str]:
    """The next ``n`` codes under a community: its id plus a number never used before (history included)."""
    sql = text("SELECT id FROM grids WHERE community_id = :c")
    used = conn.execute(sql, {"c": community}).scalars().all()
    numbers = [
        int(g[len(community) :]) for g in used if g.startswith(community) and g[len(community) :].isdigit()
    ]
    start = max(numbers, default=0) + 1
    return [f"{community}{k:02d}" for k in range(start, start + n)]


# ---- previews ---------------------------------------------------------------------------------


def insert_preview(
    conn: Connection,
    *,
    preview_id: str,
    kind: str,
    communities: list[str],
    actor: str,
    base_fingerprint: str,
    target: int,
    tolerance: float,
    report: dict,
    grids: dict,
    assignments: dict[str, str],
) -> None:
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
            "fp": base_fingerprint,
            "target": target,
            "tol": tolerance,
            "report": _json(report),
            "grids": json.dumps(grids),
            "assign": json.dumps(assignments),
        },
    )


_PREVIEW = "SELECT * FROM grid_previews WHERE id = :i"


def preview(conn: Connection, preview_id: str, *, lock: bool = False) -> dict | None:
    """A stored preview (``lock``: FOR UPDATE, so two applies of one preview queue behind each other)."""
    sql = text(_PREVIEW + " FOR UPDATE") if lock else text(_PREVIEW)
    row = conn.execute(sql, {"i": preview_id}).mappings().first()
    return dict(row) if row is not None else None


# ---- applying a preview -----------------------------------------------------------------------


def retire_grids(conn: Connection, communities: list[str], kept: list[str]) -> list[str]:
    """Close (``valid_to``) the communities' current grids other than ``kept``; their ids."""
    sql = text("""
        UPDATE grids SET valid_to = now()
        WHERE community_id = ANY(:c) AND valid_to IS NULL AND NOT (id = ANY(:kept)) RETURNING id""")
    return list(conn.execute(sql, {"c": communities, "kept": kept}).scalars())


def insert_grids(conn: Connection, features: list[dict]) -> None:
    """New grid versions from GeoJSON features (id, name, community_id, households)."""
    conn.execute(
        text("""
        INSERT INTO grids (id, name, community_id, households, valid_from, geom)
        SELECT f->>'id', f->'properties'->>'name', f->'properties'->>'community_id',
               (f->'properties'->>'households')::int, now(),
               ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(f->>'geometry'), 4326))
        FROM jsonb_array_elements(CAST(:features AS jsonb)) f"""),
        {"features": json.dumps(features)},
    )


def update_households(conn: Connection, features: list[dict]) -> None:
    """Kept grids keep their shape but take the households the preview counted."""
    conn.execute(
        text("""
        UPDATE grids g SET households = (f->'properties'->>'households')::int
        FROM jsonb_array_elements(CAST(:features AS jsonb)) f
        WHERE g.id = f->>'id'"""),
        {"features": json.dumps(features)},
    )


def repoint_buildings(conn: Connection, assignments: dict[str, str]) -> int:
    """Each building to its grid (building id → grid id); how many moved."""
    sql = text("""
        UPDATE buildings b SET grid_id = a.value #>> '{}'
        FROM jsonb_each(CAST(:a AS jsonb)) a WHERE b.id = a.key AND b.grid_id <> a.value #>> '{}'""")
    return conn.execute(sql, {"a": json.dumps(assignments)}).rowcount


def insert_lineage(conn: Connection, preview_id: str, links: list[dict]) -> None:
    """old → new links (``old``, ``new``, ``households``, ``share``), stamped now."""
    conn.execute(
        text("""
        INSERT INTO grid_lineage (preview_id, old_grid_id, new_grid_id, households, share, changed_at)
        SELECT :p, l->>'old', l->>'new', (l->>'households')::int, (l->>'share')::float8, now()
        FROM jsonb_array_elements(CAST(:l AS jsonb)) l"""),
        {"p": preview_id, "l": _json(links)},
    )


def repoint_worker(conn: Connection, old: str, new: str) -> int:
    """A retired grid's worker, and their tokens, to the grid that inherits it; how many workers moved."""
    params = {"n": new, "o": old}
    moved = conn.execute(
        text("UPDATE people SET grid_id = :n WHERE role = 'grid_worker' AND grid_id = :o"), params
    ).rowcount
    conn.execute(
        text("UPDATE api_tokens SET scope_id = :n WHERE role = 'grid_worker' AND scope_id = :o"), params
    )
    return moved


def mark_applied(conn: Connection, preview_id: str) -> None:
    conn.execute(
        text("UPDATE grid_previews SET status = 'applied', applied_at = now() WHERE id = :i"),
        {"i": preview_id},
    )


# ---- history ----------------------------------------------------------------------------------


def grid_version(conn: Connection, grid_id: str) -> dict | None:
    """Any version of a grid, current or retired."""
    sql = text("SELECT id, name, community_id, households, valid_from, valid_to FROM grids WHERE id = :g")
    row = conn.execute(sql, {"g": grid_id}).mappings().first()
    return dict(row) if row is not None else None


# Which end of a lineage link the grid is, and which end to list: (its column, the other's).
_LINKS = {"came_from": ("new_grid_id", "old_grid_id"), "became": ("old_grid_id", "new_grid_id")}


def lineage_links(conn: Connection, grid_id: str, direction: str) -> list[dict]:
    """The grids a grid ``came_from`` or ``became``, oldest change first, with households and share."""
    column, other = _LINKS[direction]
    sql = text(f"""
        SELECT l.{other} AS grid, g.name, l.households, l.share, l.changed_at, l.preview_id
        FROM grid_lineage l JOIN grids g ON g.id = l.{other}
        WHERE l.{column} = :g ORDER BY l.changed_at, l.{other}""")  # noqa: S608 (names from _LINKS)
    return [dict(r) for r in conn.execute(sql, {"g": grid_id}).mappings()]
