"""`--dry-run` prints the AWS calls a step would make and makes none; errors are one line with the fix."""

from __future__ import annotations

from pathlib import Path

from pgs3v.sql_schema.installer import installed_version
from tests.aws.support import (
    aws_client,
    buckets,
    cluster_roles,
    create_aurora_cluster,
    run,
    shop_tables,
    stacks,
    vector_buckets,
)
from tests.support import StoreProcess

BUCKET = "pgs3v-aws-dry-run"


def test_dry_runs_change_nothing(moto: str, store_server: StoreProcess, database: str, tmp_path: Path) -> None:
    cluster = create_aurora_cluster(moto)
    config = tmp_path / "aws.json"
    where = ("--endpoint-url", moto, "--s3vectors-endpoint", store_server.endpoint)
    configure = ("configure", "--cluster-id", cluster.cluster_id, "--region", "us-east-1", *where,
                 "--vector-bucket", BUCKET)

    output = run(config, *configure, "--dry-run").output
    assert "would write" in output and not config.exists()
    run(config, *configure)

    output = run(config, "deploy", "--dry-run").output
    assert "read  sts GetCallerIdentity()  (read-only, ran)" in output
    assert "would call s3 CreateBucket(Bucket='pgs3v-code-123456789012-us-east-1')" in output
    assert "would call s3 PutObject(" in output and "bytes>)" in output
    assert "would call cloudformation CreateStack(StackName='pgs3v', Parameters={NamePrefix='pgs3v'" in output
    assert f"VectorBucketName='{BUCKET}'" in output
    assert stacks(moto) == [] and buckets(moto) == set()
    assert aws_client(moto, "lambda").list_functions()["Functions"] == []

    # associate and install need the stack's outputs: a one-line error saying to deploy first
    output = run(config, "associate", "--dry-run", code=1).output
    assert output.strip().splitlines()[-1] == (
        "Error: the config has no stack outputs (AuroraLambdaRoleArn): run `pgs3v aws deploy` first")

    run(config, "deploy")
    output = run(config, "associate", "--dry-run").output
    assert "would call rds AddRoleToDBCluster(DBClusterIdentifier='pgs3v-test-aurora'" in output
    assert cluster_roles(moto, cluster) == []

    output = run(config, "install", "--conninfo", database, "--dry-run").output
    assert "would run  CREATE EXTENSION IF NOT EXISTS aws_lambda CASCADE" in output
    assert installed_version(database) is None

    output = run(config, "load-sample", "--conninfo", database, "--dry-run").output
    assert f"would call s3vectors CreateVectorBucket(vectorBucketName='{BUCKET}')" in output
    assert output.count("would call s3vectors PutVectors(") == 11 and "would put 5,202 vectors" in output
    assert BUCKET not in vector_buckets(store_server) and shop_tables(database) == 0

    run(config, "cleanup", "--conninfo", database, "--dry-run")
    assert len(stacks(moto)) == 1
    run(config, "cleanup", "--conninfo", database)
    assert stacks(moto) == [] and buckets(moto) == set()


def test_errors_are_one_line_with_the_fix(moto: str, tmp_path: Path) -> None:
    config = tmp_path / "aws.json"
    output = run(config, "deploy", code=1).output
    assert output == f"Error: no config at {config}: run `pgs3v aws configure --cluster-id ID` first\n"
    output = run(config, "configure", "--cluster-id", "no-such-cluster", "--region", "us-east-1",
                 "--endpoint-url", moto, code=1).output
    assert output.startswith("Error: no DB cluster 'no-such-cluster' in us-east-1: check the identifier")
    assert len(output.strip().splitlines()) == 1 and not config.exists()
