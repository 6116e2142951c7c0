"""What a street's patrol-coverage report reads besides the tracks themselves (those are ``store.tracks``'s):
the people who patrol it, its segments, current grids and buildings, and which
street a caller's scope lies in. Roads and outline are ``store.hierarchy``'s.

Kept apart from ``store.tracks`` because these are the street's standing layers and its people, read by
street; the tracks table is read by period and place.
"""

from __future__ import annotations

import geopandas as gpd
from sqlalchemy import Connection, text

# Which street a role's scope id lies in (a street admin's scope is the street).
_STREET_OF_SCOPE = {
    "street_admin": "SELECT :k",
    "community_admin": "SELECT street_id FROM communities WHERE id = :k",
    "grid_worker": "SELECT c.street_id FROM grids g JOIN communities c ON c.id = g.community_id WHERE g.id = :k",
    "street_chief": "SELECT street_id FROM road_segments WHERE id = :k",
}
SCOPED_ROLES = frozenset(_STREET_OF_SCOPE)
# The street's layers the report counts, each by id.
_LAYERS = {
    "segments": "SELECT id, name, geom FROM road_segments WHERE street_id = :s ORDER BY id",
    "grids": "SELECT g.id, g.community_id, g.geom FROM grids g JOIN communities c ON c.id = g.community_id "
    "WHERE c.street_id = :s AND g.valid_to IS NULL ORDER BY g.id",
    "buildings": "SELECT b.id, b.grid_id, b.geom FROM buildings b JOIN grids g ON g.id = b.grid_id "
    "JOIN communities c ON c.id = g.community_id WHERE c.street_id = :s ORDER BY b.id",
}


def street_people(conn: Connection, street_id: str) -> list[dict]:
    """The street's people and those of its grids (id, name, role, chief_kind, grid_id, segment_id), by id."""
    sql = text(
        "SELECT id, name, role, chief_kind, grid_id, segment_id FROM people "
        "WHERE street_id = :s OR grid_id IN (SELECT g.id FROM grids g JOIN communities c "
        "ON c.id = g.community_id WHERE c.street_id = :s) ORDER BY id"
    )
    return [dict(r) for r in conn.execute(sql, {"s": street_id}).mappings()]


def street_layer(conn: Connection, street_id: str, layer: str) -> gpd.GeoDataFrame:
    """The street's ``segments`` (id, name), current ``grids`` (id, community_id) or ``buildings`` (id,
    grid_id), with geom, by id."""
    return gpd.read_postgis(text(_LAYERS[layer]), conn, geom_col="geom", params={"s": street_id})


def street_of_scope(conn: Connection, role: str, scope_id: str | None) -> str:
    """The street a caller's scope lies in (``role`` one of ``SCOPED_ROLES``)."""
    return conn.execute(text(_STREET_OF_SCOPE[role]), {"k": scope_id}).scalar_one()


def first_streets(conn: Connection, n: int) -> list[str]:
    """Up to ``n`` street ids, in order (a district with one street needs no street named)."""
    sql = text("SELECT id FROM streets ORDER BY id LIMIT :n")
    return list(conn.execute(sql, {"n": n}).scalars())
