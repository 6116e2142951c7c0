"""The embedded PostgreSQL + PostGIS cluster: process management alone (init, start, stop, databases).

With no ``DATABASE_URL`` the service runs its own cluster in ``var/pg/``; PostgreSQL
refuses to run as root, so when we are root the server runs as the ``postgres`` user.
"""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from geo.settings import get_settings

SUPERUSER = "wangge"
EXTENSIONS = ("postgis", "pgrouting")


class ClusterError(RuntimeError):
    """The embedded cluster could not be set up or reached."""


def pg_bindir() -> Path:
    """Where initdb/pg_ctl live: WANGGE_PG_BINDIR, else the newest Debian install, else PATH."""
    if os.environ.get("WANGGE_PG_BINDIR"):
        return Path(os.environ["WANGGE_PG_BINDIR"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("pg_ctl")
    if which:
        return Path(which).resolve().parent
    raise ClusterError(
        "找不到 PostgreSQL 服务程序 / PostgreSQL server binaries not found: "
        "apt-get install -y postgresql-15-postgis-3 postgresql-15-pgrouting"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class EmbeddedCluster:
    """A PostgreSQL cluster living in ``<var>/pg``: data, sockets, log and chosen port."""

    root: Path

    @classmethod
    def default(cls) -> EmbeddedCluster:
        return cls(get_settings().var_dir / "pg")

    # -- paths -------------------------------------------------------------
    @property
    def base(self) -> Path:
        """var/pg with any link resolved: postgres may reach the target but not the checkout."""
        return self.root.resolve()

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def run_dir(self) -> Path:
        return self.base / "run"

    @property
    def log_file(self) -> Path:
        return self.run_dir / "server.log"

    @property
    def port_file(self) -> Path:
        return self.base / "port"

    # -- who runs the server -------------------------------------------------
    @property
    def as_root(self) -> bool:
        return os.geteuid() == 0

    def _cmd(self, *args: str) -> list[str]:
        """Prefix a server command so that it runs as ``postgres`` when we are root."""
        if self.as_root:
            return ["runuser", "-u", "postgres", "--", *args]
        return list(args)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(self._cmd(*args), capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise ClusterError(
                f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}"
            )
        return proc

    def _prepare_dirs(self) -> None:
        """Create var/pg; as root, hand its parts to postgres (relocating if postgres cannot reach it)."""
        self.root.parent.mkdir(parents=True, exist_ok=True)
        if self.as_root and not self.root.exists():
            reachable = (
                subprocess.run(
                    ["runuser", "-u", "postgres", "--", "test", "-x", str(self.root.parent)],
                    capture_output=True,
                ).returncode
                == 0
            )
            if not reachable:
                # A checkout under /root is closed to postgres: keep the cluster in /var/tmp, linked from var/pg.
                digest = hashlib.sha1(str(self.root.resolve()).encode()).hexdigest()[:12]
                target = Path("/var/tmp") / f"wangge-pg-{digest}"
                target.mkdir(parents=True, exist_ok=True)
                self.root.symlink_to(target)
        self.root.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(exist_ok=True)
        if self.as_root:
            pg = pwd.getpwnam("postgres")
            for path in (self.run_dir, *([self.data_dir] if self.data_dir.exists() else [])):
                os.chown(path, pg.pw_uid, pg.pw_gid)

    # -- lifecycle -----------------------------------------------------------
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def port(self) -> int:
        if self.port_file.exists():
            return int(self.port_file.read_text().strip())
        port = get_settings().pg_port or _free_port()
        self.port_file.write_text(f"{port}\n")
        return port

    def running(self) -> bool:
        if not self.initialised():
            return False
        return (
            self._run(str(pg_bindir() / "pg_ctl"), "status", "-D", str(self.data_dir), check=False).returncode
            == 0
        )

    def url(self, database: str | None = None) -> str:
        db = database or get_settings().database_name
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port()}/{db}"

    def start(self) -> str:
        """Start (initialising on first use) and make sure the database and extensions exist; idempotent."""
        self.root.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.root.parent / "pg.lock"), timeout=120):
            self._prepare_dirs()
            bindir = pg_bindir()
            if not self.initialised():
                self.data_dir.mkdir(mode=0o700, exist_ok=True)
                if self.as_root:
                    pg = pwd.getpwnam("postgres")
                    os.chown(self.data_dir, pg.pw_uid, pg.pw_gid)
                self._run(
                    str(bindir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                )
            if not self.running():
                port = self.port()
                if get_settings().pg_port is None and _port_in_use(port):
                    port = _free_port()
                    self.port_file.write_text(f"{port}\n")
                # Durable, as a street office's only copy of its reports must be: every commit is on disk
                # before it is answered (fsync and synchronous_commit keep PostgreSQL's defaults).
                opts = (
                    f"-p {port} -k {self.run_dir} -c listen_addresses=127.0.0.1 "
                    "-c shared_buffers=256MB -c max_connections=100"
                )
                self._run(
                    str(bindir / "pg_ctl"),
                    "start",
                    "-w",
                    "-t",
                    "60",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-o",
                    opts,
                )
            self.ensure_database(get_settings().database_name)
        return self.url()

    def stop(self) -> bool:
        """Stop the server; returns whether it was running."""
        if not self.running():
            return False
        self._run(str(pg_bindir() / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.data_dir))
        return True

    def ensure_database(self, name: str) -> None:
        ensure_database(self.url("postgres"), name)


def ensure_database(admin_url: str, name: str, *, fresh: bool = False) -> None:
    """Create database ``name`` with PostGIS and pgRouting (dropping it first when ``fresh``)."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        for attempt in range(30):
            try:
                conn = admin.connect()
                break
            except Exception:
                if attempt == 29:
                    raise
                time.sleep(0.5)
        with conn:
            quoted = conn.dialect.identifier_preparer.quote(name)
            if fresh:
                conn.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
            if not exists:
                conn.execute(text(f"CREATE DATABASE {quoted}"))
    finally:
        admin.dispose()
    target = create_engine(make_url(admin_url).set(database=name), isolation_level="AUTOCOMMIT")
    try:
        with target.connect() as conn:
            for ext in EXTENSIONS:
                conn.execute(text(f"CREATE EXTENSION IF NOT EXISTS {ext}"))
    finally:
        target.dispose()
