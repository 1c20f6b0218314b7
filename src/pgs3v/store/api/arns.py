"""Amazon Resource Names of vector buckets and indexes."""

from __future__ import annotations

import re
from dataclasses import dataclass

_BUCKET_ARN = re.compile(
    r"arn:(aws[-a-z0-9]*):s3vectors:([a-z0-9-]+):([0-9]{12}):bucket/([a-z0-9][a-z0-9-.]{1,61}[a-z0-9])"
)
_INDEX_ARN = re.compile(_BUCKET_ARN.pattern + r"/index/([a-z0-9][a-z0-9-.]{1,61}[a-z0-9])")


@dataclass(frozen=True)
class ArnScope:
    """The partition, region and account that this store's ARNs carry."""

    region: str = "us-east-1"
    account_id: str = "000000000000"
    partition: str = "aws"

    def bucket_arn(self, bucket: str) -> str:
        """ARN of a vector bucket."""
        return f"arn:{self.partition}:s3vectors:{self.region}:{self.account_id}:bucket/{bucket}"

    def index_arn(self, bucket: str, index: str) -> str:
        """ARN of a vector index."""
        return f"{self.bucket_arn(bucket)}/index/{index}"

    def parse_bucket_arn(self, arn: str) -> str | None:
        """The bucket name of a bucket ARN in this scope, else None."""
        match = _BUCKET_ARN.fullmatch(arn)
        if match is None or not self._ours(match):
            return None
        return match.group(4)

    def parse_index_arn(self, arn: str) -> tuple[str, str] | None:
        """(bucket, index) of an index ARN in this scope, else None."""
        match = _INDEX_ARN.fullmatch(arn)
        if match is None or not self._ours(match):
            return None
        return match.group(4), match.group(5)

    def _ours(self, match: re.Match[str]) -> bool:
        return (match.group(1), match.group(2), match.group(3)) == (self.partition, self.region, self.account_id)
