"""Where processed photos are kept: a local directory (default) or an S3-compatible bucket, behind one interface.

Only processed photos (re-encoded, metadata-free) are ever handed to a store. Names are random tokens made
by open311.media.uploads (`<token>.jpg`); the gateway serves them at /media/<name>, so a bucket stays private.
"""

from __future__ import annotations

import abc
import os
import re
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from open311.errors import ConfigError

NAME = re.compile(r"^[A-Za-z0-9_-]{16,64}\.(?:jpg|png)$")
STORAGES = ("local", "s3")


class MediaStoreError(Exception):
    """The store cannot be read or written right now (disk, network or bucket trouble)."""


def check_name(name: str) -> str:
    """A stored photo's name as open311.media.uploads makes them; anything else (paths, dots) is refused."""
    if not NAME.fullmatch(name):
        raise ValueError(f"not a media name: {name[:80]!r}")
    return name


class MediaStore(abc.ABC):
    """Put, get and delete processed photos by name."""

    kind: str = "?"

    @abc.abstractmethod
    def put(self, name: str, data: bytes, content_type: str) -> None:
        """Store the bytes under `name` (replacing any earlier ones); raise MediaStoreError on failure."""

    @abc.abstractmethod
    def get(self, name: str) -> bytes | None:
        """The bytes stored under `name`, None when there are none; raise MediaStoreError when unreadable."""

    @abc.abstractmethod
    def delete(self, name: str) -> None:
        """Remove `name` if present; raise MediaStoreError on failure."""


class LocalMediaStore(MediaStore):
    """Files in a directory (created on first write), two-character subfolders so none grows huge."""

    kind = "local"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, name: str) -> Path:
        """Where a name lives on disk."""
        check_name(name)
        return self.directory / name[:2] / name

    def put(self, name: str, data: bytes, content_type: str) -> None:
        """Write atomically: a temporary file in the same folder, fsync, rename."""
        target = self.path(name)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.chmod(tmp, 0o644)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise MediaStoreError(f"cannot write to the media directory: {exc.strerror}") from None

    def get(self, name: str) -> bytes | None:
        """The file's bytes, or None."""
        try:
            return self.path(name).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise MediaStoreError(f"cannot read the media directory: {exc.strerror}") from None

    def delete(self, name: str) -> None:
        """Unlink the file if it exists."""
        try:
            self.path(name).unlink(missing_ok=True)
        except OSError as exc:
            raise MediaStoreError(f"cannot remove a file of the media directory: {exc.strerror}") from None


class S3MediaStore(MediaStore):
    """Objects `<prefix><name>` in a private bucket of S3 or any S3-compatible store (boto3; client made lazily,
    once per process, so forked workers never share a connection pool)."""

    kind = "s3"

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None,
                 region: str | None = None) -> None:
        self.bucket, self.prefix = bucket, prefix
        self.endpoint_url, self.region = endpoint_url, region
        self._client: Any = None
        self._owner: int | None = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        """The boto3 S3 client of this process (credentials from the usual AWS environment and files)."""
        with self._lock:
            if self._client is None or self._owner != os.getpid():
                import boto3
                from botocore.config import Config

                config = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"})
                self._client = boto3.session.Session().client(
                    "s3", endpoint_url=self.endpoint_url, region_name=self.region, config=config)
                self._owner = os.getpid()
            return self._client

    def key(self, name: str) -> str:
        """The object key of a name."""
        return self.prefix + check_name(name)

    def put(self, name: str, data: bytes, content_type: str) -> None:
        """PUT the object (private; the gateway serves it)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client().put_object(Bucket=self.bucket, Key=self.key(name), Body=data, ContentType=content_type)
        except (BotoCoreError, ClientError) as exc:
            raise MediaStoreError(f"cannot write to bucket {self.bucket}: {_code(exc)}") from None

    def get(self, name: str) -> bytes | None:
        """GET the object; None when it does not exist."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            reply = self.client().get_object(Bucket=self.bucket, Key=self.key(name))
            body: bytes = reply["Body"].read()
            return body
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404", "NotFound"):
                return None
            raise MediaStoreError(f"cannot read bucket {self.bucket}: {_code(exc)}") from None
        except BotoCoreError as exc:
            raise MediaStoreError(f"cannot read bucket {self.bucket}: {_code(exc)}") from None

    def delete(self, name: str) -> None:
        """DELETE the object (S3 answers success for a missing one too)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client().delete_object(Bucket=self.bucket, Key=self.key(name))
        except (BotoCoreError, ClientError) as exc:
            raise MediaStoreError(f"cannot remove an object of bucket {self.bucket}: {_code(exc)}") from None


def _code(exc: Exception) -> str:
    """An S3 error code or the exception's class name (never a URL with credentials in it)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or type(exc).__name__)[:100]
    return type(exc).__name__


def build_media_store(config: Mapping[str, Any], instance_path: str) -> MediaStore:
    """The store the configuration names: OPEN311_MEDIA_STORAGE local (OPEN311_MEDIA_DIR) or s3 (bucket ...)."""
    kind = str(config.get("OPEN311_MEDIA_STORAGE") or "local").strip().lower()
    if kind not in STORAGES:
        raise ConfigError([f"OPEN311_MEDIA_STORAGE: must be one of {', '.join(STORAGES)}, got {kind[:40]!r}"])
    if kind == "local":
        directory = config.get("OPEN311_MEDIA_DIR") or os.path.join(instance_path, "media")
        return LocalMediaStore(Path(directory))
    bucket = str(config.get("OPEN311_MEDIA_S3_BUCKET") or "").strip()
    if not bucket:
        raise ConfigError(["OPEN311_MEDIA_S3_BUCKET: required when OPEN311_MEDIA_STORAGE is s3"])
    try:
        import boto3  # noqa: F401
    except ImportError:
        raise ConfigError(["OPEN311_MEDIA_STORAGE=s3 needs boto3: pip install 'open311-gateway[s3]'"]) from None
    prefix = str(config.get("OPEN311_MEDIA_S3_PREFIX", "media/"))
    return S3MediaStore(bucket, prefix, endpoint_url=config.get("OPEN311_MEDIA_S3_ENDPOINT") or None,
                        region=config.get("OPEN311_MEDIA_S3_REGION") or None)
