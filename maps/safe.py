"""Text people typed or imported, made safe for every place a page puts it; and the page's script policy.

Names, notes and descriptions reach a page in three ways: inside HTML (cards, legends), inside a
JavaScript template literal (folium writes every ``Tooltip`` and ``Popup`` as `` `...` ``), and as
GeoJSON properties that folium's tooltips and popups set through ``innerHTML``. One escape serves all
three: HTML's five characters, and the backtick, dollar sign and backslash that would end or
interpolate a template literal. Escaped text has no ``<``, so no ``</script>`` either.

The policy forbids every script the page did not ship: each inline script of the rendered page is
allowed by its hash, so an ``onerror=`` or ``<script>`` smuggled into a name never runs.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
import re
from collections.abc import Iterable

import pandas as pd

from maps.basemaps import BaseMap, for_display

_TEMPLATE = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def safe(value: object) -> str:
    """``value`` as text that shows as written in HTML, in a template literal and through ``innerHTML``;
    missing values (None, NaN) are the empty string."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True).translate(_TEMPLATE)


def safe_columns(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """A copy of ``frame`` whose text ``columns`` are escaped (for GeoJSON tooltips and popups)."""
    out = frame.copy()
    for column in columns:
        if column in out.columns:
            out[column] = [safe(v) if isinstance(v, str) else v for v in out[column]]
    return out


def content_security_policy(page: str) -> str:
    """The policy for one rendered page: its own files, its inline scripts by hash, tiles from anywhere
    over HTTPS, nothing else (no inline event handlers, no plugins, no other page framing it)."""
    hashes = sorted(
        {
            "'sha256-" + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode() + "'"
            for body in _INLINE_SCRIPT.findall(page)
        }
    )
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self' " + " ".join(hashes),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: https: http:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'self'",
        )
    )


def features(frame: pd.DataFrame, base: BaseMap) -> dict:
    """``frame`` as GeoJSON for a folium layer, in the base map's coordinates, every text property escaped
    (folium's tooltips and popups set them through ``innerHTML``)."""
    return for_display(safe_columns(frame, text_columns(frame)), base).__geo_interface__


def text_columns(frame: pd.DataFrame) -> list[str]:
    """The columns that may hold text (object or string dtype), geometry aside."""
    return [
        c
        for c in frame.columns
        if c != "geometry"
        and (pd.api.types.is_object_dtype(frame[c]) or pd.api.types.is_string_dtype(frame[c]))
    ]
