"""The S3 media store against a real S3 API on loopback (moto's server mode): objects, errors, the whole app."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import requests
from flask import Flask

from open311.errors import ConfigError
from open311.media.store import MediaStoreError, S3MediaStore, build_media_store
from tests.adapters.peers import free_port
from tests.helpers import GRAFFITI
from tests.images import assert_clean, jpeg_with_gps
from tests.integration.live import serve

NAME = "AbCdEfGhIjKlMnOpQrStUv.jpg"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 (a free port) for this module."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket; credentials as any deployment gives them to boto3 (the AWS environment variables)."""
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    name = f"photos-{secrets.token_hex(4)}"
    client(s3_endpoint).create_bucket(Bucket=name)
    return name


def client(endpoint: str) -> Any:
    return boto3.session.Session().client("s3", endpoint_url=endpoint, region_name="us-east-1",
                                          aws_access_key_id="testing", aws_secret_access_key="testing")


def test_objects_go_in_and_out_under_the_prefix(s3_endpoint: str, bucket: str) -> None:
    store = S3MediaStore(bucket, "media/", endpoint_url=s3_endpoint)
    assert store.get(NAME) is None
    store.put(NAME, b"\xff\xd8\xffpixels", "image/jpeg")
    head = client(s3_endpoint).head_object(Bucket=bucket, Key=f"media/{NAME}")
    assert head["ContentType"] == "image/jpeg" and head["ContentLength"] == 9
    assert store.get(NAME) == b"\xff\xd8\xffpixels"
    store.delete(NAME)
    store.delete(NAME)  # deleting what is gone is fine
    assert store.get(NAME) is None
    with pytest.raises(ValueError, match="not a media name"):
        store.put("../escape.jpg", b"x", "image/jpeg")
    with pytest.raises(MediaStoreError, match="NoSuchBucket"):
        S3MediaStore("no-such-bucket-here", endpoint_url=s3_endpoint).put(NAME, b"x", "image/jpeg")


def test_a_store_that_is_down_is_an_error_not_a_hang(bucket: str) -> None:
    store = S3MediaStore(bucket, endpoint_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(MediaStoreError, match="cannot read bucket"):
        store.get(NAME)


def test_the_configuration_names_the_bucket() -> None:
    with pytest.raises(ConfigError, match="OPEN311_MEDIA_S3_BUCKET: required"):
        build_media_store({"OPEN311_MEDIA_STORAGE": "s3"}, "/tmp")
    with pytest.raises(ConfigError, match="must be one of local, s3"):
        build_media_store({"OPEN311_MEDIA_STORAGE": "ftp"}, "/tmp")
    store = build_media_store({"OPEN311_MEDIA_STORAGE": "s3", "OPEN311_MEDIA_S3_BUCKET": "b",
                               "OPEN311_MEDIA_S3_PREFIX": "p/"}, "/tmp")
    assert isinstance(store, S3MediaStore) and (store.bucket, store.prefix) == ("b", "p/")


def test_the_gateway_stores_photos_in_the_bucket_and_serves_them(make_app: Callable[..., Flask], s3_endpoint: str,
                                                                 bucket: str, api_key_factory: Callable[[Flask], str],
                                                                 tmp_path: Any) -> None:
    app = make_app(OPEN311_MEDIA_STORAGE="s3", OPEN311_MEDIA_S3_BUCKET=bucket, OPEN311_MEDIA_S3_ENDPOINT=s3_endpoint,
                   OPEN311_MEDIA_S3_PREFIX="photos/")
    key = api_key_factory(app)
    with serve(app) as api:
        reply = requests.post(f"{api}/requests.json", data=GRAFFITI, headers={"Authorization": f"Bearer {key}"},
                              files={"media": ("a.jpg", jpeg_with_gps(), "image/jpeg")}, timeout=10)
        assert reply.status_code == 200, reply.text
        (entry,) = requests.get(f"{api}/requests/{reply.json()[0]['service_request_id']}.json", timeout=10).json()
        served = requests.get(entry["media_url"], timeout=10)
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/jpeg"
    assert_clean(served.content)
    (item,) = client(s3_endpoint).list_objects_v2(Bucket=bucket)["Contents"]
    assert item["Key"] == "photos/" + entry["media_url"].rsplit("/", 1)[1]
    assert client(s3_endpoint).get_object(Bucket=bucket, Key=item["Key"])["Body"].read() == served.content
    assert not (tmp_path / "media").exists()  # nothing on the local disk


def test_export_puts_the_snapshots_into_the_media_bucket(make_app: Callable[..., Flask], s3_endpoint: str, bucket: str,
                                                         app_database_url: str, monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Any) -> None:
    from click.testing import CliRunner

    from open311.cli import main
    from open311.intake.keys import create_key

    app = make_app()
    gateway = app.extensions["open311"]
    with gateway.session() as session:
        _, key = create_key(session, "lacounty.gov", "exporter", gateway.clock())
    assert app.test_client().post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": key}).status_code == 200
    for name, value in (("OPEN311_DATABASE_URL", app_database_url), ("OPEN311_MEDIA_STORAGE", "s3"),
                        ("OPEN311_MEDIA_S3_BUCKET", bucket), ("OPEN311_MEDIA_S3_ENDPOINT", s3_endpoint),
                        ("OPEN311_DATA_DIR", str(tmp_path / "data"))):
        monkeypatch.setenv(name, value)
    done = CliRunner().invoke(main, ["export", "--s3", "--quiet"])
    assert done.exit_code == 0, done.output
    folder = "data/lacounty.gov/"   # OPEN311_DATA_S3_PREFIX, then the jurisdiction: the layout /data/ serves
    keys = {o["Key"] for o in client(s3_endpoint).list_objects_v2(Bucket=bucket, Prefix=folder)["Contents"]}
    assert {f"{folder}datapackage.json", f"{folder}manifest.json", f"{folder}requests-last-90-days.parquet"} <= keys
    assert len(keys) == 2 + 3 * len({k.rsplit(".", 1)[0] for k in keys if k.startswith(f"{folder}requests-")})
    head = client(s3_endpoint).head_object(Bucket=bucket, Key=f"{folder}requests-last-90-days.parquet")
    assert head["ContentType"] == "application/vnd.apache.parquet"
    local = tmp_path / "data" / "lacounty.gov" / "requests-last-90-days.parquet"
    got = client(s3_endpoint).get_object(Bucket=bucket, Key=f"{folder}requests-last-90-days.parquet")["Body"].read()
    assert got == local.read_bytes()
    monkeypatch.setenv("OPEN311_MEDIA_STORAGE", "local")
    refused = CliRunner().invoke(main, ["export", "--s3", "--quiet"])
    assert refused.exit_code == 2 and "--s3 needs OPEN311_MEDIA_STORAGE=s3" in refused.output
