"""/api/v1/incidents/{id}/photos and /api/v1/photos/{sha256}: case photos over HTTP (thin: read the
multipart files, call core.photos, answer)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from api.http.context import connection, now, principal, transaction
from api.http.openapi import contract
from core.errors import Invalid
from core.photos import Upload, photo_file, upload

bp = Blueprint("photos", __name__, url_prefix="/api/v1")
TAG = "报事 incidents"
PHOTO_FIELD = "photo"


# The routes that take photos: their multipart bodies may carry a full stage of photos.
UPLOAD_ENDPOINTS = ("photos.add_photos", "incidents.report")


def allow_photo_bodies() -> None:
    """Before anything reads the form (``check_request_text`` does): a photo upload may be larger than the
    service's usual request limit, up to a full stage of photos at their largest."""
    if request.endpoint in UPLOAD_ENDPOINTS and request.mimetype == "multipart/form-data":
        settings = current_app.config["SETTINGS"]
        request.max_content_length = (
            settings.max_photos_per_stage * (settings.max_photo_bytes + 1) + settings.max_request_bytes
        )


def photo_uploads() -> list[Upload]:
    """The request's ``photo`` files, read up to one byte past the per-photo limit (core says what is too
    large)."""
    settings = current_app.config["SETTINGS"]
    if request.mimetype != "multipart/form-data":
        raise Invalid("photos are sent as multipart/form-data with one or more 'photo' files")
    return [
        Upload(f.filename or "photo", f.stream.read(settings.max_photo_bytes + 1))
        for f in request.files.getlist(PHOTO_FIELD)
    ]


@bp.post("/incidents/<int:incident_id>/photos")
@contract(TAG)
def add_photos(incident_id: int):
    """Photos of a case: ``stage=before`` by its reporter, ``stage=after`` by who handles it, up to resolving."""
    p = principal()
    files = photo_uploads()
    stage = request.form.get("stage", "")
    with transaction() as conn:
        photos = upload(
            conn, p, incident_id, stage, files, now=now(), settings=current_app.config["SETTINGS"]
        )
    response = jsonify({"incident": incident_id, "photos": photos})
    response.status_code = 201
    return response


def _send(sha256: str, *, thumb: bool):
    p = principal(required=False)
    path, media = photo_file(connection(), p, sha256, current_app.config["SETTINGS"], thumb=thumb)
    # Read whole (at most the photo limit): spectree reads the answer's body, which a streamed file refuses.
    response = Response(path.read_bytes(), mimetype=media)
    response.headers["Cache-Control"] = "private, max-age=3600"  # a private case's photo stays private
    return response


@bp.get("/photos/<sha256>")
@contract(TAG, security="optional")
def photo(sha256: str):
    """A photo, for staff who see its case, its reporter, or anyone when the case's category is public."""
    return _send(sha256, thumb=False)


@bp.get("/photos/<sha256>/thumb")
@contract(TAG, security="optional")
def thumb(sha256: str):
    """The photo's thumbnail (JPEG, longest side 320 px), on the same terms as the photo."""
    return _send(sha256, thumb=True)
