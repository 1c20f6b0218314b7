"""Several functions in one host process: each invocation sees its own function's environment and keys."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from pgs3v.bridge import invocation
from pgs3v.bridge.function_environment import current_environment, function_environment
from pgs3v.bridge.functions import FunctionSpec, Target
from pgs3v.bridge.store_client import reset_store_client, store_client


def _report(event: Any, context: Any) -> dict[str, str | None]:
    return {"key": current_environment().get("AWS_ACCESS_KEY_ID"), "shared": current_environment().get("SHARED")}


def _spec(name: str, key: str) -> Target:
    spec = FunctionSpec(name, _report, "tests.bridge.test_function_environment._report",
                        environment={"AWS_ACCESS_KEY_ID": key})
    return Target(spec, f"arn:aws:lambda:us-east-1:000000000000:function:{name}")


def test_invocations_in_parallel_each_see_their_own_functions_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "PROCESS")
    monkeypatch.setenv("SHARED", "from the host")
    targets = [_spec("reader", "READER"), _spec("writer", "WRITER")] * 50
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda t: invocation.run(t, {}, "id"), targets))
    seen = [json.loads(outcome.payload) for outcome in outcomes]
    assert seen == [{"key": "READER", "shared": "from the host"}, {"key": "WRITER", "shared": "from the host"}] * 50
    assert os.environ["AWS_ACCESS_KEY_ID"] == "PROCESS" and current_environment() is os.environ


def test_the_bridge_keeps_a_client_per_function_signing_with_its_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGS3V_STORE_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "PROCESS")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "process-secret")
    reset_store_client()
    try:
        clients = {}
        for key in ("READER", "WRITER"):
            with function_environment({"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": f"{key}-secret"}):
                clients[key] = store_client()
                assert store_client() is clients[key]
        process = store_client()
        signing = {name: c.client._request_signer._credentials.access_key for name, c in clients.items()}
        assert signing == {"READER": "READER", "WRITER": "WRITER"}
        assert process.client._request_signer._credentials.access_key == "PROCESS"
    finally:
        reset_store_client()
