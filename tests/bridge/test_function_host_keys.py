"""The function host's registry keys: each may invoke what its identity policies allow, as Lambda decides."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pgs3v.auth.credentials import Credentials
from pgs3v.auth.key_registry import KeyRegistry
from pgs3v.bridge.process import FunctionHostProcess
from tests.bridge.conftest import invoke, start_host
from tests.bridge.test_function_host import error_of
from tests.support import StoreProcess

ECHO_ARN = "arn:aws:lambda:us-east-1:000000000000:function:echo"
CHATTY_ARN = "arn:aws:lambda:us-east-1:000000000000:function:chatty"


def policy(*statements: dict[str, Any]) -> str:
    """An identity policy document with these statements."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ECHO_ONLY = policy({"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": ECHO_ARN})


@pytest.fixture(scope="module")
def keyed_host(store_server: StoreProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[FunctionHostProcess, Path]]:
    """A function host reading the key registry of its own --data-dir; the host and that directory."""
    data_dir = tmp_path_factory.mktemp("host-keys")
    host = start_host(store_server.endpoint, "--data-dir", str(data_dir), log_file=data_dir / "host.log")
    try:
        yield host, data_dir
    finally:
        host.stop()


def client_for(host: FunctionHostProcess, credentials: Credentials) -> Any:
    """boto3's lambda client for ``host``, signing with ``credentials``."""
    return FunctionHostProcess(host.store_endpoint, credentials, port=host.port).client()


def new_key(data_dir: Path, name: str, *policies: str) -> Credentials:
    """A key of the host's registry with these identity policies."""
    return KeyRegistry(data_dir).create(name, list(policies))[1]


def test_a_key_invokes_only_the_functions_its_policy_allows(keyed_host: tuple[FunctionHostProcess, Path]) -> None:
    host, data_dir = keyed_host
    lambda_client = client_for(host, new_key(data_dir, "echo-only", ECHO_ONLY))
    assert invoke(lambda_client, {"hello": 1}, "echo").payload == {"hello": 1}
    code, status, response = error_of(lambda_client, FunctionName="chatty")
    assert (code, status) == ("AccessDeniedException", 403)
    assert response["Error"]["Message"] == (
        f"User: arn:aws:iam::000000000000:user/echo-only is not authorized to perform: lambda:InvokeFunction "
        f"on resource: {CHATTY_ARN} because no identity-based policy allows the lambda:InvokeFunction action")
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "AccessDeniedException"
    # Each denial is logged with who, what and on which function.
    assert (f"invoke denied: principal=arn:aws:iam::000000000000:user/echo-only action=lambda:InvokeFunction "
            f"resource={CHATTY_ARN} decision=IMPLICIT_DENY") in (data_dir / "host.log").read_text()
    # Checked on the ARN named, before the function is looked up, and for a DryRun (its purpose).
    assert error_of(lambda_client, FunctionName="no-such-function")[:2] == ("AccessDeniedException", 403)
    assert error_of(lambda_client, FunctionName="chatty", InvocationType="DryRun")[:2] == \
        ("AccessDeniedException", 403)
    assert lambda_client.invoke(FunctionName="echo", InvocationType="DryRun")["StatusCode"] == 204
    # A qualified ARN is another resource than the unqualified one the policy names, as on Lambda.
    assert error_of(lambda_client, FunctionName="echo:$LATEST")[:2] == ("AccessDeniedException", 403)


def test_the_owner_key_still_invokes_everything(keyed_host: tuple[FunctionHostProcess, Path]) -> None:
    host, _ = keyed_host
    assert invoke(host.client(), {}, "chatty").status == 200
    assert error_of(host.client(), FunctionName="no-such-function")[:2] == ("ResourceNotFoundException", 404)


def test_an_explicit_deny_wins_and_says_so(keyed_host: tuple[FunctionHostProcess, Path]) -> None:
    host, data_dir = keyed_host
    denying = policy({"Effect": "Allow", "Action": "lambda:*", "Resource": "*"},
                     {"Effect": "Deny", "Action": "lambda:InvokeFunction", "Resource": CHATTY_ARN})
    lambda_client = client_for(host, new_key(data_dir, "all-but-chatty", denying))
    assert invoke(lambda_client, {}, "echo").status == 200
    _, _, response = error_of(lambda_client, FunctionName="chatty")
    assert response["Error"]["Message"].endswith("with an explicit deny in an identity-based policy")


def test_other_services_rights_do_not_allow_invoking(keyed_host: tuple[FunctionHostProcess, Path]) -> None:
    host, data_dir = keyed_host
    reader = policy({"Effect": "Allow", "Action": ["s3vectors:QueryVectors", "s3vectors:GetVectors"], "Resource": "*"})
    lambda_client = client_for(host, new_key(data_dir, "vector-reader", reader))
    assert error_of(lambda_client, FunctionName="echo")[:2] == ("AccessDeniedException", 403)


def test_keys_created_and_deleted_while_the_host_runs_count_within_a_second(
        keyed_host: tuple[FunctionHostProcess, Path]) -> None:
    host, data_dir = keyed_host
    lambda_client = client_for(host, new_key(data_dir, "short-lived", ECHO_ONLY))
    assert invoke(lambda_client, {}, "echo").status == 200  # an unknown key is looked up at once
    KeyRegistry(data_dir).delete("short-lived")
    deleted_at = time.monotonic()
    while True:
        try:
            lambda_client.invoke(FunctionName="echo", Payload=b"{}")
        except ClientError as refused:
            assert refused.response["Error"]["Code"] == "UnrecognizedClientException"
            break
        assert time.monotonic() - deleted_at < 3, "the deleted key is still accepted"
        time.sleep(0.05)
