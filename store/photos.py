"""Case photos in the database and on disk: a row per photo of a case and stage, and the files themselves
under the data folder (``<var>/photos/ab/abcdef….jpg`` and ``….thumb.jpg``), named by their SHA-256.

The files live here, in ``store``, not in ``boundaries``: they are the service's own stored state, written
inside the same request as their rows and read back by the same rules, and ``core`` (which decides what
is written) may import ``store`` but not ``boundaries``. A file is written before its row's transaction
commits; a file whose row rolled back is harmless (the same bytes would be named the same) and never served,
since every read goes through a row.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sqlalchemy import Connection, text

from store.incidents import Visible, visibility_sql

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def photo_path(root: Path, sha256: str, media_type: str) -> Path:
    """Where a photo's file lies: a folder per first two hex digits keeps folders small."""
    return root / "photos" / sha256[:2] / f"{sha256}.{EXTENSIONS[media_type]}"


def thumb_path(root: Path, sha256: str) -> Path:
    return root / "photos" / sha256[:2] / f"{sha256}.thumb.jpg"


def write_file(path: Path, content: bytes) -> None:
    """Write once, atomically (a temporary file renamed): the same content twice is stored once."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def count_photos(conn: Connection, incident_id: int, stage: str) -> int:
    return conn.execute(
        text("SELECT count(*) FROM incident_photos WHERE incident_id = :i AND stage = :s"),
        {"i": incident_id, "s": stage},
    ).scalar_one()


def insert_photo(conn: Connection, row: dict) -> None:
    """One photo of a case and stage; the same photo again on the same case and stage adds nothing."""
    conn.execute(
        text("""
        INSERT INTO incident_photos (incident_id, stage, sha256, media_type, size_bytes, width, height,
                                     uploaded_by, uploaded_at)
        VALUES (:incident_id, :stage, :sha256, :media_type, :size_bytes, :width, :height, :uploaded_by,
                :uploaded_at)
        ON CONFLICT (incident_id, stage, sha256) DO NOTHING"""),
        row,
    )


def photos_of(conn: Connection, incident_id: int) -> list[dict]:
    """A case's photos, oldest first."""
    rows = conn.execute(
        text("""
        SELECT stage, sha256, media_type, size_bytes, width, height, uploaded_at FROM incident_photos
        WHERE incident_id = :i ORDER BY uploaded_at, id"""),
        {"i": incident_id},
    ).mappings()
    return [dict(r) for r in rows]


def has_after_photo(conn: Connection, incident_id: int) -> bool:
    return conn.execute(
        text("SELECT EXISTS (SELECT 1 FROM incident_photos WHERE incident_id = :i AND stage = 'after')"),
        {"i": incident_id},
    ).scalar_one()


def after_photo_required(conn: Connection, category_code: str) -> bool:
    return bool(
        conn.execute(
            text("SELECT after_photo_required FROM categories WHERE code = :c"), {"c": category_code}
        ).scalar()
    )


def visible_photo(conn: Connection, sha256: str, visible: Visible, *, shown_text: bool = False) -> str | None:
    """The media type of a photo on some case ``visible`` admits (with ``shown_text``, only a case whose
    category shows its text and photos to the public); None when there is none."""
    where, params = visibility_sql(visible)
    text_rule = "AND EXISTS (SELECT 1 FROM categories c WHERE c.code = i.category_code AND c.public_text)"
    return conn.execute(
        text(f"""
        SELECT ph.media_type FROM incident_photos ph JOIN incidents i ON i.id = ph.incident_id
        WHERE ph.sha256 = :sha AND {where} {text_rule if shown_text else ""} LIMIT 1"""),  # noqa: S608
        {"sha": sha256, **params},
    ).scalar()
