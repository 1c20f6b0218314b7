"""`pgs3v aws associate` and its undoing: the stack's Aurora role on the DB cluster, for the feature Lambda.

Aurora's aws_lambda extension signs its Invoke calls with the role associated for ``Lambda``; a
cluster holds one role per feature, so another role already there is reported, never replaced.
"""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from pgs3v.aws import template
from pgs3v.aws.calls import AwsCalls
from pgs3v.aws.config import AwsConfig
from pgs3v.aws.configure import describe_cluster
from pgs3v.aws.errors import AwsStepError

FEATURE = "Lambda"
ACTIVE_WAIT_SECONDS = 300.0


def aurora_role_arn(config: AwsConfig) -> str:
    """The role the stack made for Aurora; an AwsStepError saying to deploy when there is none."""
    role = config.outputs.get(template.AURORA_LAMBDA_ROLE_ARN, "")
    if not role:
        raise AwsStepError("the config has no stack outputs (AuroraLambdaRoleArn): run `pgs3v aws deploy` first")
    return role


def lambda_role(cluster: dict[str, Any]) -> dict[str, Any] | None:
    """The cluster's role for the feature Lambda (RoleArn, Status), or None."""
    for role in cluster.get("AssociatedRoles", []):
        if role.get("FeatureName") == FEATURE:
            found: dict[str, Any] = role
            return found
    return None


def associate(calls: AwsCalls, config: AwsConfig, *, poll_seconds: float = 5.0) -> None:
    """Add the stack's Aurora role to the cluster for Lambda, unless it is there; wait until it is ACTIVE."""
    role_arn = aurora_role_arn(config)
    current = lambda_role(describe_cluster(calls, config.cluster_id))
    if current is not None and current.get("RoleArn") == role_arn:
        calls.say(f"role {role_arn} already associated with {config.cluster_id} for {FEATURE} "
                  f"({current.get('Status', 'status unknown')})")
    elif current is not None:
        raise AwsStepError(
            f"cluster {config.cluster_id} already has role {current.get('RoleArn')} for {FEATURE}, and a cluster "
            f"holds one role per feature: remove it (`aws rds remove-role-from-db-cluster --db-cluster-identifier "
            f"{config.cluster_id} --role-arn {current.get('RoleArn')} --feature-name {FEATURE}`) or give it "
            f"lambda:InvokeFunction on the pgs3v functions, then run `pgs3v aws associate` again")
    else:
        calls.change("rds", "add_role_to_db_cluster", DBClusterIdentifier=config.cluster_id, RoleArn=role_arn,
                     FeatureName=FEATURE)
    if calls.dry_run:
        return
    deadline = time.monotonic() + ACTIVE_WAIT_SECONDS
    while True:
        current = lambda_role(describe_cluster(calls, config.cluster_id))
        status = (current or {}).get("Status", "ACTIVE")  # an API without Status: the add succeeded
        if status == "ACTIVE":
            calls.say(f"role {role_arn}: ACTIVE on {config.cluster_id} for {FEATURE}")
            return
        if status == "INVALID" or time.monotonic() > deadline:
            raise AwsStepError(f"role {role_arn} is {status} on {config.cluster_id}: check that its trust policy "
                               "allows rds.amazonaws.com, then run `pgs3v aws associate` again")
        calls.say(f"role {role_arn}: {status}, waiting")
        time.sleep(poll_seconds)


def disassociate(calls: AwsCalls, config: AwsConfig) -> str | None:
    """Remove the stack's role from the cluster if it is there; None, or why it could not be removed."""
    role_arn = config.outputs.get(template.AURORA_LAMBDA_ROLE_ARN, "")
    try:
        current = lambda_role(describe_cluster(calls, config.cluster_id))
    except AwsStepError as problem:
        return str(problem)
    if current is None or (role_arn and current.get("RoleArn") != role_arn):
        calls.say(f"no pgs3v role associated with {config.cluster_id} for {FEATURE}")
        return None
    role_arn = str(current["RoleArn"])
    try:
        calls.change("rds", "remove_role_from_db_cluster", DBClusterIdentifier=config.cluster_id,
                     RoleArn=role_arn, FeatureName=FEATURE)
    except (ClientError, BotoCoreError, ResponseParserError) as problem:
        return _removal_failure(calls, config, role_arn, problem)
    return None


def _removal_failure(calls: AwsCalls, config: AwsConfig, role_arn: str, problem: Exception) -> str:
    manual = (f"`aws rds remove-role-from-db-cluster --db-cluster-identifier {config.cluster_id} "
              f"--role-arn {role_arn} --feature-name {FEATURE}`")
    # moto 5.2.5 has no RemoveRoleFromDBCluster: its RDS responses lack remove_role_from_db_cluster,
    # so its dispatcher raises NotImplementedError and the server answers an HTML 500 page, which
    # botocore cannot parse (ResponseParserError). Real RDS implements the call.
    if "500 Internal Server Error" in str(problem) and calls.clients.endpoint_url:
        return (f"the endpoint {calls.clients.endpoint_url} answered RemoveRoleFromDBCluster with HTTP 500 "
                f"(moto does not implement that action); role {role_arn} stays associated: on AWS run {manual}")
    return f"RemoveRoleFromDBCluster failed ({problem}); role {role_arn} stays associated: run {manual}"
