"""Helpers of the AWS tests: the Aurora cluster a user would have, the CLI, and looks at what exists."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import psycopg
from click.testing import CliRunner, Result

from pgs3v.cli import main
from tests.support import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, StoreProcess, client

CLUSTER_ID = "pgs3v-test-aurora"
BUCKET = "pgs3v-aws-walkthrough"


@dataclass(frozen=True)
class AuroraCluster:
    """The cluster moto holds, and its VPC, subnets and security group."""

    cluster_id: str
    vpc_id: str
    subnet_ids: list[str]
    security_group_id: str


def aws_client(moto_endpoint: str, service: str) -> Any:
    """A boto3 client of moto, to look at what the steps made."""
    return boto3.client(service, endpoint_url=moto_endpoint, region_name=REGION,
                        aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY)


def create_aurora_cluster(moto_endpoint: str, cluster_id: str = CLUSTER_ID) -> AuroraCluster:
    """An Aurora PostgreSQL cluster in its own VPC, as a user would have before `pgs3v aws configure`."""
    ec2, rds = aws_client(moto_endpoint, "ec2"), aws_client(moto_endpoint, "rds")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{n}.0/24", AvailabilityZone=f"{REGION}{zone}")
               ["Subnet"]["SubnetId"] for n, zone in ((1, "a"), (2, "b"))]
    group = ec2.create_security_group(GroupName=f"{cluster_id}-db", Description="Aurora", VpcId=vpc)["GroupId"]
    rds.create_db_subnet_group(DBSubnetGroupName=f"{cluster_id}-subnets", DBSubnetGroupDescription="Aurora",
                               SubnetIds=subnets)
    rds.create_db_cluster(DBClusterIdentifier=cluster_id, Engine="aurora-postgresql", MasterUsername="postgres",
                          MasterUserPassword="not-used-here-0", DBSubnetGroupName=f"{cluster_id}-subnets",
                          VpcSecurityGroupIds=[group])
    return AuroraCluster(cluster_id, vpc, subnets, group)


def run(config: Path, *args: str, code: int = 0) -> Result:
    """``pgs3v aws ARGS --config CONFIG``, which must exit with ``code``."""
    result = CliRunner().invoke(main, ["aws", *args, "--config", str(config)], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def stacks(moto: str) -> list[dict[str, Any]]:
    """The stacks that exist (deleted ones left out)."""
    found = aws_client(moto, "cloudformation").describe_stacks()["Stacks"]
    return [stack for stack in found if stack["StackStatus"] != "DELETE_COMPLETE"]


def lambda_functions(moto: str) -> set[str]:
    return {item["FunctionName"] for item in aws_client(moto, "lambda").list_functions()["Functions"]}


def roles(moto: str) -> set[str]:
    return {item["Arn"] for item in aws_client(moto, "iam").list_roles()["Roles"]}


def buckets(moto: str) -> set[str]:
    return {item["Name"] for item in aws_client(moto, "s3").list_buckets().get("Buckets", [])}


def cluster_roles(moto: str, cluster: AuroraCluster) -> list[dict[str, Any]]:
    found = aws_client(moto, "rds").describe_db_clusters(DBClusterIdentifier=cluster.cluster_id)["DBClusters"][0]
    roles: list[dict[str, Any]] = found.get("AssociatedRoles", [])
    return roles


def vector_buckets(store: StoreProcess) -> set[str]:
    return {item["vectorBucketName"] for item in client(store.endpoint).list_vector_buckets()["vectorBuckets"]}


def vector_count(store: StoreProcess) -> int:
    pages = client(store.endpoint).get_paginator("list_vectors").paginate(vectorBucketName=BUCKET,
                                                                        indexName="products")
    return sum(len(page["vectors"]) for page in pages)


def shop_tables(database: str) -> int:
    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'shop'").fetchone()
    return int(row[0]) if row else 0
