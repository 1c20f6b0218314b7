"""`pgs3v aws configure`: read the Aurora cluster's endpoint, VPC, subnets and security groups into the config."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from botocore.exceptions import ClientError

from pgs3v.aws.calls import AwsCalls, error_code
from pgs3v.aws.config import AwsConfig
from pgs3v.aws.errors import AwsStepError

# aws_lambda exists for Aurora PostgreSQL (and RDS for PostgreSQL, whose role association is per
# instance, not per cluster: not what these steps do).
SUPPORTED_ENGINE = "aurora-postgresql"


def describe_cluster(calls: AwsCalls, cluster_id: str) -> dict[str, Any]:
    """The cluster as DescribeDBClusters returns it; an AwsStepError when there is none."""
    try:
        found = calls.read("rds", "describe_db_clusters", DBClusterIdentifier=cluster_id)
    except ClientError as problem:
        if error_code(problem) == "DBClusterNotFoundFault":
            raise AwsStepError(f"no DB cluster {cluster_id!r} in {calls.clients.region}: check the identifier "
                               f"(`aws rds describe-db-clusters --region {calls.clients.region}`) and the region") \
                from None
        raise
    cluster: dict[str, Any] = found["DBClusters"][0]
    return cluster


def configure(calls: AwsCalls, base: AwsConfig) -> AwsConfig:
    """``base`` with the cluster's facts filled in from DescribeDBClusters and DescribeDBSubnetGroups."""
    cluster = describe_cluster(calls, base.cluster_id)
    engine = str(cluster.get("Engine", ""))
    if engine != SUPPORTED_ENGINE:
        raise AwsStepError(f"cluster {base.cluster_id!r} runs {engine!r}; pgs3v aws needs an Aurora PostgreSQL "
                           "cluster (engine aurora-postgresql), whose aws_lambda extension calls Lambda")
    vpc_id, subnets = "", []
    if cluster.get("DBSubnetGroup"):
        group = calls.read("rds", "describe_db_subnet_groups", DBSubnetGroupName=cluster["DBSubnetGroup"])
        found = group["DBSubnetGroups"][0]
        vpc_id = str(found.get("VpcId", ""))
        subnets = [str(subnet["SubnetIdentifier"]) for subnet in found.get("Subnets", [])]
    return replace(
        base,
        cluster_endpoint=str(cluster.get("Endpoint", "")),
        cluster_port=int(cluster.get("Port", 5432)),
        cluster_arn=str(cluster.get("DBClusterArn", "")),
        engine=engine,
        vpc_id=vpc_id,
        subnet_ids=subnets,
        security_group_ids=[str(group["VpcSecurityGroupId"]) for group in cluster.get("VpcSecurityGroups", [])],
    )
