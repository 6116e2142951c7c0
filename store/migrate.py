"""Schema migrations (Alembic), configured in code so no alembic.ini has to be found on disk."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text

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


@lru_cache(maxsize=1)
def head_revisions() -> frozenset[str]:
    """The newest migration(s) this code ships (read from disk once per process)."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory(str(MIGRATIONS)).get_heads())


def at_head(conn: Connection) -> bool:
    """Whether the database's schema is at the newest migration this code ships."""
    if conn.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None:
        return False
    current = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
    return frozenset(current) == head_revisions()
