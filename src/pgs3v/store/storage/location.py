"""Open the store's storage from the command line's choice: a data directory or ``s3://BUCKET/PREFIX``.

For a bucket, the credentials come from ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY`` (the
store's own keys, which its clients sign with, are separate), and the endpoint from
``--s3-endpoint`` (any S3-compatible store; Amazon S3 when omitted). Before serving, the store
checks that the bucket answers and refuses a second create-only put of one key, since fencing
writers depends on it.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pgs3v.store.storage.errors import StorageError
from pgs3v.store.storage.objects import ObjectStorage, PreconditionFailed
from pgs3v.store.storage.store_storage import LocalStoreStorage, ObjectStoreStorage, StoreStorage

DEFAULT_CACHE_BYTES = 16 << 30


class StorageConfigError(ValueError):
    """The storage options cannot work; the message says what to change."""


@dataclass(frozen=True)
class StorageOptions:
    """Where the data goes: ``url`` None for the data directory itself, else ``s3://BUCKET[/PREFIX]``."""

    url: str | None = None
    endpoint: str | None = None
    region: str = "us-east-1"
    cache_bytes: int = DEFAULT_CACHE_BYTES


def open_storage(options: StorageOptions, data_dir: Path, environ: Mapping[str, str]) -> StoreStorage:
    """The storage the options name; for a bucket, ``data_dir`` holds the segment cache."""
    if options.url is None:
        return LocalStoreStorage(data_dir)
    # Imported here: a store on its data directory never loads the S3 client.
    from pgs3v.store.storage.s3_objects import S3Location, S3Objects, parse_s3_url

    try:
        bucket, prefix = parse_s3_url(options.url)
    except ValueError as problem:
        raise StorageConfigError(f"--storage: {problem}; expected s3://BUCKET or s3://BUCKET/PREFIX") from None
    access_key, secret_key = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
    if not access_key or not secret_key:
        raise StorageConfigError("--storage s3://...: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to the "
                                 "bucket's credentials")
    objects = S3Objects(S3Location(bucket, prefix, options.endpoint, options.region, access_key, secret_key))
    check_conditional_puts(objects)
    return ObjectStoreStorage(objects, data_dir / "cache", options.cache_bytes)


def check_conditional_puts(objects: ObjectStorage) -> None:
    """Fail unless the bucket answers and refuses a second create-only put of one key."""
    probe = f"probes/{secrets.token_hex(8)}"
    try:
        objects.put(probe, b"probe", mode="create")
        try:
            objects.put(probe, b"again", mode="create")
        except PreconditionFailed:
            return
        finally:
            objects.delete(probe)
    except StorageError as problem:
        raise StorageConfigError(f"cannot use {objects.describe()}: {problem}") from None
    raise StorageConfigError(f"{objects.describe()} ignores If-None-Match: *; pgs3v needs conditional puts to "
                             "keep two servers from overwriting each other's data")
