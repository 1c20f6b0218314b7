"""A lean transport for the S3 Vectors data operations: JSON over one kept-alive connection.

boto3 spends about 1.3 ms of Python per QueryVectors call walking the request and the answer
through the service model, firing event hooks and going through urllib3. The data operations
(Put/Get/List/Delete/QueryVectors) are rest-json with every member in the JSON body and no
timestamps in their answers, so a call is just ``POST /<Operation>`` with the request as JSON,
and the parsed answer is exactly what boto3 would return. This transport does only that:
``json.dumps``, SigV4 from botocore's own ``SigV4Auth`` (session tokens included), one
kept-alive ``http.client`` connection per thread with TCP_NODELAY and each request in a single
write, ``json.loads``. Measured by ``pgs3v bench sql``: 1.1–1.4 ms less per store call
(docs/benchmarks.md).

It raises what boto3 raises, so the bridge's error handling and retries work unchanged:
``ClientError`` with boto3's response shape for API errors, ``ReadTimeoutError``,
``EndpointConnectionError`` and ``ConnectionClosedError`` for transport failures. Standard
library and botocore only, as everything on the Lambda path.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import sys
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
from botocore.exceptions import SSLError as BotocoreSSLError

from pgs3v.tls import ca_file_from, client_context

# Operations whose requests and answers are plain JSON bodies (no path parameters, no
# timestamps): for these the transport's answer equals boto3's parsed answer.
JSON_OPERATIONS = frozenset({"PutVectors", "GetVectors", "ListVectors", "DeleteVectors", "QueryVectors"})

# A kept-alive connection the server closed while idle fails like this on reuse; the request
# never reached a live server, so one retry on a fresh connection is safe.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class _OneWriteConnection(http.client.HTTPConnection):
    """http.client's connection, sending a request's headers and body in a single write.

    http.client writes the headers, then the body (any body over 0 bytes: a QueryVectors of 384
    floats is 4.8 KB). The store then wakes up for the headers and again for the body; on two
    shared cores that second wake-up and the second segment showed in py-spy as 19% of the
    function host's samples inside ``HTTPConnection.send``.
    """

    pending_body = b""

    def send(self, data: Any) -> None:
        """Send ``data``, with the pending body appended when there is one."""
        body, self.pending_body = self.pending_body, b""
        super().send(bytes(data) + body if body else data)


class _OneWriteTlsConnection(_OneWriteConnection, http.client.HTTPSConnection):
    """The same over TLS."""


def _fast_json() -> tuple[Any, Any]:
    """(dumps to bytes, loads): orjson's when this process already has it, else the standard library's.

    The local function host imports orjson anyway; there, serializing a QueryVectors request of 384
    floats takes 7 µs instead of json.dumps' 147 µs. The module never imports orjson itself, so
    on AWS Lambda (standard library and botocore only) nothing changes.
    """
    orjson = sys.modules.get("orjson")
    if orjson is not None:
        return orjson.dumps, orjson.loads
    return (lambda value: json.dumps(value, separators=(",", ":")).encode("utf-8")), json.loads


class JsonTransport:
    """Call S3 Vectors data operations with JSON over one kept-alive connection per thread."""

    def __init__(self, endpoint: str, credentials: Any, region: str, connect_timeout: float,
                 read_timeout: float, ca_file: str | None = None) -> None:
        """Calls to ``endpoint``; https is verified against ``ca_file``, else $AWS_CA_BUNDLE, else the system's CAs."""
        url = urlsplit(endpoint)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) endpoint: {endpoint!r}")
        # Built once: loading CA certificates costs milliseconds, and one context serves every thread.
        # $AWS_CA_BUNDLE as botocore reads it, so this transport trusts what the boto3 clients beside it do.
        self._tls = client_context(ca_file or ca_file_from()) if url.scheme == "https" else None
        self.endpoint = endpoint.rstrip("/")
        self._url = url
        self._path_prefix = url.path.rstrip("/")
        self._signer = SigV4Auth(credentials, "s3vectors", region)
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._local = threading.local()
        self._dumps, self._loads = _fast_json()

    def call(self, operation: str, request: Mapping[str, Any]) -> dict[str, Any]:
        """The operation's response (without ResponseMetadata); ClientError for an API error."""
        try:
            body: bytes = self._dumps(request)
        except TypeError:  # orjson refuses what json takes (integers past 64 bits, non-str keys)
            body = json.dumps(request, separators=(",", ":")).encode("utf-8")
        return self.call_body(operation, body)

    def call_body(self, operation: str, body: bytes) -> dict[str, Any]:
        """Like :meth:`call` for a request the caller already serialized as JSON (e.g. with orjson)."""
        signed = AWSRequest("POST", f"{self.endpoint}/{operation}", data=body,
                            headers={"Content-Type": "application/json"})
        self._signer.add_auth(signed)
        headers = dict(signed.headers.items())
        status, reason, response_headers, data = self._exchange(f"{self._path_prefix}/{operation}", headers, body)
        if 200 <= status < 300:
            answer: dict[str, Any] = self._loads(data) if data.strip() else {}
            return answer
        raise ClientError(_error_response(status, reason, response_headers, data), operation)

    def close(self) -> None:
        """Close this thread's connection."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            self._drop(connection)

    def _exchange(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str, dict[str, str], bytes]:
        for attempt in (1, 2):
            connection = getattr(self._local, "connection", None)
            reused = connection is not None
            if connection is None:
                connection = self._connect()
            try:
                connection.putrequest("POST", path)
                for name, value in headers.items():
                    connection.putheader(name, value)
                connection.putheader("Content-Length", str(len(body)))
                connection.pending_body = body
                connection.endheaders()
                response = connection.getresponse()
                data = response.read()
            except TimeoutError:
                self._drop(connection)
                raise ReadTimeoutError(endpoint_url=self.endpoint) from None
            except _STALE:
                self._drop(connection)
                if reused and attempt == 1:
                    continue
                raise ConnectionClosedError(endpoint_url=self.endpoint) from None
            return response.status, response.reason, {k.lower(): v for k, v in response.getheaders()}, data
        raise AssertionError("unreachable")

    def _connect(self) -> _OneWriteConnection:
        url = self._url
        connection: _OneWriteConnection
        if self._tls is not None:
            connection = _OneWriteTlsConnection(url.hostname or "", url.port, timeout=self._connect_timeout,
                                                context=self._tls)
        else:
            connection = _OneWriteConnection(url.hostname or "", url.port, timeout=self._connect_timeout)
        try:
            # http.client sets TCP_NODELAY on the TCP socket before the TLS handshake.
            connection.connect()
        except ssl.SSLError as error:  # what boto3 raises for an untrusted or mismatched certificate
            connection.close()
            raise BotocoreSSLError(endpoint_url=self.endpoint, error=error) from None
        except OSError as error:
            raise EndpointConnectionError(endpoint_url=self.endpoint, error=error) from None
        if connection.sock is not None:
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection.sock.settimeout(self._read_timeout)
        self._local.connection = connection
        return connection

    def _drop(self, connection: _OneWriteConnection) -> None:
        connection.close()
        self._local.connection = None


def _error_response(status: int, reason: str, headers: Mapping[str, str], data: bytes) -> dict[str, Any]:
    """The ``response`` boto3 gives a ClientError for this answer."""
    try:
        document = json.loads(data) if data.strip() else {}
    except ValueError:
        document = {}
    if not isinstance(document, dict):
        document = {}
    code = headers.get("x-amzn-errortype") or str(document.get("__type") or "") or reason
    code = code.split(":", 1)[0].rsplit("#", 1)[-1]
    message = str(document.get("message") or document.get("Message") or reason)
    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": dict(headers)},
        "message": message,
    }
    if isinstance(document.get("fieldList"), list):
        response["fieldList"] = document["fieldList"]
    return response
