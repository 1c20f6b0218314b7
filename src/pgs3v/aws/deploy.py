"""`pgs3v aws deploy`: build and upload the bridge zip, create or update the stack, wait, keep its outputs.

The zip's key names its SHA-256, so an unchanged build uploads nothing and leaves the stack as it
is ("no changes"), and a changed one makes CloudFormation replace the functions' code.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from pgs3v.aws import template
from pgs3v.aws.calls import AwsCalls, error_code
from pgs3v.aws.config import AwsConfig
from pgs3v.aws.errors import AwsStepError
from pgs3v.aws.stack import READY, describe_stack, event_ids, stack_outputs, wait_for_stack
from pgs3v.bridge.packaging import build_zip

CAPABILITIES = ["CAPABILITY_NAMED_IAM"]  # the template names its roles
# CloudFormation takes a TemplateBody up to 51,200 bytes; a larger one must come from S3.
_TEMPLATE_BODY_LIMIT = 51_200


def default_template() -> Path:
    """The template shipped with pgs3v (src/pgs3v/aws/pgs3v.yaml)."""
    return template.template_path()


def code_bucket_name(calls: AwsCalls, config: AwsConfig) -> str:
    """The bucket for the zip: the config's, else pgs3v-code-<account>-<region>."""
    if config.code_bucket:
        return config.code_bucket
    account = calls.read("sts", "get_caller_identity")["Account"]
    return f"{config.name_prefix}-code-{account}-{calls.clients.region}"


def deploy(calls: AwsCalls, config: AwsConfig, template: Path, *, in_vpc: bool = False,
           memory_mb: int | None = None, timeout_seconds: int | None = None) -> AwsConfig:
    """Upload the zip, create or update the stack and wait for it; the config with the code and outputs."""
    with tempfile.TemporaryDirectory(prefix="pgs3v-zip-") as directory:
        zip_path = Path(directory) / "pgs3v-bridge.zip"
        size = build_zip(zip_path)
        body = zip_path.read_bytes()
    bucket = code_bucket_name(calls, config)
    key = f"{config.name_prefix}/bridge-{hashlib.sha256(body).hexdigest()[:16]}.zip"
    calls.say(f"bridge zip: {size / 1e6:.1f} MB, s3://{bucket}/{key}")
    created = _ensure_bucket(calls, bucket) or (config.code_bucket_created and bucket == config.code_bucket)
    if not _object_exists(calls, bucket, key):
        calls.change("s3", "put_object", Bucket=bucket, Key=key, Body=body)
    config = replace(config, code_bucket=bucket, code_bucket_created=created, code_key=key)

    parameters = _parameters(config, in_vpc=in_vpc, memory_mb=memory_mb, timeout_seconds=timeout_seconds)
    source = _template_source(calls, config, template)
    stack = describe_stack(calls, config.stack_name)
    if stack is not None and stack["StackStatus"] not in READY and not stack["StackStatus"].endswith("_IN_PROGRESS"):
        raise AwsStepError(f"stack {config.stack_name} is in {stack['StackStatus']} and cannot be updated: delete it "
                           "with `pgs3v aws cleanup`, then deploy again")
    seen = event_ids(calls, config.stack_name) if stack is not None else set()
    if stack is not None and stack["StackStatus"].endswith("_IN_PROGRESS"):
        calls.say(f"stack {config.stack_name} is {stack['StackStatus']}: waiting for it first")
        if not calls.dry_run:
            wait_for_stack(calls, config.stack_name, seen)
    if stack is None:
        calls.change("cloudformation", "create_stack", StackName=config.stack_name, Parameters=parameters,
                     Capabilities=CAPABILITIES, **source)
    else:
        try:
            calls.change("cloudformation", "update_stack", StackName=config.stack_name, Parameters=parameters,
                         Capabilities=CAPABILITIES, **source)
        except ClientError as problem:
            if error_code(problem) == "ValidationError" and "No updates are to be performed" in str(problem):
                calls.say(f"stack {config.stack_name}: no changes")
                return replace(config, outputs=stack_outputs(stack))
            raise
    if calls.dry_run:
        return config
    calls.say(f"waiting for stack {config.stack_name} ...")
    done = wait_for_stack(calls, config.stack_name, seen)
    assert done is not None, "a created or updated stack cannot be deleted"
    calls.say(f"stack {config.stack_name}: {done['StackStatus']}")
    return replace(config, outputs=stack_outputs(done))


def _parameters(config: AwsConfig, *, in_vpc: bool, memory_mb: int | None,
                timeout_seconds: int | None) -> list[dict[str, str]]:
    values = {
        template.NAME_PREFIX: config.name_prefix,
        template.CODE_S3_BUCKET: config.code_bucket,
        template.CODE_S3_KEY: config.code_key,
        template.VECTOR_BUCKET_NAME: config.vector_bucket,
        # Bucket and index stay outside the stack: load-sample makes them, and cleanup deletes them
        # only when asked, since deleting the stack would delete the vectors with them.
        template.CREATE_VECTOR_BUCKET: "false",
        template.INDEX_NAME: "",
        template.STORE_ENDPOINT: config.store_endpoint,
        # Aurora reaches Lambda through Lambda's API, so the functions need no VPC; in one, they
        # need a NAT gateway or endpoint to reach S3 Vectors.
        template.SUBNET_IDS: ",".join(config.subnet_ids) if in_vpc else "",
        template.SECURITY_GROUP_IDS: ",".join(config.security_group_ids) if in_vpc else "",
    }
    if memory_mb is not None:
        values[template.FUNCTION_MEMORY_SIZE] = str(memory_mb)
    if timeout_seconds is not None:
        values[template.FUNCTION_TIMEOUT] = str(timeout_seconds)
    return [{"ParameterKey": key, "ParameterValue": value} for key, value in values.items()]


def _template_source(calls: AwsCalls, config: AwsConfig, template: Path) -> dict[str, str]:
    try:
        text = template.read_text(encoding="utf-8")
    except OSError as problem:
        raise AwsStepError(f"cannot read the template {template}: {problem.strerror}") from None
    if len(text.encode()) <= _TEMPLATE_BODY_LIMIT:
        return {"TemplateBody": text}
    key = f"{config.name_prefix}/template-{hashlib.sha256(text.encode()).hexdigest()[:16]}.yaml"
    if not _object_exists(calls, config.code_bucket, key):
        calls.change("s3", "put_object", Bucket=config.code_bucket, Key=key, Body=text.encode())
    return {"TemplateURL": f"https://{config.code_bucket}.s3.amazonaws.com/{key}"}


def _ensure_bucket(calls: AwsCalls, bucket: str) -> bool:
    """Create the code bucket unless it exists; whether this call created it."""
    try:
        calls.read("s3", "head_bucket", Bucket=bucket)
        return False
    except ClientError as problem:
        if error_code(problem) not in ("404", "NoSuchBucket", "NotFound"):
            raise AwsStepError(f"cannot use the code bucket {bucket}: {problem}; give another with "
                               "--code-bucket") from None
    extra: dict[str, Any] = {}
    if calls.clients.region != "us-east-1":  # us-east-1 refuses a LocationConstraint naming itself
        extra["CreateBucketConfiguration"] = {"LocationConstraint": calls.clients.region}
    calls.change("s3", "create_bucket", Bucket=bucket, **extra)
    return True


def _object_exists(calls: AwsCalls, bucket: str, key: str) -> bool:
    try:
        calls.read("s3", "head_object", Bucket=bucket, Key=key)
        return True
    except ClientError as problem:
        if error_code(problem) in ("404", "NoSuchKey", "NotFound", "NoSuchBucket"):
            return False
        raise
