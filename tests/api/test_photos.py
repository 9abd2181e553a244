"""Photos with POST requests: multipart files and data: URLs, stripped of every kind of metadata, stored, served,
listed, hidden with their request; every bad upload a precise 400 in both formats."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from open311.intake.moderation import hide_request, unhide_request
from open311.media.store import MediaStore, MediaStoreError
from open311.services import Services
from open311.storage.models import RequestMedia, ServiceRequest
from tests.helpers import GRAFFITI, errors_of, json_of, xml_of
from tests.images import (
    HOME,
    HTML,
    PDF,
    assert_clean,
    jpeg_with_gps,
    metadata_of,
    photo_bytes,
    png_bomb,
    png_header_only,
    png_with_text,
    truncated_jpeg,
    webp_with_exif,
)
from tests.integration.live import serve

Files = dict[str, Any]


def post(client: FlaskClient, key: str, fmt: str = "json", files: Files | None = None,
         **fields: Any) -> Any:
    """POST GRAFFITI (plus fields) as multipart with the given files: {field: (bytes, filename) or a list}."""
    data: dict[str, Any] = {**GRAFFITI, **fields}
    for name, value in (files or {}).items():
        items = value if isinstance(value, list) else [value]
        data[name] = [(io.BytesIO(content), filename) for content, filename in items]
    return client.post(f"/open311/v2/requests.{fmt}", data=data, content_type="multipart/form-data",
                       headers={"Authorization": f"Bearer {key}"})


def extended(client: FlaskClient, request_id: str) -> dict[str, Any]:
    """GET requests/{id}.json?extensions=true: the one request."""
    (entry,) = json_of(client.get(f"/open311/v2/requests/{request_id}.json?extensions=true"))
    return dict(entry)


def stored_files(tmp_path: Path) -> list[Path]:
    """Every file in the test's media directory."""
    root = tmp_path / "media"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def request_count(gateway: Services) -> int:
    with gateway.session() as session, session.begin():
        return int(session.scalar(select(func.count()).select_from(ServiceRequest)) or 0)


def test_a_jpeg_with_gps_is_stored_and_served_over_http_without_any_metadata(
        app: Flask, api_key: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    original = jpeg_with_gps(orientation=6)  # rotated 90 degrees: the camera was held upright
    assert metadata_of(original)["gps"] and metadata_of(original)["markers"]  # the test photo has it all
    caplog.set_level(logging.DEBUG)
    with serve(app) as api:
        reply = requests.post(f"{api}/requests.json", data={**GRAFFITI}, timeout=10,
                              files={"media": ("IMG_0042.jpg", original, "image/jpeg")},
                              headers={"Authorization": f"Bearer {api_key}"})
        assert reply.status_code == 200, reply.text
        (answer,) = reply.json()
        (entry,) = requests.get(f"{api}/requests/{answer['service_request_id']}.json", timeout=10,
                                params={"extensions": "true"}).json()
        url = entry["media_url"]
        assert entry["extended_attributes"]["media_urls"] == [url]
        assert url.startswith(api.removesuffix("open311/v2") + "media/") and url.endswith(".jpg")
        served = requests.get(url, timeout=10)
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Cache-Control"] == "public, max-age=604800, immutable"
    assert_clean(served.content)
    image = Image.open(io.BytesIO(served.content))
    assert image.format == "JPEG" and image.size == (48, 64)  # the orientation was applied before stripping
    red, blue = image.convert("RGB").getpixel((24, 6)), image.convert("RGB").getpixel((24, 58))
    assert red[0] > 150 > red[2] and blue[2] > 150 > blue[0]
    (on_disk,) = stored_files(tmp_path)
    assert on_disk.read_bytes() == served.content
    # The original, with its metadata, is nowhere: not in the media store, the database file or the logs.
    for path in tmp_path.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert original not in content and HOME.encode() not in content, path
    assert not any(HOME in r.getMessage() or "TestCam" in r.getMessage() for r in caplog.records)


# (format sent, what it is stored as): the sizes are a 12 Mpx phone photo (4:3) and a 6 Mpx one (3:2).
STORED_AS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "JPEG"}


@pytest.mark.parametrize("kind", list(STORED_AS))
@pytest.mark.parametrize(("size", "orientation", "expected"), [
    # Above the bound: exactly OPEN311_MEDIA_MAX_EDGE long, never halved (2312x1736); 4624x3472 is not quite
    # 4:3, so the kept aspect ratio gives 3472 * 4096 / 4624 = 3075.5 -> 3076 (not 3072).
    ((4624, 3472), 1, (4096, 3076)),
    ((3000, 2000), 1, (3000, 2000)),  # within the bound: the full resolution is kept
    ((4624, 3472), 6, (3076, 4096)),  # a portrait shot (EXIF orientation 6): rotated, then still 4096 long
    ((3000, 2000), 8, (2000, 3000)),
])
def test_photos_keep_their_resolution_up_to_the_max_edge_in_every_format(
        client: FlaskClient, api_key: str, tmp_path: Path, kind: str, size: tuple[int, int], orientation: int,
        expected: tuple[int, int]) -> None:
    reply = post(client, api_key, files={"media": (photo_bytes(size, kind, orientation), f"IMG.{kind.lower()}")})
    assert reply.status_code == 200, reply.data
    url = extended(client, json_of(reply)[0]["service_request_id"])["media_url"]
    served = client.get(url.removeprefix("http://localhost")).data
    (on_disk,) = stored_files(tmp_path)
    assert on_disk.read_bytes() == served
    with Image.open(on_disk) as image:
        (width, height), stored_format = image.size, image.format
    assert stored_format == STORED_AS[kind]
    assert (width, height) == expected  # the orientation applied, the aspect ratio kept
    assert abs(width / height - (size[0] / size[1]) ** (1 if orientation == 1 else -1)) < 1e-3
    assert_clean(served)


def test_png_text_chunks_and_webp_exif_are_stripped_and_several_photos_keep_their_order(
        client: FlaskClient, api_key: str) -> None:
    reply = post(client, api_key, files={"photo1": (png_with_text(), "chart.png"),
                                         "photo2": (webp_with_exif(), "street.webp"),
                                         "media[]": [(jpeg_with_gps(), "a.jpg"), (jpeg_with_gps((30, 20)), "b.jpg")]})
    assert reply.status_code == 200, reply.data
    entry = extended(client, json_of(reply)[0]["service_request_id"])
    urls = entry["extended_attributes"]["media_urls"]
    assert len(urls) == 4 and len(set(urls)) == 4 and entry["media_url"] == urls[0]
    served = [client.get(url.removeprefix("http://localhost")) for url in urls]
    assert [s.content_type for s in served] == ["image/png", "image/jpeg", "image/jpeg", "image/jpeg"]
    assert [Image.open(io.BytesIO(s.data)).size for s in served] == [(40, 30), (48, 32), (64, 48), (30, 20)]
    for response in served:
        assert_clean(response.data)


def test_data_urls_in_json_and_form_bodies_and_a_link_beside_them(client: FlaskClient, api_key: str) -> None:
    png = "data:image/png;base64," + base64.b64encode(png_with_text()).decode()
    body = {**{k: v for k, v in GRAFFITI.items() if not k.startswith("attribute")},
            "attributes": {"surface_type": "wall", "property_type": "public"},
            "media_url": [png, "https://photos.example.org/wall.jpg"]}
    reply = client.post("/open311/v2/requests.json", json=body, headers={"Authorization": f"Bearer {api_key}"})
    assert reply.status_code == 200, reply.data
    entry = extended(client, json_of(reply)[0]["service_request_id"])
    stored, link = entry["extended_attributes"]["media_urls"]
    assert entry["media_url"] == stored and link == "https://photos.example.org/wall.jpg"
    assert_clean(client.get(stored.removeprefix("http://localhost")).data)
    # Form-encoded: an unescaped "+" of the base64 arrives as a space, and is read back as "+".
    jpeg = "data:image/jpeg;base64," + base64.b64encode(jpeg_with_gps()).decode()
    reply = client.post("/open311/v2/requests.xml", data=f"{_form(GRAFFITI)}&media_url={jpeg.replace('/', '%2F')}",
                        content_type="application/x-www-form-urlencoded",
                        headers={"Authorization": f"Bearer {api_key}"})
    assert reply.status_code == 200, reply.data
    request_id = xml_of(reply).findtext("request/service_request_id")
    (url,) = extended(client, str(request_id))["extended_attributes"]["media_urls"]
    assert_clean(client.get(url.removeprefix("http://localhost")).data)


def _form(fields: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(fields)


BAD_UPLOADS = {
    "bomb": (lambda: png_bomb(), "bomb.png",
             "media ('bomb.png'): the image declares 900000000 pixels, more than the 50000000 allowed: refused "
             "unread as a possible decompression bomb; send a smaller photo."),
    "bomb-header": (lambda: png_header_only(20_000, 5_000), "big.png",
                    "media ('big.png'): the image declares 100000000 (20000x5000) pixels, more than the 50000000 "
                    "allowed: refused unread as a possible decompression bomb; send a smaller photo."),
    "pdf": (lambda: PDF, "scan.jpg",
            "media ('scan.jpg'): it is not a JPEG, PNG or WebP image: its content is a PDF document."),
    "html": (lambda: HTML, "page.jpg", "media ('page.jpg'): it is not a JPEG, PNG or WebP image: its content is HTML."),
    "truncated": (truncated_jpeg, "cut.jpg",
                  "media ('cut.jpg'): the image is truncated or corrupt (its pixels cannot be decoded)."),
    "oversized": (lambda: b"\xff\xd8\xff" + bytes(100_000), "huge.jpg",
                  "media ('huge.jpg'): it is 100003 bytes, more than the 100000 bytes allowed per photo."),
}


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("kind", list(BAD_UPLOADS))
def test_bad_uploads_get_a_precise_400_and_nothing_is_stored(make_app: Callable[..., Flask], tmp_path: Path,
                                                             api_key_factory: Callable[[Flask], str], fmt: str,
                                                             kind: str) -> None:
    # The byte limit is an operator setting (10 MiB by default); a small one keeps the test light.
    app = make_app(OPEN311_MEDIA_MAX_BYTES=100_000 if kind == "oversized" else 10 * 1024 * 1024)
    make, filename, message = BAD_UPLOADS[kind]
    reply = post(app.test_client(), api_key_factory(app), fmt, files={"media": (make(), filename)})
    assert reply.status_code == 400
    assert errors_of(reply, fmt) == [(400, message)]
    assert stored_files(tmp_path) == [] and request_count(app.extensions["open311"]) == 0


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_count_field_and_data_url_problems(client: FlaskClient, api_key: str, fmt: str) -> None:
    photo = (jpeg_with_gps(), "a.jpg")
    reply = post(client, api_key, fmt, files={"media": [photo] * 6})
    assert errors_of(reply, fmt) == [(400, "At most 5 photos may be sent with a request; 6 were sent.")]
    reply = post(client, api_key, fmt, files={"document": (PDF, "x.pdf")})
    assert errors_of(reply, fmt) == [(400, "File field 'document' is not accepted: send photos as media, media[] "
                                           "or photo1, photo2, ...")]
    reply = post(client, api_key, fmt, media_url="data:image/jpeg,notbase64")
    assert errors_of(reply, fmt) == [(400, "media_url: only base64 data: URLs are accepted "
                                           "(data:image/jpeg;base64,<data>).")]
    reply = post(client, api_key, fmt, media_url="data:image/jpeg;base64,@@@")
    assert errors_of(reply, fmt) == [(400, "media_url: the base64 content of the data: URL is malformed.")]
    # Several bad photos and a bad field: every problem at once, each photo named (a repeated part is numbered).
    reply = post(client, api_key, fmt, lat="north", files={"media": [(PDF, "a.jpg"), photo, (b"", "c.jpg")]})
    assert errors_of(reply, fmt) == [
        (400, "lat must be a decimal number (WGS84), got 'north'."),
        (400, "media #1 ('a.jpg'): it is not a JPEG, PNG or WebP image: its content is a PDF document."),
        (400, "media #3 ('c.jpg'): the file is empty.")]


def test_an_empty_file_input_is_no_photo_and_uploads_can_be_switched_off(
        make_app: Callable[..., Flask], api_key_factory: Callable[[Flask], str]) -> None:
    app = make_app(OPEN311_MEDIA_MAX_FILES=0)
    client, key = app.test_client(), api_key_factory(app)
    reply = post(client, key, files={"media": (b"", "")})  # a browser form whose file input was left empty
    assert reply.status_code == 200, reply.data
    reply = post(client, key, files={"media": (jpeg_with_gps(), "a.jpg")})
    assert errors_of(reply, "json") == [(400, "Photo uploads are not accepted here; give media_url as a link "
                                              "instead.")]
    reply = post(client, key, media_url="https://photos.example.org/wall.jpg")
    assert reply.status_code == 200


def test_a_hidden_request_hides_its_photos(client: FlaskClient, api_key: str, gateway: Services) -> None:
    reply = post(client, api_key, files={"media": (jpeg_with_gps(), "a.jpg")})
    request_id = json_of(reply)[0]["service_request_id"]
    url = extended(client, request_id)["media_url"].removeprefix("http://localhost")
    assert client.get(url).status_code == 200
    with gateway.session() as session:
        hide_request(session, int(request_id), "a face is recognisable", gateway.clock(), config=gateway.config)
    entry = extended(client, request_id)
    assert entry["media_url"] is None and entry["extended_attributes"]["media_urls"] == []
    assert errors_of(client.get(url), "xml") == [(404, "No photo at this address.")]
    with gateway.session() as session:
        unhide_request(session, int(request_id), gateway.clock())
    assert extended(client, request_id)["media_url"].endswith(url)
    assert client.get(url).status_code == 200


def test_served_photos_answer_conditional_gets_and_refuse_odd_names(client: FlaskClient, api_key: str) -> None:
    reply = post(client, api_key, files={"media": (png_with_text(), "a.png")})
    url = extended(client, json_of(reply)[0]["service_request_id"])["media_url"].removeprefix("http://localhost")
    first = client.get(url)
    assert first.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert client.head(url).status_code == 200
    for name in ("unknown" * 4 + ".jpg", "..%2F..%2Fetc%2Fpasswd", "x.svg", url.rsplit("/", 1)[1] + ".jpg"):
        assert client.get(f"/media/{name}").status_code == 404


def test_idempotent_retries_store_one_photo_and_another_photo_is_another_request(
        client: FlaskClient, api_key: str, tmp_path: Path) -> None:
    headers = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": "photo-retry-1"}
    data = jpeg_with_gps()

    def send(content: bytes) -> Any:
        return client.post("/open311/v2/requests.json", headers=headers, content_type="multipart/form-data",
                           data={**GRAFFITI, "media": (io.BytesIO(content), "a.jpg")})

    first, second = send(data), send(data)
    assert second.headers["Idempotent-Replayed"] == "true" and json_of(first) == json_of(second)
    assert len(stored_files(tmp_path)) == 1
    other = send(jpeg_with_gps((30, 30)))
    assert other.status_code == 422 and len(stored_files(tmp_path)) == 1


class FailingStore(MediaStore):
    """Takes one photo, then fails; records what was deleted."""

    kind = "failing"

    def __init__(self) -> None:
        self.kept: dict[str, bytes] = {}

    def put(self, name: str, data: bytes, content_type: str) -> None:
        if self.kept:
            raise MediaStoreError("disk full")
        self.kept[name] = data

    def get(self, name: str) -> bytes | None:
        return self.kept.get(name)

    def delete(self, name: str) -> None:
        self.kept.pop(name, None)


def test_a_store_that_fails_answers_503_and_keeps_nothing(client: FlaskClient, api_key: str,
                                                          gateway: Services) -> None:
    gateway.media = store = FailingStore()
    reply = post(client, api_key, files={"media": [(jpeg_with_gps(), "a.jpg"), (png_with_text(), "b.png")]})
    assert reply.status_code == 503 and reply.headers["Retry-After"].isdigit()
    assert store.kept == {} and request_count(gateway) == 0


def test_uploads_never_touch_the_disk_before_processing(client: FlaskClient, api_key: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import werkzeug.formparser
    import werkzeug.wrappers.request

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an upload was spooled to a temporary file")

    monkeypatch.setattr(werkzeug.formparser, "SpooledTemporaryFile", refuse)
    monkeypatch.setattr(werkzeug.wrappers.request, "default_stream_factory", refuse)
    big = io.BytesIO()
    Image.effect_noise((700, 700), 90).convert("RGB").save(big, "PNG")  # ~1 MB: werkzeug spools above 500 kB
    assert big.tell() > 600_000
    big.seek(0)
    boundary, body = encode_multipart(MultiDict([*GRAFFITI.items(), ("media", FileStorage(big, "noise.png"))]))
    reply = client.post("/open311/v2/requests.json", data=body, headers={"Authorization": f"Bearer {api_key}"},
                        content_type=f"multipart/form-data; boundary={boundary}")
    assert reply.status_code == 200, reply.data


def test_media_rows_record_each_photo(client: FlaskClient, api_key: str, gateway: Services) -> None:
    reply = post(client, api_key, files={"media": (jpeg_with_gps(), "a.jpg")},
                 media_url="https://photos.example.org/x.jpg")
    with gateway.session() as session, session.begin():
        photo, link = session.scalars(select(RequestMedia).order_by(RequestMedia.position)).all()
    assert str(photo.request_id) == json_of(reply)[0]["service_request_id"]
    assert (photo.content_type, photo.width, photo.height, len(photo.sha256 or "")) == ("image/jpeg", 64, 48, 64)
    assert (link.name, link.url) == (None, "https://photos.example.org/x.jpg")


def test_openapi_documents_the_file_fields(client: FlaskClient) -> None:
    spec = json.loads(client.get("/openapi.json").data)
    multipart = spec["paths"]["/open311/v2/requests.{fmt}"]["post"]["requestBody"]["content"]["multipart/form-data"]
    properties = multipart["schema"]["properties"]
    assert properties["media"]["items"]["format"] == "binary"
    assert properties["photo1"]["format"] == "binary"
    assert "data:" in properties["media_url"]["description"]
    assert "/media/{name}" in spec["paths"]


def test_within_the_duplicate_window_the_same_photo_is_a_double_tap_and_a_new_photo_a_new_report(
        make_app: Callable[..., Flask], api_key_factory: Callable[[Flask], str], tmp_path: Path) -> None:
    app = make_app(OPEN311_DUPLICATE_WINDOW=600)
    client, key = app.test_client(), api_key_factory(app)
    photo = jpeg_with_gps()
    first = post(client, key, files={"media": (photo, "a.jpg")})
    tap = post(client, key, files={"media": (photo, "a.jpg")})
    assert tap.headers["Idempotent-Replayed"] == "true" and json_of(tap) == json_of(first)
    other = post(client, key, files={"media": (png_with_text(), "b.png")})
    assert "Idempotent-Replayed" not in other.headers
    assert json_of(other)[0]["service_request_id"] != json_of(first)[0]["service_request_id"]
    assert len(stored_files(tmp_path)) == 2


def test_xml_bodies_repeat_media_url_and_the_public_prefix_is_configurable(
        make_app: Callable[..., Flask], api_key_factory: Callable[[Flask], str]) -> None:
    app = make_app(OPEN311_MEDIA_URL="https://photos.lacounty.example/311")
    client, key = app.test_client(), api_key_factory(app)
    inline = "data:image/webp;base64," + base64.b64encode(webp_with_exif()).decode()
    body = ("<request><service_code>DPW-GRAFFITI</service_code><lat>34.0239</lat><long>-118.1720</long>"
            "<attributes><attribute><code>surface_type</code><value>wall</value></attribute>"
            "<attribute><code>property_type</code><value>public</value></attribute></attributes>"
            f"<media_url>https://photos.example.org/wall.jpg</media_url><media_url>{inline}</media_url></request>")
    reply = client.post("/open311/v2/requests.xml", data=body, content_type="application/xml",
                        headers={"Authorization": f"Bearer {key}"})
    assert reply.status_code == 200, reply.data
    entry = extended(client, str(xml_of(reply).findtext("request/service_request_id")))
    stored, link = entry["extended_attributes"]["media_urls"]
    assert stored.startswith("https://photos.lacounty.example/311/") and stored.endswith(".jpg")
    assert entry["media_url"] == stored and link == "https://photos.example.org/wall.jpg"
    served = client.get("/media/" + stored.rsplit("/", 1)[1])  # the gateway still serves it under /media/
    assert served.status_code == 200
    assert_clean(served.data)


def test_fields_in_the_query_string_and_only_the_photo_in_the_body(client: FlaskClient, api_key: str) -> None:
    from urllib.parse import urlencode

    reply = client.post(f"/open311/v2/requests.json?{urlencode(GRAFFITI)}", content_type="multipart/form-data",
                        data={"media": (io.BytesIO(jpeg_with_gps()), "a.jpg")},
                        headers={"Authorization": f"Bearer {api_key}"})
    assert reply.status_code == 200, reply.data
    assert extended(client, json_of(reply)[0]["service_request_id"])["media_url"].endswith(".jpg")
