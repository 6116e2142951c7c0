"""GET /maps/...: Folium maps rendered from the stored hierarchy."""

from __future__ import annotations

import folium
from flask import Blueprint, Response, request, send_from_directory

from api.http.context import connection, now, principal
from api.pages import render_map
from core.access import require_admin
from core.errors import Invalid, NotFound, ServerFault
from core.mapdata import is_private
from core.vocabulary import MAP_KINDS
from maps.assets import STATIC_PREFIX, AssetError, localise, vendor_dir
from maps.basemaps import BaseMapError, base_map
from maps.safe import content_security_policy

bp = Blueprint("maps", __name__)


def page(fmap: folium.Map) -> Response:
    """The map as HTML whose every script and stylesheet is served from here (works offline)."""
    try:
        html = localise(fmap.get_root().render())
    except AssetError as exc:
        raise ServerFault(f"地图资源缺失 map asset missing: {exc}") from None
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = content_security_policy(html)
    return response


@bp.get(f"{STATIC_PREFIX}/<path:path>")
def vendor(path: str):
    """Leaflet and its plugins, installed by `wangge assets` (never a public CDN)."""
    return send_from_directory(vendor_dir(), path, max_age=86400)


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for it on every page; no icon is better than a 404 in the console."""
    return Response(status=204)


@bp.get("/maps/<kind>")
def show(kind: str):
    """A map page: ``?base=none|osm|local|tianditu|amap`` chooses the base map; incident maps take filters
    (``category``, ``tier``, ``channel``, ``status`` as comma lists, ``from``, ``to``, ``step``, ``markers``)."""
    if kind not in MAP_KINDS:
        raise NotFound(f"未知地图 unknown map {kind!r}; maps: {', '.join(MAP_KINDS)}")
    who = None
    if is_private(kind, request.args):
        who = principal()
        require_admin(who, "incident maps")
    try:
        base = base_map(request.args.get("base"))
    except BaseMapError as exc:
        raise Invalid(str(exc)) from None
    return page(render_map(connection(), kind, base, request.args, principal=who, now=now()))
