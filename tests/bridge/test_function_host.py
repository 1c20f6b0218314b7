"""The function host speaks the Lambda Invoke API: what boto3's lambda client and plain HTTP see."""

from __future__ import annotations

import base64
import json
import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotocoreCredentials
from botocore.exceptions import ClientError

from pgs3v.bridge.process import FunctionHostProcess
from tests.bridge.conftest import CREDENTIALS, call, invoke, start_host
from tests.support import StoreProcess


def error_of(lambda_client: Any, **kwargs: Any) -> tuple[str, int, dict[str, Any]]:
    """(code, HTTP status, whole response) of an Invoke call that must fail."""
    kwargs.setdefault("Payload", b"{}")
    with pytest.raises(ClientError) as caught:
        lambda_client.invoke(**kwargs)
    response: dict[str, Any] = dict(caught.value.response)
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response


def test_health_answers_without_authentication(function_host: FunctionHostProcess) -> None:
    with urllib.request.urlopen(f"{function_host.endpoint}/_pgs3v/health", timeout=10) as reply:
        body = json.loads(reply.read())
    assert body["status"] == "ok" and "pgs3v-bridge" in body["functions"]


def test_request_response_answers_200_with_the_executed_version(lambda_client: Any) -> None:
    result = invoke(lambda_client, {"a": [1, 2.5, "x", None]}, function="echo")
    assert result.status == 200 and result.payload == {"a": [1, 2.5, "x", None]}
    assert result.raw["ExecutedVersion"] == "$LATEST" and result.function_error is None


def test_an_empty_payload_reaches_the_handler_as_an_empty_object(lambda_client: Any) -> None:
    reply = lambda_client.invoke(FunctionName="echo")
    assert json.loads(reply["Payload"].read()) == {}


@pytest.mark.parametrize("name", [
    "echo",
    "echo:$LATEST",
    "123456789012:function:echo",
    "arn:aws:lambda:eu-west-1:123456789012:function:echo",
    "arn:aws:lambda:us-east-1:000000000000:function:echo:$LATEST",
])
def test_functions_are_found_by_name_partial_arn_and_full_arn(lambda_client: Any, name: str) -> None:
    assert invoke(lambda_client, {"n": 1}, function=name).payload == {"n": 1}


def test_the_context_names_the_arn_invoked_and_carries_the_client_context(lambda_client: Any) -> None:
    custom = base64.b64encode(json.dumps({"custom": {"caller": "sql"}}).encode()).decode()
    result = invoke(lambda_client, {}, function="chatty", Qualifier="$LATEST", ClientContext=custom)
    assert result.payload["arn"] == "arn:aws:lambda:us-east-1:000000000000:function:chatty:$LATEST"
    assert result.payload["requestId"] == result.raw["ResponseMetadata"]["RequestId"]
    assert result.payload["custom"] == {"caller": "sql"}
    assert 0 < result.payload["remainingMs"] <= 60_000


def test_unknown_function_is_a_404_in_lambdas_error_shape(lambda_client: Any) -> None:
    code, status, response = error_of(lambda_client, FunctionName="no-such-function")
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert response["Error"]["Message"] == (
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:no-such-function"
    )
    assert response["Type"] == "User"
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "ResourceNotFoundException"


def test_an_unpublished_qualifier_is_not_found_and_a_conflicting_one_is_refused(lambda_client: Any) -> None:
    code, status, response = error_of(lambda_client, FunctionName="pgs3v-bridge", Qualifier="7")
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert response["Error"]["Message"].endswith(":function:pgs3v-bridge:7")
    code, status, _ = error_of(lambda_client, FunctionName="pgs3v-bridge:live", Qualifier="$LATEST")
    assert (code, status) == ("InvalidParameterValueException", 400)


def test_a_payload_that_is_not_json_is_invalid_request_content(lambda_client: Any) -> None:
    code, status, response = error_of(lambda_client, FunctionName="pgs3v-bridge", Payload=b"{not json")
    assert (code, status) == ("InvalidRequestContentException", 400)
    assert response["Error"]["Message"].startswith("Could not parse request body into json")


def test_an_unknown_invocation_type_is_a_validation_error(lambda_client: Any) -> None:
    code, status, _ = error_of(lambda_client, FunctionName="echo", InvocationType="Sometimes")
    assert (code, status) == ("ValidationException", 400)


def test_payloads_over_lambdas_limits_are_refused(lambda_client: Any) -> None:
    big = json.dumps({"pad": "x" * (6 * 1024 * 1024)}).encode()
    code, status, _ = error_of(lambda_client, FunctionName="echo", Payload=big)
    assert (code, status) == ("RequestTooLargeException", 413)
    medium = json.dumps({"pad": "x" * (300 * 1024)}).encode()
    code, status, _ = error_of(lambda_client, FunctionName="echo", Payload=medium, InvocationType="Event")
    assert (code, status) == ("RequestTooLargeException", 413)
    assert invoke(lambda_client, medium, function="echo").status == 200


def test_a_handler_exception_is_a_function_error_with_lambdas_body(lambda_client: Any) -> None:
    result = invoke(lambda_client, {"why": "testing"}, function="explode", LogType="Tail")
    assert result.status == 200 and result.function_error == "Unhandled"
    assert result.payload["errorMessage"] == "boom: testing"
    assert result.payload["errorType"] == "ValueError"
    assert any("sample_functions.py" in frame for frame in result.payload["stackTrace"])
    assert result.log is not None and "[ERROR]" in result.log and "ValueError: boom: testing" in result.log


def test_a_result_that_is_not_json_is_a_marshal_error(lambda_client: Any) -> None:
    result = invoke(lambda_client, {}, function="unserialisable")
    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == "Runtime.MarshalError"


def test_log_tail_is_the_last_4_kb_of_this_invocations_log_only(lambda_client: Any) -> None:
    results: dict[str, Any] = {}

    def run(marker: str) -> None:
        results[marker] = invoke(lambda_client, {"marker": marker, "lines": 40, "pause": 0.001},
                                 function="chatty", LogType="Tail")

    threads = [threading.Thread(target=run, args=(marker,)) for marker in ("alpha", "omega")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for marker, other in (("alpha", "omega"), ("omega", "alpha")):
        log = results[marker].log
        assert log is not None and len(log.encode()) <= 4096
        assert f"{marker} line 39 " in log and other not in log
        assert f"{marker} from chatty" not in log  # the first lines fell out of the 4 KB tail
        assert log.splitlines()[-1].startswith("REPORT RequestId:")


def test_a_bad_signature_is_refused_with_403(function_host: FunctionHostProcess) -> None:
    forged = FunctionHostProcess(function_host.store_endpoint, type(CREDENTIALS)(CREDENTIALS.access_key_id, "wrong"),
                                 port=function_host.port).client()
    code, status, _ = error_of(forged, FunctionName="pgs3v-bridge")
    assert (code, status) == ("InvalidSignatureException", 403)
    stranger = FunctionHostProcess(function_host.store_endpoint, type(CREDENTIALS)("AKIDSTRANGER", "x"),
                                   port=function_host.port).client()
    code, status, _ = error_of(stranger, FunctionName="pgs3v-bridge")
    assert (code, status) == ("UnrecognizedClientException", 403)


def test_an_unsigned_request_is_refused_before_anything_runs(function_host: FunctionHostProcess) -> None:
    request = urllib.request.Request(f"{function_host.endpoint}/2015-03-31/functions/echo/invocations",
                                     data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 403
    assert caught.value.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_a_handler_past_its_timeout_is_answered_as_timed_out(store_server: StoreProcess) -> None:
    host = start_host(store_server.endpoint, "--timeout", "0.2",
                      "--function", "sleepy=tests.bridge.sample_functions.sleepy")
    try:
        result = invoke(host.client(), {"seconds": 5}, function="sleepy")
        assert result.status == 200 and result.function_error == "Unhandled"
        assert result.payload["errorType"] == "Sandbox.Timedout"
        assert "Task timed out after 0.20 seconds" in result.payload["errorMessage"]
        # The host stays usable while the abandoned handler finishes on its own.
        assert call(host.client(), "ListVectorBuckets", {})["response"]["vectorBuckets"] is not None
    finally:
        host.stop()


def test_stopping_the_host_lets_running_event_invocations_finish(store_server: StoreProcess, tmp_path: Path) -> None:
    host = start_host(store_server.endpoint, "--function", "sleepy=tests.bridge.sample_functions.sleepy")
    marker = tmp_path / "finished"
    try:
        result = invoke(host.client(), {"seconds": 1, "touch": str(marker)}, function="sleepy", InvocationType="Event")
        assert result.status == 202
    finally:
        host.stop()  # SIGTERM right away: the host drains acknowledged Event invocations before exiting
    assert marker.read_text() == "done"


def raw_exchange(function_host: FunctionHostProcess, head: bytes, body: bytes) -> tuple[bytes, bytes]:
    """(the interim 100 Continue answer, the final answer) of a request sent with Expect: 100-continue."""
    with socket.create_connection(("127.0.0.1", function_host.port), timeout=10) as sock:
        sock.sendall(head)
        interim = b""
        while b"\r\n\r\n" not in interim:
            interim += sock.recv(65536)
        sock.sendall(body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
        length = int(answer.lower().partition(b"content-length: ")[2].partition(b"\r\n")[0])
        while len(answer.partition(b"\r\n\r\n")[2]) < length:
            answer += sock.recv(65536)
    return interim, answer


def test_expect_100_continue_is_answered_before_the_body_is_sent(function_host: FunctionHostProcess) -> None:
    # The host holds each response head back to send it with the body (one write); an interim
    # 100 Continue must still go out at once, or the client would wait for it before sending.
    url = f"{function_host.endpoint}/2015-03-31/functions/echo/invocations"
    body = b'{"hello": "continue"}'
    signed = AWSRequest("POST", url, data=body, headers={"Expect": "100-continue"})
    SigV4Auth(BotocoreCredentials(CREDENTIALS.access_key_id, CREDENTIALS.secret_access_key), "lambda",
              "us-east-1").add_auth(signed)
    lines = ["POST /2015-03-31/functions/echo/invocations HTTP/1.1", f"Host: 127.0.0.1:{function_host.port}",
             f"Content-Length: {len(body)}", *(f"{name}: {value}" for name, value in signed.headers.items())]
    interim, answer = raw_exchange(function_host, ("\r\n".join(lines) + "\r\n\r\n").encode(), body)
    assert interim.startswith(b"HTTP/1.1 100 Continue\r\n")
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert json.loads(payload) == {"hello": "continue"}
