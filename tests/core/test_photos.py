"""Case photos (issue 17): a resident reports with a photo, the grid worker adds one of the work done; the
files are checked from their bytes, cleaned of GPS, stored once by content, and shown only to who may see
the case (anyone only where the category shows its text and photos to the public, as Open311 does)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from tests.workflow import World, world  # noqa: F401 (the fixture)

GPS = 0x8825


def jpeg(colour=(200, 40, 40), size=(640, 480), *, gps: bool = False) -> bytes:
    image = Image.new("RGB", size, colour)
    exif = Image.Exif()
    exif[0x010F] = "Wangge test camera"  # Make
    if gps:
        exif[GPS] = {1: "N", 2: (41.0, 7.0, 12.0), 3: "E", 4: (122.0, 4.0, 1.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that claims huge dimensions: a decompression bomb's shape, never decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def photo_world(world: World, tmp_path: Path) -> World:  # noqa: F811
    world.app.config["SETTINGS"] = dataclasses.replace(world.app.config["SETTINGS"], var_dir=tmp_path)
    world.var = tmp_path
    return world


def auth(token: str | None) -> dict:
    return {"Authorization": f"Bearer {token}"} if token else {}


def report_with_photo(w: World, token: str, place, category: str, *photos: tuple[bytes, str]):
    form = {"lon": str(place.lon), "lat": str(place.lat), "category": category, "description": "门口垃圾"}
    form["photo"] = [(io.BytesIO(b), name) for b, name in photos]
    return w.client.post(
        "/api/v1/incidents", data=form, headers=auth(token), content_type="multipart/form-data"
    )


def add_photos(w: World, token: str, incident_id: int, stage: str, *photos: tuple[bytes, str]):
    form = {"stage": stage, "photo": [(io.BytesIO(b), name) for b, name in photos]}
    return w.client.post(
        f"/api/v1/incidents/{incident_id}/photos",
        data=form,
        headers=auth(token),
        content_type="multipart/form-data",
    )


def stored_files(w: World) -> list[Path]:
    return (
        sorted(p for p in (w.var / "photos").rglob("*") if p.is_file()) if (w.var / "photos").exists() else []
    )


def photo_rows(w: World) -> int:
    return w.sql("SELECT count(*) FROM incident_photos")[0][0]


def test_a_photo_on_intake_and_after_the_work_stored_once_cleaned_with_a_thumbnail(photo_world: World):
    w, place = photo_world, photo_world.places[0]
    citizen = w.user("张三", "citizen", phone="13812345678")
    worker = w.user("网格员", "grid_worker", person=place.worker_id)
    before = jpeg(gps=True, size=(1600, 1200))
    r = report_with_photo(w, citizen, place, "A01", (before, "门口.jpg"))
    assert r.status_code == 201, r.get_json()
    inc = r.get_json()
    assert [p["stage"] for p in inc["photos"]] == ["before"]
    url, thumb_url = inc["photos"][0]["url"], inc["photos"][0]["thumb_url"]
    sha = url.rsplit("/", 1)[1]

    stored = w.get(url, citizen)
    assert stored.status_code == 200 and stored.mimetype == "image/jpeg"
    assert hashlib.sha256(stored.data).hexdigest() == sha  # named by its content
    exif = Image.open(io.BytesIO(stored.data)).getexif()
    assert GPS not in exif and exif[0x010F] == "Wangge test camera"  # GPS gone, the rest kept
    assert GPS in Image.open(io.BytesIO(before)).getexif()  # (it was there)
    small = Image.open(io.BytesIO(w.get(thumb_url, citizen).data))
    assert small.format == "JPEG" and max(small.size) == 320

    # The same bytes again, on the same case and on another: one file (and its thumbnail) on disk.
    assert add_photos(w, citizen, inc["id"], "before", (before, "again.jpg")).status_code == 201
    assert report_with_photo(w, citizen, place, "A01", (before, "x.jpg")).status_code == 201
    assert len(stored_files(w)) == 2 and photo_rows(w) == 2

    w.step(worker, inc["id"], "accept")
    w.step(worker, inc["id"], "start")
    assert add_photos(w, citizen, inc["id"], "after", (jpeg((0, 200, 0)), "a.jpg")).status_code == 403
    done = add_photos(w, worker, inc["id"], "after", (jpeg((0, 200, 0)), "清理后.jpg"))
    assert done.status_code == 201, done.get_json()
    assert [p["stage"] for p in done.get_json()["photos"]] == ["before", "after"]
    view = w.get(f"/api/v1/incidents/{inc['id']}", worker).get_json()
    assert [p["stage"] for p in view["photos"]] == ["before", "after"]


def test_bad_files_are_refused_and_nothing_is_written(photo_world: World):
    w, place = photo_world, photo_world.places[0]
    citizen = w.user("张三", "citizen", phone="13812345678")
    inc = w.report(citizen, place, "A01").get_json()
    text_file = add_photos(
        w, citizen, inc["id"], "before", (b"just some text, not a photo\n" * 40, "fake.jpg")
    )
    assert text_file.status_code == 422 and "fake.jpg" in text_file.get_json()["detail"]
    assert text_file.mimetype == "application/problem+json"
    # A 12 MB image (an uncompressed PNG): over the 10 MB limit.
    noise = Image.frombytes("RGB", (2000, 2000), bytes(range(250)) * (2000 * 2000 * 3 // 250))
    big = io.BytesIO()
    noise.save(big, "PNG", compress_level=0)
    assert len(big.getvalue()) > 12_000_000
    too_big = add_photos(w, citizen, inc["id"], "before", (big.getvalue(), "big.png"))
    assert too_big.status_code == 413 and "10000000" in too_big.get_json()["detail"]
    bomb = add_photos(w, citizen, inc["id"], "before", (png_header_only(60_000, 60_000), "bomb.png"))
    assert bomb.status_code == 422 and "decompression bomb" in bomb.get_json()["detail"], bomb.get_json()
    # Under Pillow's own bomb limit, over the service's 40 megapixels: refused before it is decoded.
    wide = add_photos(w, citizen, inc["id"], "before", (png_header_only(8000, 8000), "wide.png"))
    assert wide.status_code == 422 and "8000×8000" in wide.get_json()["detail"], wide.get_json()
    # A good photo beside a bad one: the whole request is refused.
    mixed = report_with_photo(w, citizen, place, "A01", (jpeg(), "ok.jpg"), (b"GIF89a", "x.gif"))
    assert mixed.status_code == 422
    assert add_photos(w, citizen, inc["id"], "sideways", (jpeg(), "a.jpg")).status_code == 400
    assert w.sql("SELECT count(*) FROM incidents")[0][0] == 1
    assert photo_rows(w) == 0 and stored_files(w) == []


def test_a_private_case_photo_is_seen_by_staff_and_its_reporter_only(photo_world: World):
    w, place = photo_world, photo_world.places[0]
    reporter = w.user("李四", "citizen", phone="13900001111")
    other = w.user("王五", "citizen", phone="13900002222")
    worker = w.user("网格员", "grid_worker", person=place.worker_id)
    private = report_with_photo(w, reporter, place, "A09", (jpeg((9, 9, 9)), "王奶奶家门口.jpg")).get_json()
    public = report_with_photo(w, reporter, place, "A01", (jpeg((1, 2, 3)), "垃圾.jpg")).get_json()
    for photo in (private["photos"][0]["url"], private["photos"][0]["thumb_url"]):
        assert w.get(photo).status_code == 404
        assert w.get(photo, other).status_code == 404
        assert w.get(photo, reporter).status_code == 200
        assert w.get(photo, worker).status_code == 200
        assert w.get(photo, w.district).status_code == 200
    # A01 (litter) is a public category whose text and photos are not: its photo is for staff and reporter.
    assert w.get(public["photos"][0]["url"]).status_code == 404
    assert w.get(public["photos"][0]["thumb_url"], other).status_code == 404
    assert w.get(public["photos"][0]["url"], reporter).status_code == 200
    shown = report_with_photo(w, reporter, place, "A03", (jpeg((4, 5, 6)), "井盖.jpg")).get_json()
    assert w.get(shown["photos"][0]["url"]).status_code == 200  # A03 shows its text and photos
    assert w.get(shown["photos"][0]["thumb_url"], other).status_code == 200
    # Open311 gives the shown case's photo as its media_url, and none for the other.
    listed = {r["service_request_id"]: r for r in w.get("/open311/v2/requests.json").get_json()}
    assert listed[str(shown["id"])]["media_url"].endswith(shown["photos"][0]["url"])
    assert listed[str(public["id"])]["media_url"] is None and str(private["id"]) not in listed
    assert w.get("/api/v1/photos/" + "0" * 64).status_code == 404
    assert w.get("/api/v1/photos/not-a-hash").status_code == 404


def test_resolve_waits_for_an_after_photo_where_the_category_requires_one(photo_world: World):
    w, place = photo_world, photo_world.places[0]
    a01 = next(c for c in w.get("/api/v1/categories").get_json()["categories"] if c["code"] == "A01")
    edit = {"categories": [{**a01, "after_photo_required": True}], "departments": []}
    assert w.post("/api/v1/categories", w.district, edit).status_code == 200, edit
    citizen = w.user("张三", "citizen", phone="13812345678")
    worker = w.user("网格员", "grid_worker", person=place.worker_id)
    inc = w.report(citizen, place, "A01").get_json()
    w.step(worker, inc["id"], "accept")
    w.step(worker, inc["id"], "start")
    refused = w.step(worker, inc["id"], "resolve")
    assert refused.status_code == 422 and "after" in refused.get_json()["detail"]
    assert w.get(f"/api/v1/incidents/{inc['id']}", worker).get_json()["status"] == "in_progress"
    assert add_photos(w, worker, inc["id"], "after", (jpeg((0, 90, 0)), "好了.jpg")).status_code == 201
    assert w.step(worker, inc["id"], "resolve").get_json()["status"] == "resolved"
    late = add_photos(w, worker, inc["id"], "after", (jpeg((0, 91, 0)), "晚了.jpg"))
    assert late.status_code == 409


def test_at_most_six_photos_per_stage_of_a_case(photo_world: World):
    w, place = photo_world, photo_world.places[0]
    citizen = w.user("张三", "citizen", phone="13812345678")
    inc = w.report(citizen, place, "A01").get_json()
    seven = [(jpeg((n * 35, 250 - n * 35, 90), size=(64, 64)), f"{n}.jpg") for n in range(7)]
    assert add_photos(w, citizen, inc["id"], "before", *seven).status_code == 413
    assert add_photos(w, citizen, inc["id"], "before", *seven[:4]).status_code == 201
    over = add_photos(w, citizen, inc["id"], "before", *seven[4:])
    assert over.status_code == 409 and "4 before photos" in over.get_json()["detail"]
    assert add_photos(w, citizen, inc["id"], "before", *seven[4:6]).status_code == 201
    assert photo_rows(w) == 6
