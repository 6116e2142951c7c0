"""One home for every tunable number, read once from the environment.

Keeping the band, tolerances and distances here means a tier deadline or a
tolerance is never three literals in three modules.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return default if raw in (None, "") else float(raw)


@dataclass(frozen=True)
class Settings:
    """Service-wide configuration; every distance is in metres."""

    var_dir: Path = field(default_factory=lambda: Path(os.environ.get("WANGGE_VAR", PROJECT_ROOT / "var")))
    pg_port: int | None = field(
        default_factory=lambda: (
            int(os.environ["WANGGE_PG_PORT"]) if os.environ.get("WANGGE_PG_PORT") else None
        )
    )
    database_name: str = field(default_factory=lambda: os.environ.get("WANGGE_DB_NAME", "wangge"))
    # Grid size band: 500 households ± 10 % (seed 001: one grid per 500 households).
    households_target: int = field(default_factory=lambda: int(_float("WANGGE_HOUSEHOLDS_TARGET", 500)))
    households_tolerance: float = field(default_factory=lambda: _float("WANGGE_HOUSEHOLDS_TOLERANCE", 0.10))
    # How far a point may be from a responsible segment and still belong to it.
    segment_search_m: float = field(default_factory=lambda: _float("WANGGE_SEGMENT_SEARCH_M", 50.0))
    # Slivers thinner than this are digitising noise, not gaps or overlaps.
    topology_tolerance_m: float = field(default_factory=lambda: _float("WANGGE_TOPOLOGY_TOLERANCE_M", 0.5))
    # Incident workflow (seeds: small things stay in the grid; only what a level cannot close goes up).
    near_boundary_m: float = field(default_factory=lambda: _float("WANGGE_NEAR_BOUNDARY_M", 10.0))
    duplicate_radius_m: float = field(default_factory=lambda: _float("WANGGE_DUPLICATE_RADIUS_M", 30.0))
    duplicate_window_h: float = field(default_factory=lambda: _float("WANGGE_DUPLICATE_WINDOW_H", 48.0))
    rating_window_days: float = field(default_factory=lambda: _float("WANGGE_RATING_WINDOW_DAYS", 7.0))
    # What a level gets when an incident is escalated to it: (response limit in minutes, completion in hours).
    tier_limits: dict[str, tuple[int, int]] = field(
        default_factory=lambda: {"A": (30, 24), "B": (60, 72), "C": (120, 168), "D": (240, 360)}
    )
    # Patrols: a road counts as walked where a track passed within this (the 20 m).
    patrol_within_m: float = field(default_factory=lambda: _float("WANGGE_PATROL_WITHIN_M", 20.0))
    # The residents' register: the key that seals ID-card numbers and phones lives outside the database, in
    # a file only the office holds (created 0600 on first use). Without it the sealed columns are noise.
    resident_key_file: Path = field(
        default_factory=lambda: Path(
            os.environ.get("WANGGE_RESIDENT_KEY_FILE")
            or Path(os.environ.get("WANGGE_VAR", PROJECT_ROOT / "var")) / "keys" / "residents.key"
        )
    )
    # Informants each grid worker should have (seed 004, Zhenxing: at least 20); `wangge validate` warns below.
    informants_per_worker: int = field(
        default_factory=lambda: int(_float("WANGGE_INFORMANTS_PER_WORKER", 20))
    )
    # The outbox (issue 17): where messages go, how they are signed, how retries are spaced. Nothing is sent
    # while a channel's URL is empty: the message waits, so a test or a fresh install never reaches outside.
    webhook_url: str = field(default_factory=lambda: os.environ.get("WANGGE_WEBHOOK_URL", ""))
    webhook_secret: str = field(default_factory=lambda: os.environ.get("WANGGE_WEBHOOK_SECRET", ""))
    sms_url: str = field(default_factory=lambda: os.environ.get("WANGGE_SMS_URL", ""))
    public_url: str = field(
        default_factory=lambda: os.environ.get("WANGGE_PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/")
    )
    outbox_backoff_s: float = field(default_factory=lambda: _float("WANGGE_OUTBOX_BACKOFF_S", 60.0))
    outbox_max_attempts: int = field(default_factory=lambda: int(_float("WANGGE_OUTBOX_MAX_ATTEMPTS", 8)))
    # Completion deadlines counted in working days (weekends and the official holidays off, 调休 worked), and
    # the office's own holiday file (empty: the shipped list of core/data/holidays.json). Off by default.
    workday_deadlines: bool = field(
        default_factory=lambda: (
            os.environ.get("WANGGE_WORKDAY_DEADLINES", "").lower() in ("1", "true", "yes", "on")
        )
    )
    holidays_file: Path | None = field(
        default_factory=lambda: (
            Path(os.environ["WANGGE_HOLIDAYS_FILE"]) if os.environ.get("WANGGE_HOLIDAYS_FILE") else None
        )
    )
    # How long before a deadline the sweep reminds the assignee.
    due_warning_min: float = field(default_factory=lambda: _float("WANGGE_DUE_WARNING_MIN", 30.0))
    # Bulk locate: at or above this many points a file is located on a Dask cluster (a LocalCluster sized to
    # the machine when no scheduler is named); below it, in this process. Each task takes about
    # ``locate_part_points`` rows (a million points: about a second of kernel and 0.5 GiB on a worker).
    locate_cluster_min_points: int = field(
        default_factory=lambda: int(_float("WANGGE_LOCATE_CLUSTER_MIN_POINTS", 5_000_000))
    )
    locate_part_points: int = field(
        default_factory=lambda: int(_float("WANGGE_LOCATE_PART_POINTS", 1_000_000))
    )
    # How long to wait for a named Dask scheduler to answer before saying it cannot be reached.
    dask_connect_timeout_s: float = field(
        default_factory=lambda: _float("WANGGE_DASK_CONNECT_TIMEOUT_S", 10.0)
    )
    # A task that fails (not a worker that dies: the scheduler reschedules those anyway) is tried again.
    locate_task_retries: int = field(default_factory=lambda: int(_float("WANGGE_LOCATE_TASK_RETRIES", 2)))
    # Grid drawing of a boundary of several features: at or above this many buildings the features are drawn
    # on a Dask cluster (a LocalCluster sized to the machine when no scheduler is named), one task each.
    draw_cluster_min_buildings: int = field(
        default_factory=lambda: int(_float("WANGGE_DRAW_CLUSTER_MIN_BUILDINGS", 20_000))
    )
    # API guard rails.
    max_page_size: int = 5000
    max_request_bytes: int = 1_000_000
    # Case photos (issue 17): each at most this many bytes and pixels (larger is refused, a decompression
    # bomb among them), at most this many per stage of a case; thumbnails this long on their longest side.
    max_photo_bytes: int = field(default_factory=lambda: int(_float("WANGGE_MAX_PHOTO_BYTES", 10_000_000)))
    max_photo_pixels: int = 40_000_000
    max_photos_per_stage: int = 6
    thumb_px: int = 320

    @property
    def households_band(self) -> tuple[float, float]:
        t, tol = self.households_target, self.households_tolerance
        return t * (1 - tol), t * (1 + tol)


def get_settings() -> Settings:
    """Settings as the environment says now (cheap; tests may change the environment)."""
    return Settings()
