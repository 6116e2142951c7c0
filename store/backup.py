"""Backups of the database: ``pg_dump`` in its custom format out, ``pg_restore`` in, run with the
PostgreSQL programs the embedded cluster uses (``store.cluster.pg_bindir``), against the embedded
database or ``DATABASE_URL``'s server.

A restore goes into an empty database (a freshly created one, with or without PostGIS) unless told to
replace what the backup holds, so an office cannot overwrite its live reports by a slip of the command.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from store.cluster import pg_bindir

# Tables of the database's own: not PostgreSQL's catalogues, nor tables an extension brings with it
# (PostGIS's spatial_ref_sys is in every database created with PostGIS).
_OWN_TABLES_SQL = """
SELECT n.nspname || '.' || c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND d.deptype = 'e')
ORDER BY 1
"""


class BackupError(RuntimeError):
    """A backup or restore that could not be made, or was refused; nothing was changed."""


def own_tables(url: str) -> list[str]:
    """The database's own tables, ``schema.table``, in name order (extensions' tables left out)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(_OWN_TABLES_SQL)).scalars())
    finally:
        engine.dispose()


def _libpq_env(url: str) -> dict[str, str]:
    """The connection as libpq's environment: a password never appears on a command line (``ps``)."""
    parts = make_url(url)
    given = {
        "PGHOST": parts.host,
        "PGPORT": str(parts.port) if parts.port else None,
        "PGUSER": parts.username,
        "PGPASSWORD": parts.password,
        "PGDATABASE": parts.database,
    }
    return {**os.environ, **{k: str(v) for k, v in given.items() if v}}


def _run(program: str, args: list[str], url: str) -> None:
    proc = subprocess.run(
        [str(pg_bindir() / program), "--no-password", *args],
        env=_libpq_env(url),
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise BackupError(f"{program} 失败 failed ({proc.returncode}): {proc.stderr.strip()}")


def backup(url: str, file: Path) -> int:
    """Write the whole database to ``file`` (pg_dump's custom format, compressed); returns its size in bytes.

    The dump goes to a file beside ``file`` first and is renamed when complete: a failed run never
    leaves a half-written file where the last good backup was.
    """
    file = Path(file)
    partial = file.with_name(file.name + ".partial")
    try:
        _run("pg_dump", ["--format=custom", f"--file={partial}"], url)
        partial.replace(file)
    finally:
        partial.unlink(missing_ok=True)
    return file.stat().st_size


def restore(url: str, file: Path, *, force: bool = False) -> list[str]:
    """Load ``file`` (from ``backup``) into the database, in one transaction; returns the tables restored.

    A database that already holds tables of its own is refused unless ``force``: then every object the
    backup holds is dropped and recreated from it.
    """
    file = Path(file)
    if not file.is_file():
        raise BackupError(f"没有备份文件 no backup file {file}")
    present = own_tables(url)
    if present and not force:
        shown = ", ".join(present[:5]) + (", …" if len(present) > 5 else "")
        raise BackupError(
            f"数据库不是空的，未恢复 the database already holds {len(present)} tables ({shown}); nothing "
            "was restored: restore into an empty database, or pass --force to replace them with the backup"
        )
    args = ["--single-transaction", "--no-owner", f"--dbname={make_url(url).database}"]
    if present:
        args += ["--clean", "--if-exists"]
    _run("pg_restore", [*args, str(file)], url)
    return own_tables(url)
