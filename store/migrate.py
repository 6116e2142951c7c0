"""Schema migrations (Alembic), configured in code so no alembic.ini has to be found on disk."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from store.engine import database_url

if TYPE_CHECKING:  # Alembic is loaded only when a migration runs: every `wangge` command imports this module
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """Alembic configuration built in code, so no alembic.ini has to be found on disk."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic."""
    from alembic import command

    command.upgrade(alembic_config(url or database_url()), revision)
