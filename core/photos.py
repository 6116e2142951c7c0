"""Photos of a case (issue 17): what may be uploaded, by whom and when, and who may look at one.

A photo is checked from its bytes with Pillow (JPEG, PNG or WebP; its size and pixel count limited, so a
decompression bomb is refused before it is decoded), then re-encoded so that no EXIF GPS (a photo of
someone's home says where it is) nor any other metadata reaches the stored copy, and named by the SHA-256 of
that copy: the same photo twice is stored once. Every check runs before anything is written.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import Connection

from core.access import Principal, incident_roles, visible_incidents
from core.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge, Unprocessable
from core.incidents.views import fetch, photo_entries
from core.vocabulary import FINISHED
from geo.settings import Settings
from store import photos as store
from store.incidents import PUBLIC

STAGES = ("before", "after")
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
GPS_IFD = 0x8825  # the EXIF tag holding the GPS block
SHA256 = re.compile(r"[0-9a-f]{64}")
# An after-photo shows the work done: uploaded up to resolving, not once the case is resolved or closed.


@dataclass(frozen=True)
class Upload:
    """One file as the request carried it."""

    filename: str
    content: bytes


@dataclass(frozen=True)
class Prepared:
    """A checked photo ready to store: its cleaned bytes, their name and a thumbnail."""

    sha256: str
    media_type: str
    content: bytes
    thumb: bytes
    width: int
    height: int


def prepare(files: list[Upload], settings: Settings) -> list[Prepared]:
    """Check and clean every file (nothing is written): a refusal names the file and what is wrong."""
    if not files:
        raise Invalid("没有照片 no photo: send one or more files in the 'photo' field (multipart/form-data)")
    if len(files) > settings.max_photos_per_stage:
        raise TooLarge(
            f"照片过多 too many photos: {len(files)} sent, at most {settings.max_photos_per_stage} per stage"
        )
    return [_prepare_one(f, settings) for f in files]


def _prepare_one(upload: Upload, settings: Settings) -> Prepared:
    name, size = upload.filename or "photo", len(upload.content)
    if size > settings.max_photo_bytes:
        raise TooLarge(f"照片过大 photo {name!r} is {size} bytes; at most {settings.max_photo_bytes}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(upload.content), formats=tuple(FORMATS))
            width, height = image.size
            if width * height > settings.max_photo_pixels:
                raise Unprocessable(
                    f"照片像素过多 photo {name!r} is {width}×{height} pixels; "
                    f"at most {settings.max_photo_pixels} pixels"
                )
            kind = image.format or ""
            image.load()
            content = _cleaned(image, kind)
            thumb = _thumbnail(image, settings.thumb_px)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Unprocessable(
            f"照片像素过多 photo {name!r} is refused as a decompression bomb: {exc}"
        ) from None
    except UnidentifiedImageError:
        raise Unprocessable(f"不是可用的照片 {name!r} is not a JPEG, PNG or WebP image") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise Unprocessable(f"照片无法读取 {name!r} cannot be read as an image: {exc}") from None
    return Prepared(hashlib.sha256(content).hexdigest(), FORMATS[kind], content, thumb, width, height)


def _cleaned(image: Image.Image, kind: str) -> bytes:
    """The image re-encoded in its own format with its EXIF but for the GPS block, and nothing else."""
    exif = image.getexif()
    exif.pop(GPS_IFD, None)
    out = io.BytesIO()
    options = {"quality": 92} if kind in ("JPEG", "WEBP") else {}
    image.save(out, kind, exif=exif.tobytes(), **options)
    return out.getvalue()


def _thumbnail(image: Image.Image, longest_px: int) -> bytes:
    small = ImageOps.exif_transpose(image.copy()) or image.copy()
    small.thumbnail((longest_px, longest_px))
    out = io.BytesIO()
    small.convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


def require_uploader(p: Principal, inc: dict, stage: str) -> None:
    """The reporter adds 'before' photos to their own case; the assignee or dispatcher 'after' photos, up
    to resolving it."""
    if stage not in STAGES:
        raise Invalid(f"stage {stage!r} must be one of: {', '.join(STAGES)}")
    roles = incident_roles(p, inc)
    if stage == "before" and not ("reporter" in roles or inc["reporter_token_id"] == p.token_id):
        raise Forbidden("'before' photos are added by the case's reporter 现场照片由报事人上传")
    if stage == "after" and not roles & {"assignee", "dispatcher"}:
        raise Forbidden("'after' photos are added by the case's assignee or dispatcher 处置照片由承办人上传")
    if inc["status"] in FINISHED:
        raise Conflict(
            f"案件已{inc['status']} the case is {inc['status']}: photos are added before resolving"
        )


def attach(
    conn: Connection,
    p: Principal,
    incident_id: int,
    stage: str,
    photos: list[Prepared],
    *,
    now: datetime,
    settings: Settings,
) -> list[dict]:
    """Store checked photos on a case (files, then rows, in the caller's transaction)."""
    had = store.count_photos(conn, incident_id, stage)
    if had + len(photos) > settings.max_photos_per_stage:
        raise Conflict(
            f"照片过多 the case has {had} {stage} photos; {len(photos)} more would pass "
            f"{settings.max_photos_per_stage}"
        )
    root = settings.var_dir
    for ph in photos:
        store.write_file(store.photo_path(root, ph.sha256, ph.media_type), ph.content)
        store.write_file(store.thumb_path(root, ph.sha256), ph.thumb)
        store.insert_photo(
            conn,
            {
                "incident_id": incident_id,
                "stage": stage,
                "sha256": ph.sha256,
                "media_type": ph.media_type,
                "size_bytes": len(ph.content),
                "width": ph.width,
                "height": ph.height,
                "uploaded_by": p.actor,
                "uploaded_at": now,
            },
        )
    return photo_entries(store.photos_of(conn, incident_id))


def upload(
    conn: Connection,
    p: Principal,
    incident_id: int,
    stage: str,
    files: list[Upload],
    *,
    now: datetime,
    settings: Settings,
) -> list[dict]:
    """Photos added to a case after intake; the case's row is locked so two uploads count one after the
    other."""
    inc = fetch(conn, incident_id, p, lock=True)
    require_uploader(p, inc, stage)
    return attach(conn, p, incident_id, stage, prepare(files, settings), now=now, settings=settings)


def photo_file(
    conn: Connection, p: Principal | None, sha256: str, settings: Settings, *, thumb: bool
) -> tuple[Path, str]:
    """A photo's file and media type, for staff who see one of its cases, their reporter, or anyone when a
    case of it is of a category whose text and photos are public (``public_text``, as Open311 shows them);
    404 otherwise (existence is not leaked)."""
    if not SHA256.fullmatch(sha256):
        raise NotFound(f"没有这张照片 no photo {sha256[:80]!r}: a photo is named by 64 lowercase hex digits")
    media = store.visible_photo(conn, sha256, visible_incidents(p)) if p is not None else None
    media = media or store.visible_photo(conn, sha256, PUBLIC, shown_text=True)
    if media is None:
        raise NotFound(f"没有这张照片 no photo {sha256} that you can see")
    root = settings.var_dir
    path = store.thumb_path(root, sha256) if thumb else store.photo_path(root, sha256, media)
    if not path.is_file():
        raise NotFound(f"照片文件缺失 the file of photo {sha256} is missing from {root}")
    return path, "image/jpeg" if thumb else media
