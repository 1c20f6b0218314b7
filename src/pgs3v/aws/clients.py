"""One factory for the boto3 clients of `pgs3v aws`, honouring the endpoint overrides.

``endpoint_url`` (``--endpoint-url`` / ``$PGS3V_AWS_ENDPOINT_URL``) sends every AWS service
(CloudFormation, IAM, Lambda, RDS, S3, EC2) to one address, as moto's server wants;
``s3vectors_endpoint`` (``--s3vectors-endpoint`` / ``$PGS3V_S3VECTORS_ENDPOINT_URL``) sends the
s3vectors client elsewhere, e.g. to a pgs3v store standing in for Amazon S3 Vectors. Credentials
are boto3's usual chain (environment, profile, instance role).
"""

from __future__ import annotations

import os
from typing import Any

from botocore.config import Config

ENDPOINT_VARIABLE = "PGS3V_AWS_ENDPOINT_URL"
S3VECTORS_ENDPOINT_VARIABLE = "PGS3V_S3VECTORS_ENDPOINT_URL"


class Clients:
    """boto3 clients for one region, created once each, at the configured endpoints."""

    def __init__(self, region: str, endpoint_url: str | None = None, s3vectors_endpoint: str | None = None) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self.s3vectors_endpoint = s3vectors_endpoint
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        """The boto3 client of ``service`` (``rds``, ``cloudformation``, ``s3vectors``, ...)."""
        if service not in self._clients:
            import boto3

            endpoint = self.s3vectors_endpoint if service == "s3vectors" else self.endpoint_url
            # A few quick retries for throttling; the steps poll on their own where they wait.
            config = Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=10, read_timeout=120)
            self._clients[service] = boto3.client(service, region_name=self.region, endpoint_url=endpoint,
                                                  config=config)
        return self._clients[service]


def endpoint_from_environment(given: str | None, variable: str, kept: str | None) -> str | None:
    """The endpoint to use: the option's, else the environment variable's, else the one the config kept."""
    return given or os.environ.get(variable) or kept or None
