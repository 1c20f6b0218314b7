"""The CloudFormation stack: its status, and waiting for it with each event printed as it happens."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from pgs3v.aws.calls import AwsCalls, error_code
from pgs3v.aws.errors import AwsStepError

# Stable states a stack can be updated from.
READY = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"}
SUCCEEDED = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "IMPORT_COMPLETE"}
POLL_SECONDS = 5.0
WAIT_SECONDS = 1800.0  # a first create with VPC functions can take ~10 minutes; deletion of VPC ENIs longer


def describe_stack(calls: AwsCalls, name: str) -> dict[str, Any] | None:
    """The stack as DescribeStacks returns it, or None when there is none (or it is deleted)."""
    try:
        stacks = calls.read("cloudformation", "describe_stacks", StackName=name)["Stacks"]
    except ClientError as problem:
        if error_code(problem) == "ValidationError" and "does not exist" in str(problem):
            return None
        raise
    stack: dict[str, Any] | None = stacks[0] if stacks else None
    if stack is not None and stack.get("StackStatus") == "DELETE_COMPLETE":
        return None
    return stack


def stack_outputs(stack: dict[str, Any]) -> dict[str, str]:
    """The stack's outputs, by key."""
    return {str(item["OutputKey"]): str(item["OutputValue"]) for item in stack.get("Outputs", [])}


def event_ids(calls: AwsCalls, name: str) -> set[str]:
    """The ids of the stack's events so far, so a wait prints only the new ones."""
    try:
        events = calls.read("cloudformation", "describe_stack_events", StackName=name)["StackEvents"]
    except ClientError:
        return set()
    return {str(event["EventId"]) for event in events}


def wait_for_stack(calls: AwsCalls, name: str, seen: set[str], *, poll_seconds: float = POLL_SECONDS,
                   timeout_seconds: float = WAIT_SECONDS) -> dict[str, Any] | None:
    """Wait until the stack leaves its *_IN_PROGRESS state, printing each new event; the stack (None: deleted)."""
    deadline = time.monotonic() + timeout_seconds
    started = time.monotonic()
    while True:
        _print_new_events(calls, name, seen, started)
        stack = describe_stack(calls, name)
        status = "DELETE_COMPLETE" if stack is None else str(stack["StackStatus"])
        if not status.endswith("_IN_PROGRESS"):
            _print_new_events(calls, name, seen, started)
            if status not in SUCCEEDED:
                reason = (stack or {}).get("StackStatusReason") or "see the events above"
                raise AwsStepError(f"stack {name} ended in {status}: {reason}; fix the cause, then run the step "
                                   f"again (a stack in ROLLBACK_COMPLETE must be deleted first: `pgs3v aws cleanup`)")
            return stack
        if time.monotonic() > deadline:
            raise AwsStepError(f"stack {name} still {status} after {timeout_seconds:.0f} s: watch it in the "
                               "CloudFormation console, then run the step again")
        time.sleep(poll_seconds)


def _print_new_events(calls: AwsCalls, name: str, seen: set[str], started: float) -> None:
    try:
        events = calls.read("cloudformation", "describe_stack_events", StackName=name)["StackEvents"]
    except ClientError:
        return  # a deleted stack has no events to read by name
    for event in reversed(events):  # oldest first
        if event["EventId"] in seen:
            continue
        seen.add(str(event["EventId"]))
        reason = f"  {event['ResourceStatusReason']}" if event.get("ResourceStatusReason") else ""
        calls.say(f"  {time.monotonic() - started:6.1f} s  {event.get('LogicalResourceId', ''):<24} "
                  f"{event.get('ResourceStatus', '')}{reason}")
