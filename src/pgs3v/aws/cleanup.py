"""`pgs3v aws cleanup`: uninstall the schema, disassociate the role, delete the stack and code; the bucket if asked.

Each part runs even when an earlier one could not finish, and what stays behind is returned,
so the command can say exactly what is left and how to remove it.
"""

from __future__ import annotations

from dataclasses import replace

import psycopg
from botocore.exceptions import ClientError

from pgs3v.aws.association import disassociate
from pgs3v.aws.calls import AwsCalls, error_code
from pgs3v.aws.config import AwsConfig
from pgs3v.aws.errors import AwsStepError
from pgs3v.aws.install import uninstall
from pgs3v.aws.sample import drop_tables
from pgs3v.aws.stack import describe_stack, event_ids, wait_for_stack
from pgs3v.sql_schema.installer import SchemaError


def cleanup(calls: AwsCalls, config: AwsConfig, conninfo: str | None, *, delete_vector_bucket: bool = False,
            delete_sample_tables: bool = False) -> tuple[AwsConfig, list[str]]:
    """Remove what the steps made; the config without the deployment, and what could not be removed."""
    left: list[str] = []
    sample_tables = config.sample_tables
    if conninfo is None:
        left.append("schema s3vectors not checked: give --conninfo, or PGPASSWORD for the cluster endpoint")
    else:
        try:
            # First: the tables' grants to pgs3v_reader would keep that role alive.
            if delete_sample_tables and sample_tables:
                drop_tables(conninfo, dry_run=calls.dry_run, say=calls.say)
                sample_tables = calls.dry_run
            left += uninstall(conninfo, dry_run=calls.dry_run, say=calls.say)
        except (AwsStepError, SchemaError, psycopg.Error) as failure:
            left.append(f"schema: {failure}")
    association_left = disassociate(calls, config)
    if association_left:
        left.append(association_left)
    stack = describe_stack(calls, config.stack_name)
    if stack is None:
        calls.say(f"no stack {config.stack_name}")
    else:
        seen = event_ids(calls, config.stack_name)
        calls.change("cloudformation", "delete_stack", StackName=config.stack_name)
        if not calls.dry_run:
            calls.say(f"waiting for stack {config.stack_name} to be deleted ...")
            try:
                wait_for_stack(calls, str(stack["StackId"]), seen)
                calls.say(f"stack {config.stack_name}: deleted")
            except AwsStepError as failure:
                left.append(str(failure))
    code_bucket_left = _delete_code(calls, config)
    if delete_vector_bucket:
        _delete_vector_bucket(calls, config)
    cleaned = replace(config, outputs={}, code_key="", sample_tables=sample_tables,
                      code_bucket=config.code_bucket if code_bucket_left else "",
                      code_bucket_created=config.code_bucket_created and code_bucket_left)
    return cleaned, left


def _delete_code(calls: AwsCalls, config: AwsConfig) -> bool:
    """Delete the uploaded zips and templates, and the bucket when deploy made it; whether the bucket stays."""
    if not config.code_bucket:
        return False
    try:
        listed = calls.read("s3", "list_objects_v2", Bucket=config.code_bucket, Prefix=f"{config.name_prefix}/")
    except ClientError as problem:
        if error_code(problem) == "NoSuchBucket":
            return False
        raise
    keys = [{"Key": item["Key"]} for item in listed.get("Contents", [])]
    if keys:
        calls.change("s3", "delete_objects", Bucket=config.code_bucket, Delete={"Objects": keys})
    if not config.code_bucket_created:
        calls.say(f"code bucket {config.code_bucket} kept (it was there before deploy)")
        return True
    calls.change("s3", "delete_bucket", Bucket=config.code_bucket)
    return False


def _delete_vector_bucket(calls: AwsCalls, config: AwsConfig) -> None:
    """Delete the vector bucket's indexes, then the bucket (S3 Vectors refuses a bucket with indexes)."""
    bucket = config.vector_bucket
    indexes: list[dict[str, str]] = []
    token: dict[str, str] = {}
    while True:
        try:
            page = calls.read("s3vectors", "list_indexes", vectorBucketName=bucket, **token)
        except ClientError as problem:
            if error_code(problem) == "NotFoundException":
                calls.say(f"no vector bucket {bucket}")
                return
            raise
        indexes += page.get("indexes", [])
        if not page.get("nextToken"):
            break
        token = {"nextToken": page["nextToken"]}
    for index in indexes:
        calls.change("s3vectors", "delete_index", vectorBucketName=bucket, indexName=index["indexName"])
    calls.change("s3vectors", "delete_vector_bucket", vectorBucketName=bucket)
