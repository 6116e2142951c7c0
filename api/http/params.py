"""Reading request parameters: numbers and whole numbers, with messages that name the value.

One place for these rules, so every endpoint (and Open311, and the map filters) answers alike.
"""

from __future__ import annotations

import math

from core.errors import Invalid


class ParamError(Invalid, ValueError):
    """A parameter that cannot be read; the message says which and why (answered with 400)."""


def finite_number(name: str, raw: str | None) -> float | None:
    """A finite float, or None when the parameter is absent or empty."""
    if raw is None or raw.strip() == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ParamError(f"{name} {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise ParamError(f"{name} {raw!r} is not a finite number")
    return value


def whole_number(name: str, raw: str | None, default: int, lo: int, hi: int) -> int:
    """An integer within ``lo..hi``, or ``default`` when absent."""
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ParamError(f"{name} {raw!r} is not a whole number") from None
    if not lo <= value <= hi:
        raise ParamError(f"{name} {value} is outside {lo}..{hi}")
    return value
