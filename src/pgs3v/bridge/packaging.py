"""The AWS Lambda deployment zip: the handler's modules, and boto3/botocore unless told otherwise.

Lambda's Python runtimes ship a boto3 of their own, but it may be older than the s3vectors API
(botocore 1.39.9, July 2025), so by default the zip carries the boto3 and botocore installed here
(pure Python, ~15 MB zipped, well under Lambda's 50 MB). Entries get a fixed timestamp, so the
same sources give the same zip, byte for byte.
"""

from __future__ import annotations

import importlib.util
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pgs3v

# Every pgs3v module the handler imports; a test checks this against a fresh interpreter.
LAMBDA_MODULES = (
    "pgs3v/__init__.py",
    "pgs3v/bridge/__init__.py",
    "pgs3v/bridge/handler.py",
    "pgs3v/bridge/batching.py",
    "pgs3v/bridge/json_transport.py",
    "pgs3v/bridge/results.py",
    "pgs3v/bridge/retry.py",
    "pgs3v/bridge/settings.py",
    "pgs3v/bridge/store_client.py",
    "pgs3v/tls.py",
    "pgs3v/bridge/function_environment.py",
)
# boto3 and what it needs at run time (botocore's own dependencies included).
AWS_SDK_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")

_FIXED_TIME = (2025, 1, 1, 0, 0, 0)


def build_zip(output: Path, *, with_boto3: bool = True) -> int:
    """Write the deployment zip to ``output`` and return its size in bytes."""
    source_root = Path(pgs3v.__file__).resolve().parent.parent
    entries: list[tuple[str, Path]] = [(name, source_root / name) for name in LAMBDA_MODULES]
    if with_boto3:
        for package in AWS_SDK_PACKAGES:
            entries.extend(_package_files(package))
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, path in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16  # readable by Lambda's sandbox user
            archive.writestr(info, path.read_bytes())
    return output.stat().st_size


def _package_files(package: str) -> Iterator[tuple[str, Path]]:
    spec = importlib.util.find_spec(package)
    if spec is None:
        raise RuntimeError(f"{package} is not installed; it is needed in the Lambda zip (or use --without-boto3)")
    if spec.submodule_search_locations:
        root = Path(next(iter(spec.submodule_search_locations)))
        for path in root.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                yield f"{package}/{path.relative_to(root).as_posix()}", path
    elif spec.origin:
        yield Path(spec.origin).name, Path(spec.origin)
