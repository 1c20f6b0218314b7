"""`pgs3v aws` end to end against moto: configure, deploy, associate, install, load-sample, status, cleanup.

moto plays CloudFormation, IAM, Lambda, RDS, S3 and EC2; the session's pgs3v store plays Amazon S3
Vectors; a private PostgreSQL 15 plays the cluster's database, with pgs3v's shim calling a function
host that serves the three functions the stack creates. After each step the test looks at what
exists, with its own clients.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import psycopg

from pgs3v import sample_data
from pgs3v.aws.template import function_names
from pgs3v.bridge.process import FunctionHostProcess
from pgs3v.sql_schema.installer import installed_version
from tests.aws.support import (
    BUCKET,
    aws_client,
    buckets,
    cluster_roles,
    create_aurora_cluster,
    lambda_functions,
    roles,
    run,
    shop_tables,
    stacks,
    vector_buckets,
    vector_count,
)
from tests.support import ACCESS_KEY_ID, SECRET_ACCESS_KEY, StoreProcess


def nothing_deployed(moto: str, store: StoreProcess) -> None:
    assert stacks(moto) == []
    assert lambda_functions(moto) == set()
    assert roles(moto) == set()
    assert buckets(moto) == set()
    assert BUCKET not in vector_buckets(store)


def test_configure_deploy_associate_install_load_status_cleanup(
    moto: str, store_server: StoreProcess, database: str, deployed_functions: FunctionHostProcess, tmp_path: Path,
) -> None:
    cluster = create_aurora_cluster(moto)
    config = tmp_path / "aws.json"
    shim = ("--function-endpoint", deployed_functions.endpoint, "--access-key-id", ACCESS_KEY_ID,
            "--secret-access-key", SECRET_ACCESS_KEY)
    sql = ("--conninfo", database)

    # configure: the cluster's facts, in a file only its owner reads
    run(config, "configure", "--cluster-id", cluster.cluster_id, "--region", "us-east-1", "--endpoint-url", moto,
        "--s3vectors-endpoint", store_server.endpoint, "--store-endpoint", store_server.endpoint,
        "--vector-bucket", BUCKET)
    kept = json.loads(config.read_text())
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert (kept["vpc_id"], sorted(kept["subnet_ids"]), kept["security_group_ids"]) == (
        cluster.vpc_id, sorted(cluster.subnet_ids), [cluster.security_group_id])
    assert kept["cluster_endpoint"].startswith(cluster.cluster_id) and kept["engine"] == "aurora-postgresql"
    nothing_deployed(moto, store_server)

    # deploy: the zip in a new code bucket, the stack with three functions and four roles
    output = run(config, "deploy").output
    assert "CREATE_COMPLETE" in output
    [stack] = stacks(moto)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = json.loads(config.read_text())["outputs"]
    assert lambda_functions(moto) == set(function_names())
    assert outputs["AuroraLambdaRoleArn"] in roles(moto) and len(roles(moto)) == 4
    [code_bucket] = buckets(moto)
    objects = aws_client(moto, "s3").list_objects_v2(Bucket=code_bucket)["Contents"]
    assert [item["Key"] for item in objects] == [json.loads(config.read_text())["code_key"]]
    function = aws_client(moto, "lambda").get_function(FunctionName="pgs3v-query")["Configuration"]
    assert function["Handler"] == "pgs3v.bridge.handler.handler"
    assert function["Environment"]["Variables"]["PGS3V_STORE_ENDPOINT"] == store_server.endpoint
    # again: the same stack, the same code object
    run(config, "deploy")
    assert len(stacks(moto)) == 1 and len(aws_client(moto, "s3").list_objects_v2(Bucket=code_bucket)["Contents"]) == 1

    # configure again: the cluster's facts read again, the deployment's kept
    run(config, "configure", "--cluster-id", cluster.cluster_id, "--region", "us-east-1")
    assert json.loads(config.read_text())["outputs"] == outputs

    # doctor before associate and install: those two fail, each with its fix
    output = run(config, "doctor", *sql, code=1).output
    assert "FAIL  association" in output and "fix: run `pgs3v aws associate`" in output
    assert "FAIL  schema" in output and "fix: run `pgs3v aws install`" in output

    # associate: the stack's role on the cluster for Lambda; again: said so, nothing added
    run(config, "associate")
    assert cluster_roles(moto, cluster) == [
        {"RoleArn": outputs["AuroraLambdaRoleArn"], "FeatureName": "Lambda", "Status": "ACTIVE"}]
    assert "already associated" in run(config, "associate").output
    assert len(cluster_roles(moto, cluster)) == 1

    # install: the schema on "the cluster", calling the deployed manage function; again: nothing to run
    run(config, "install", *sql, *shim)
    assert installed_version(database) == newest_schema_version()
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT query_function_name, write_function_name, function_name "
                            "FROM s3vectors.settings").fetchone() == function_names()
    assert "nothing to run" in run(config, "install", *sql, *shim).output

    # load-sample: bucket, index, 5,202 vectors, and the tables; again: the same
    run(config, "load-sample", *sql)
    assert BUCKET in vector_buckets(store_server)
    assert vector_count(store_server) == len(sample_data.load_products())
    run(config, "load-sample", *sql)
    assert vector_count(store_server) == len(sample_data.load_products())
    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT p.sku, q.distance FROM s3vectors.query_vectors(%s, 'products', "
            "(SELECT embedding FROM shop.products WHERE product_id = 1), top_k => 3) AS q "
            "JOIN shop.products AS p ON p.sku = q.key ORDER BY q.distance", (BUCKET,)).fetchall()
    assert len(rows) == 3 and rows[0][1] < 1e-5

    # status: every part, the live query through aws_lambda.invoke included; the network has no
    # path to Lambda until the VPC gets a Lambda endpoint
    output = run(config, "status", *sql).output
    assert "ok    live manage      s3vectors.list_vector_buckets through pgs3v-manage: 1 rows" in output
    assert "ok    live query       s3vectors.get_vectors through pgs3v-query: 0 rows" in output
    assert "FAIL  network" in output
    assert "ok    vector index" in output
    aws_client(moto, "ec2").create_vpc_endpoint(VpcId=cluster.vpc_id, VpcEndpointType="Interface",
                                                ServiceName="com.amazonaws.us-east-1.lambda",
                                                SubnetIds=cluster.subnet_ids)
    output = run(config, "doctor", *sql).output
    assert "FAIL" not in output and "all checks passed" in output

    # cleanup, dry run: nothing changes
    everything = ("--delete-vector-bucket", "--delete-sample-tables")
    output = run(config, "cleanup", *sql, *everything, "--dry-run").output
    assert "would call cloudformation DeleteStack" in output
    assert len(stacks(moto)) == 1 and len(cluster_roles(moto, cluster)) == 1
    assert installed_version(database) is not None and BUCKET in vector_buckets(store_server)
    assert vector_count(store_server) == len(sample_data.load_products()) and shop_tables(database) == 3

    # cleanup: all gone but the association, which moto cannot remove (RemoveRoleFromDBCluster is
    # not implemented in moto 5.2.5: HTTP 500); cleanup says so and exits 1
    output = run(config, "cleanup", *sql, *everything, code=1).output
    assert "moto does not implement that action" in output and "remove-role-from-db-cluster" in output
    assert "1 thing(s) left" in output
    nothing_deployed(moto, store_server)
    assert installed_version(database) is None and shop_tables(database) == 0
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'pgs3v%'").fetchall() == []
    assert json.loads(config.read_text())["outputs"] == {}
    assert [role["RoleArn"] for role in cluster_roles(moto, cluster)] == [outputs["AuroraLambdaRoleArn"]]

    # cleanup again: only what moto cannot remove is still reported
    output = run(config, "cleanup", *sql, *everything, code=1).output
    assert "no stack pgs3v" in output and "schema s3vectors: not installed" in output
    assert "1 thing(s) left" in output


def newest_schema_version() -> str:
    """The schema version this pgs3v installs."""
    from pgs3v.sql_schema.scripts import SCHEMA_SCRIPTS, ScriptSet, sql_directory

    return ScriptSet(SCHEMA_SCRIPTS, sql_directory()).latest()
