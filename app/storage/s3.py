"""Photos in any S3-compatible object store (AWS S3, MinIO, Ceph, OSS/COS S3 gateways) through boto3."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from app.errors import StorageUnavailable
from app.storage import CHUNK, UNAVAILABLE, LocalStore, StoredObject


def _missing(err) -> bool:
    code = str(err.response.get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


class S3Store:
    """Private objects in one bucket; keys may share a prefix. Every failure to reach it is a 503."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url=None,
        region=None,
        access_key_id=None,
        secret_access_key=None,
        prefix: str = "",
    ):
        if not bucket:
            raise ValueError("GRIDSNAP_STORAGE_BUCKET is required for the s3 storage backend")
        self.bucket, self.prefix = bucket, prefix
        self._client_args = dict(
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
        )
        self._client = None
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: dict) -> S3Store:
        return cls(
            config["STORAGE_BUCKET"],
            endpoint_url=config["STORAGE_ENDPOINT_URL"],
            region=config["STORAGE_REGION"],
            access_key_id=config["STORAGE_ACCESS_KEY_ID"],
            secret_access_key=config["STORAGE_SECRET_ACCESS_KEY"],
            prefix=config["STORAGE_PREFIX"],
        )

    def __repr__(self) -> str:
        return f"S3Store(bucket={self.bucket!r}, endpoint={self._client_args['endpoint_url']!r})"

    @property
    def client(self):
        # Made on first use, in the worker process (boto3 clients are thread-safe but not fork-safe).
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config

                    cfg = Config(
                        connect_timeout=2,
                        read_timeout=15,
                        retries={"max_attempts": 2, "mode": "standard"},
                        signature_version="s3v4",
                        s3={"addressing_style": "path"},
                    )
                    self._client = boto3.client("s3", config=cfg, **self._client_args)
        return self._client

    def _call(self, method: str, key: str | None = None, **kw):
        """One S3 call; unreachable store -> StorageUnavailable, missing object -> FileNotFoundError."""
        from botocore.exceptions import BotoCoreError, ClientError

        if key is not None:
            kw["Key"] = self.prefix + key
        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kw)
        except ClientError as err:
            if _missing(err):
                raise FileNotFoundError(key) from err
            raise StorageUnavailable(UNAVAILABLE) from err
        except BotoCoreError as err:
            raise StorageUnavailable(UNAVAILABLE) from err

    def put(self, key: str, data: bytes) -> None:
        # A PUT is atomic: readers see the whole object or none of it.
        self._call("put_object", key, Body=data, ContentType="image/jpeg")

    def get(self, key: str) -> bytes:
        body = self._call("get_object", key)["Body"]
        try:
            return body.read()
        finally:
            body.close()

    def delete(self, key: str) -> None:
        self._call("delete_object", key)

    def exists(self, key: str) -> bool:
        return self.stat(key) is not None

    def path(self, key: str) -> str | None:
        return None

    def stat(self, key: str) -> StoredObject | None:
        try:
            head = self._call("head_object", key)
        except FileNotFoundError:
            return None
        return StoredObject(key, head["ContentLength"], head["LastModified"], head.get("ETag", "").strip('"'))

    def stream(self, key: str) -> tuple[Iterator[bytes], int]:
        obj = self._call("get_object", key)
        body = obj["Body"]

        def chunks():
            try:
                yield from body.iter_chunks(CHUNK)
            finally:
                body.close()

        return chunks(), obj["ContentLength"]

    def list(self) -> Iterator[StoredObject]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
            for page in pages:
                for obj in page.get("Contents", []):
                    yield StoredObject(
                        obj["Key"][len(self.prefix) :], obj["Size"], obj["LastModified"], obj.get("ETag", "").strip('"')
                    )
        except (BotoCoreError, ClientError) as err:
            raise StorageUnavailable(UNAVAILABLE) from err

    def ping(self) -> None:
        self._call("head_bucket")

    def presigned_url(self, key: str, ttl: int) -> str:
        """A URL that lets its holder GET one private object for ttl seconds."""
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self.prefix + key, "ResponseContentType": "image/jpeg"},
            ExpiresIn=ttl,
        )


class S3WithLocalFallback:
    """S3 for everything, but photos not yet copied there are still read from the local folder.

    Used during `flask storage migrate --to s3` so switching servers to S3 needs no downtime.
    """

    def __init__(self, s3: S3Store, local: LocalStore):
        self.s3, self.local = s3, local

    def __repr__(self) -> str:
        return f"{self.s3!r} (reading {self.local!r} as fallback)"

    def put(self, key: str, data: bytes) -> None:
        self.s3.put(key, data)

    def delete(self, key: str) -> None:
        self.s3.delete(key)

    def path(self, key: str) -> str | None:
        return None

    def ping(self) -> None:
        self.s3.ping()

    def list(self) -> Iterator[StoredObject]:
        return self.s3.list()

    def presigned_url(self, key: str, ttl: int) -> str | None:
        return self.s3.presigned_url(key, ttl) if self.s3.exists(key) else None

    def get(self, key: str) -> bytes:
        try:
            return self.s3.get(key)
        except FileNotFoundError:
            return self.local.get(key)

    def exists(self, key: str) -> bool:
        return self.s3.exists(key) or self.local.exists(key)

    def stat(self, key: str) -> StoredObject | None:
        return self.s3.stat(key) or self.local.stat(key)

    def stream(self, key: str) -> tuple[Iterator[bytes], int]:
        try:
            return self.s3.stream(key)
        except FileNotFoundError:
            return self.local.stream(key)
