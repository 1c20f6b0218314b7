"""Open the store's storage from the command line: a data directory, ``s3://BUCKET/PREFIX`` or ``file:///DIR``.

``file:///DIR`` keeps the data as objects in a local directory (one file per object), the layout
several store processes can share (``--workers``, or servers on one shared filesystem); the data
directory then holds only each process's cache, whose segment files are hard links to the objects
when both are on one filesystem. For a bucket, the credentials come from ``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY`` (the store's own keys, which its clients sign with, are separate), and
the endpoint from ``--s3-endpoint`` (any S3-compatible store; Amazon S3 when omitted). Before
serving, the store checks that the storage answers and refuses a second create-only put of one
key, since fencing writers depends on it.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pgs3v.store.storage.errors import StorageError
from pgs3v.store.storage.local_objects import LocalObjects
from pgs3v.store.storage.objects import ObjectStorage, PreconditionFailed
from pgs3v.store.storage.store_storage import LocalStoreStorage, ObjectStoreStorage, StoreStorage

DEFAULT_CACHE_BYTES = 16 << 30


class StorageConfigError(ValueError):
    """The storage options cannot work; the message says what to change."""


@dataclass(frozen=True)
class StorageOptions:
    """Where the data goes: ``url`` None for the data directory itself, else ``s3://BUCKET[/PREFIX]`` or ``file:///DIR``."""

    url: str | None = None
    endpoint: str | None = None
    region: str = "us-east-1"
    cache_bytes: int = DEFAULT_CACHE_BYTES
    # The cache's directory under the data directory (each of several workers has its own).
    cache_name: str = "cache"


def open_storage(options: StorageOptions, data_dir: Path, environ: Mapping[str, str]) -> StoreStorage:
    """The storage the options name; for a bucket, ``data_dir`` holds the segment cache."""
    if options.url is None:
        return LocalStoreStorage(data_dir)
    if options.url.startswith("file:"):
        return _directory_storage(options, data_dir)
    # Imported here: a store on its data directory never loads the S3 client.
    from pgs3v.store.storage.s3_objects import S3Location, S3Objects, parse_s3_url

    try:
        bucket, prefix = parse_s3_url(options.url)
    except ValueError as problem:
        raise StorageConfigError(f"--storage: {problem}; expected s3://BUCKET, s3://BUCKET/PREFIX or file:///DIR"
                                 ) from None
    access_key, secret_key = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
    if not access_key or not secret_key:
        raise StorageConfigError("--storage s3://...: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to the "
                                 "bucket's credentials")
    objects = S3Objects(S3Location(bucket, prefix, options.endpoint, options.region, access_key, secret_key))
    check_conditional_puts(objects)
    return ObjectStoreStorage(objects, data_dir / options.cache_name, options.cache_bytes)


def _directory_storage(options: StorageOptions, data_dir: Path) -> StoreStorage:
    parsed = urlsplit(options.url or "")
    if parsed.netloc not in ("", "localhost") or not parsed.path.startswith("/") or parsed.query or parsed.fragment:
        raise StorageConfigError(f"--storage {options.url}: expected file:///ABSOLUTE/DIRECTORY")
    root = Path(unquote(parsed.path))
    cache = data_dir / options.cache_name
    # The data directory may hold a store's own layout (whose files must not pass for objects),
    # and the cache is removed at will: the objects may share neither.
    if root in (data_dir, cache) or cache in root.parents or root in cache.parents:
        raise StorageConfigError(f"--storage {options.url}: the objects' directory must be neither the data "
                                 f"directory {data_dir}, nor hold it, nor lie in its cache")
    try:
        objects = LocalObjects(root)
    except OSError as problem:
        raise StorageConfigError(f"--storage {options.url}: {problem.strerror or problem}") from None
    check_conditional_puts(objects)
    return ObjectStoreStorage(objects, cache, options.cache_bytes)


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
