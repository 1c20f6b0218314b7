"""The checks behind `pgs3v aws status` and `pgs3v aws doctor`: each step's result, and the fix when it failed.

Every check only reads (describe, get, list, a SELECT). A check whose prerequisite failed is
skipped rather than failed again, so the first failure in the list is the one to fix first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from botocore.exceptions import BotoCoreError, ClientError

from pgs3v.aws import template
from pgs3v.aws.association import FEATURE, lambda_role
from pgs3v.aws.calls import AwsCalls, error_code
from pgs3v.aws.config import AwsConfig
from pgs3v.aws.configure import describe_cluster
from pgs3v.aws.errors import AwsStepError
from pgs3v.aws.permissions import (
    AURORA_ACTIONS,
    AURORA_PRINCIPAL,
    FUNCTION_ACTIONS,
    allowed_actions,
    missing_actions,
    role_name,
    trusts,
)
from pgs3v.aws.stack import READY, describe_stack, stack_outputs
from pgs3v.bridge.functions import BRIDGE_HANDLER

REQUIRED_OUTPUTS = (template.QUERY_FUNCTION_NAME, template.WRITE_FUNCTION_NAME, template.MANAGE_FUNCTION_NAME,
                    template.AURORA_LAMBDA_ROLE_ARN)
# The oldest Lambda runtime the handler supports (it is Python 3.11 code).
MINIMUM_RUNTIME = (3, 11)
# A stack update with an unchanged template does not undo changes made outside CloudFormation.
DRIFT_FIX = ("restore the template's setting (docs/aws.md lists each policy), or recreate the stack: "
             "`pgs3v aws cleanup`, then `pgs3v aws deploy`; `aws cloudformation detect-stack-drift` shows what changed")
# Cheap calls through the whole path, SQL -> aws_lambda.invoke -> a function -> S3 Vectors: one
# that the manage function serves, and one for the query function (a key nobody has; the index
# need not exist, since S3 Vectors answering NotFoundException proves the path as well).
LIVE_MANAGE = "SELECT count(*) FROM s3vectors.list_vector_buckets()"
LIVE_QUERY = ("SELECT count(*) FROM s3vectors.get_vectors(%s, %s, ARRAY['pgs3v-doctor-probe'], "
              "return_data => false, return_metadata => false)")
NOT_FOUND = "42704"  # the SQLSTATE of NotFoundException


@dataclass(frozen=True)
class Check:
    """One check: passed (True), failed (False) or skipped (None), what was seen, and the fix."""

    name: str
    ok: bool | None
    detail: str
    fix: str = ""


def run_checks(calls: AwsCalls, config: AwsConfig, conninfo: str | None) -> list[Check]:
    """Check every step, in the order the walkthrough takes them."""
    results = [_cluster(calls, config)]
    stack = _stack(calls, config)
    results.append(stack)
    deployed = stack.ok is True
    results += _functions(calls, config) if deployed else [_skipped("functions", "needs the stack")]
    results.append(_aurora_role(calls, config) if deployed else _skipped("aurora role", "needs the stack"))
    results.append(_association(calls, config) if deployed and results[0].ok else
                   _skipped("association", "needs the cluster and the stack"))
    results.append(_network(calls, config) if results[0].ok else _skipped("network", "needs the cluster"))
    if conninfo is None:
        results.append(_skipped("schema", "give --conninfo (or PGPASSWORD for the cluster endpoint) to check SQL"))
    else:
        schema = _schema(config, conninfo)
        results.append(schema)
        results += _live(config, conninfo) if schema.ok else [_skipped("live manage", "needs the schema"),
                                                              _skipped("live query", "needs the schema")]
    results.append(_vector_index(calls, config))
    return results


def _cluster(calls: AwsCalls, config: AwsConfig) -> Check:
    try:
        cluster = describe_cluster(calls, config.cluster_id)
    except AwsStepError as problem:
        return Check("cluster", False, str(problem), "run `pgs3v aws configure --cluster-id ID` with the right id")
    status = cluster.get("Status", "unknown")
    return Check("cluster", True, f"{config.cluster_id} {status} at {cluster.get('Endpoint')}:{cluster.get('Port')}")


def _stack(calls: AwsCalls, config: AwsConfig) -> Check:
    stack = describe_stack(calls, config.stack_name)
    if stack is None:
        return Check("stack", False, f"no stack {config.stack_name}", "run `pgs3v aws deploy`")
    status = str(stack["StackStatus"])
    if status not in READY:
        return Check("stack", False, f"{config.stack_name} is {status}: {stack.get('StackStatusReason', '')}",
                     "wait for it, or `pgs3v aws cleanup` a failed stack and `pgs3v aws deploy` again")
    missing = [key for key in REQUIRED_OUTPUTS if key not in stack_outputs(stack)]
    if missing:
        return Check("stack", False, f"{config.stack_name} has no output {', '.join(missing)}",
                     "deploy with pgs3v's own template: `pgs3v aws deploy`")
    return Check("stack", True, f"{config.stack_name} {status}")


def _functions(calls: AwsCalls, config: AwsConfig) -> list[Check]:
    results = []
    for role, name in config.function_names().items():
        try:
            function = calls.read("lambda", "get_function", FunctionName=name)["Configuration"]
        except ClientError as problem:
            # The stack check passed, so the function went missing outside CloudFormation.
            results.append(Check(f"function {role}", False, f"{name}: {error_code(problem)}", DRIFT_FIX))
            continue
        runtime, handler = str(function.get("Runtime", "")), str(function.get("Handler", ""))
        problems = []
        if _runtime_version(runtime) < MINIMUM_RUNTIME:
            problems.append(f"runtime {runtime or 'unknown'} (needs python3.11 or later)")
        if handler != BRIDGE_HANDLER:
            problems.append(f"handler {handler} (needs {BRIDGE_HANDLER})")
        if function.get("State") == "Failed" or function.get("LastUpdateStatus") == "Failed":
            problems.append(f"state Failed: {function.get('StateReason') or function.get('LastUpdateStatusReason')}")
        if problems:
            results.append(Check(f"function {role}", False, f"{name}: {'; '.join(problems)}", DRIFT_FIX))
            continue
        execution_role = role_name(str(function.get("Role", "")))
        missing = missing_actions(allowed_actions(calls, execution_role), FUNCTION_ACTIONS[role])
        if missing:
            results.append(Check(f"function {role}", False,
                                 f"{name}: role {execution_role} does not allow {', '.join(missing)}", DRIFT_FIX))
            continue
        results.append(Check(f"function {role}", True, f"{name} {runtime} {function.get('State', '')}".strip()))
    return results


def _aurora_role(calls: AwsCalls, config: AwsConfig) -> Check:
    role = role_name(config.outputs.get(template.AURORA_LAMBDA_ROLE_ARN, ""))
    try:
        missing = missing_actions(allowed_actions(calls, role), AURORA_ACTIONS)
        trusted = trusts(calls, role, AURORA_PRINCIPAL)
    except ClientError as problem:
        return Check("aurora role", False, f"{role}: {error_code(problem)}", DRIFT_FIX)
    if missing or not trusted:
        what = ([f"does not allow {', '.join(missing)}"] if missing else []) + (
            [] if trusted else [f"does not trust {AURORA_PRINCIPAL}"])
        return Check("aurora role", False, f"{role} {' and '.join(what)}", DRIFT_FIX)
    return Check("aurora role", True, f"{role} allows {', '.join(AURORA_ACTIONS)}")


def _association(calls: AwsCalls, config: AwsConfig) -> Check:
    wanted = config.outputs.get(template.AURORA_LAMBDA_ROLE_ARN, "")
    current = lambda_role(describe_cluster(calls, config.cluster_id))
    if current is None:
        return Check("association", False, f"no role associated with {config.cluster_id} for {FEATURE}",
                     "run `pgs3v aws associate`")
    if current.get("RoleArn") != wanted:
        return Check("association", False, f"{config.cluster_id} has {current.get('RoleArn')} for {FEATURE}, "
                     f"not {wanted}", "give that role lambda:InvokeFunction on the functions, or replace it: "
                     "see docs/aws.md, Troubleshooting")
    status = current.get("Status", "ACTIVE")
    if status != "ACTIVE":
        return Check("association", False, f"{wanted} is {status}", "run `pgs3v aws associate` again; if it "
                     "stays INVALID, check the role's trust policy (rds.amazonaws.com)")
    return Check("association", True, f"{role_name(wanted)} ACTIVE for {FEATURE}")


def _network(calls: AwsCalls, config: AwsConfig) -> Check:
    if not config.vpc_id:
        return _skipped("network", "the config names no VPC (run `pgs3v aws configure` again)")
    service = f"com.amazonaws.{config.region}.lambda"
    by_vpc = [{"Name": "vpc-id", "Values": [config.vpc_id]}]
    endpoints = calls.read("ec2", "describe_vpc_endpoints",
                           Filters=[*by_vpc, {"Name": "service-name", "Values": [service]}])["VpcEndpoints"]
    if any(endpoint.get("State", "available").lower() == "available" for endpoint in endpoints):
        return Check("network", True, f"interface endpoint {service} in {config.vpc_id}")
    gateways = calls.read("ec2", "describe_nat_gateways",
                          Filter=[*by_vpc, {"Name": "state", "Values": ["available"]}])["NatGateways"]
    if gateways:
        return Check("network", True, f"NAT gateway {gateways[0]['NatGatewayId']} in {config.vpc_id} "
                     "(its routes are not checked)")
    members = describe_cluster(calls, config.cluster_id).get("DBClusterMembers", [])
    for member in members:
        instance = calls.read("rds", "describe_db_instances", DBInstanceIdentifier=member["DBInstanceIdentifier"])
        if instance["DBInstances"] and instance["DBInstances"][0].get("PubliclyAccessible"):
            return Check("network", True, f"instance {member['DBInstanceIdentifier']} is publicly accessible "
                         "(its security group's outbound HTTPS rule is not checked)")
    subnets = " ".join(config.subnet_ids)
    groups = " ".join(config.security_group_ids)
    return Check("network", False, f"no path from {config.vpc_id} to Lambda: no {service} endpoint, no NAT gateway",
                 f"aws ec2 create-vpc-endpoint --vpc-id {config.vpc_id} --vpc-endpoint-type Interface "
                 f"--service-name {service} --subnet-ids {subnets} --security-group-ids {groups} "
                 "--private-dns-enabled (the groups must allow HTTPS from the cluster), or a NAT gateway")


def _schema(config: AwsConfig, conninfo: str) -> Check:
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
            version = _scalar(conn, "SELECT extversion FROM pg_extension WHERE extname = 'aws_lambda'")
            provider = f"aws_lambda {version}" if version else "aws_lambda shim"
            if _scalar(conn, "SELECT to_regprocedure('s3vectors.schema_version()') IS NULL"):
                return Check("schema", False, "schema s3vectors is not installed", "run `pgs3v aws install`")
            installed = _scalar(conn, "SELECT s3vectors.schema_version()")
            row = conn.execute("SELECT to_jsonb(s) FROM s3vectors.settings AS s").fetchone()
    except psycopg.Error as problem:
        return Check("schema", False, f"cannot connect: {str(problem).strip().splitlines()[0]}",
                     "run from where the cluster endpoint is reachable, with PGPASSWORD, or give --conninfo")
    settings: dict[str, Any] = row[0] if row else {}
    # Read as JSON: a schema older than 0.3.0 has no query/write columns, which is itself the finding.
    calling = {role: settings.get(column) for role, column in
               (("query", "query_function_name"), ("write", "write_function_name"), ("manage", "function_name"))}
    wrong = [f"{role} calls {calling[role]}, not {name}" for role, name in config.function_names().items()
             if calling[role] != name]
    if wrong:
        return Check("schema", False, f"s3vectors {installed}: {'; '.join(wrong)}", "run `pgs3v aws install`")
    return Check("schema", True, f"s3vectors {installed} with {provider}, calling "
                 + ", ".join(f"{role} {name}" for role, name in calling.items()))


def _live(config: AwsConfig, conninfo: str) -> list[Check]:
    results = []
    probes = (("live manage", "manage", LIVE_MANAGE, ()),
              ("live query", "query", LIVE_QUERY, (config.vector_bucket, config.index_name)))
    for name, role, query, params in probes:
        shown = query.split(" FROM ")[1].split("(")[0]
        try:
            with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
                conn.execute("SET statement_timeout = '60s'")
                answer = f"{_scalar(conn, query, params)} rows"
        except psycopg.Error as problem:
            message = str(problem).strip().splitlines()[0]
            if problem.sqlstate != NOT_FOUND:
                results.append(Check(name, False, f"{shown}: {message}", _live_fix(message, config, role)))
                continue
            answer = message
        results.append(Check(name, True, f"{shown} through {config.function_names()[role]}: {answer}"))
    return results


def _live_fix(message: str, config: AwsConfig, role: str) -> str:
    lowered = message.lower()
    name = config.function_names()[role]
    if any(word in lowered for word in ("timed out", "timeout", "could not connect", "unable to connect")):
        return "the cluster cannot reach Lambda: see the network check (a Lambda VPC endpoint or a NAT gateway)"
    if any(word in lowered for word in ("not authorized", "accessdenied", "access denied", "credentials")):
        return "the cluster's role may not invoke the function: `pgs3v aws associate`, then check the aurora role"
    if "function" in lowered or "lambda" in lowered:
        return f"the function failed: read its log, `aws logs tail /aws/lambda/{name} --since 10m`"
    return "read the message; `pgs3v aws doctor` after each fix"


def _vector_index(calls: AwsCalls, config: AwsConfig) -> Check:
    name = f"{config.vector_bucket}/{config.index_name}"
    try:
        index = calls.read("s3vectors", "get_index", vectorBucketName=config.vector_bucket,
                           indexName=config.index_name)["index"]
    except ClientError as problem:
        if error_code(problem) == "NotFoundException":
            return _skipped("vector index", f"no index {name} (`pgs3v aws load-sample` makes the sample one)")
        return Check("vector index", False, f"{name}: {problem}", "check S3 Vectors permissions for your user")
    except BotoCoreError as problem:
        return Check("vector index", False, f"{name}: {problem}", "check the region and --s3vectors-endpoint")
    return Check("vector index", True, f"{name} {index.get('dimension')} dims {index.get('distanceMetric')}")


def _skipped(name: str, why: str) -> Check:
    return Check(name, None, why)


def _runtime_version(runtime: str) -> tuple[int, ...]:
    digits = runtime.removeprefix("python")
    try:
        return tuple(int(part) for part in digits.split("."))
    except ValueError:
        return (0,)


def _scalar(conn: psycopg.Connection[Any], query: str, params: tuple[str, ...] = ()) -> Any:
    row = conn.execute(query, params or None).fetchone()
    return row[0] if row else None
