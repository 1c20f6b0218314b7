"""A seeded fuzzer of the S3 Vectors API, driven by botocore's model of it.

Each request is built from an operation's input shape (aimed often enough at a bucket and an
index that exist, so that it reaches the engine and not only validation), then bent: members
nulled, dropped, retyped, made huge or nested thousands deep, unknown members added, strings
given bytes that are not UTF-8, pagination tokens tampered with, bodies cut short or replaced
by noise; and its signature may be left off, broken, or made for another body. The same seed
gives the same requests, so a failure names the seed and the request's number to replay it.
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from pgs3v.store.api.shapes import service_model

_TEXT = string.ascii_letters + string.digits + "-_.:/ {}[]\"'\\é漢🙂\u0000\u200b"


@dataclass(frozen=True)
class Target:
    """What exists in the store under test: requests aim at it part of the time."""

    bucket: str
    index: str
    bucket_arn: str
    index_arn: str
    dimension: int
    keys: tuple[str, ...]
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class FuzzRequest:
    """One request on the wire, with what was done to it (for the failure message)."""

    number: int
    operation: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    mutations: tuple[str, ...]

    def describe(self) -> str:
        """The request, short enough to read in a test failure."""
        shown = self.body[:300]
        return f"#{self.number} {self.operation} {self.method} {self.path} {list(self.mutations)} body={shown!r}"


# Operations whose valid target must not be destroyed or locked: they aim at other names only.
_DESTRUCTIVE = {"DeleteVectorBucket", "DeleteIndex", "PutVectorBucketPolicy", "DeleteVectorBucketPolicy"}


class Fuzzer:
    """Requests from ``seed``: :meth:`request` gives the next one, signed as boto3 signs."""

    def __init__(self, seed: int, target: Target, credentials: Credentials, region: str, host: str) -> None:
        self._rng = random.Random(seed)
        self._target = target
        self._credentials = credentials
        self._region = region
        self._host = host
        model = service_model()
        self._shapes: dict[str, Any] = model["shapes"]
        self._operations: dict[str, Any] = model["operations"]
        self._names = sorted(self._operations)
        self._count = 0
        self._deep: dict[str, bytes] = {}

    def request(self) -> FuzzRequest:
        """The next request."""
        rng = self._rng
        self._count += 1
        operation = rng.choice(self._names)
        spec = self._operations[operation]
        aimed = operation not in _DESTRUCTIVE and rng.random() < 0.7
        payload = self._structure(spec["input"]["shape"], 0, aimed)
        mutations: list[str] = []
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            mutations.append(self._mutate(payload))
        uri_members = {name: payload.pop(name) for name in list(payload) if self._located(spec, name, "uri")}
        query_members = {name: payload.pop(name) for name in list(payload) if self._located(spec, name, "querystring")}
        path = spec["http"]["requestUri"].split("?")[0]
        for name, value in uri_members.items():
            path = path.replace("{" + name + "}", quote(str(value), safe=""))
        path = path.replace("{resourceArn}", quote(self._target.bucket_arn, safe=""))
        if query_members:
            pairs = []
            for name, value in query_members.items():
                for item in value if isinstance(value, list) else [value]:
                    pairs.append(f"{quote(name)}={quote(str(item), safe='')}")
            path += "?" + "&".join(pairs)
        method = spec["http"]["method"]
        if rng.random() < 0.03:
            method = rng.choice(("GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS", "POST"))
            noise = "/" + quote(self._text(8), safe="")
            path = rng.choice((path, path + "/", "/", "/tags/", "/tags/x/y", noise, "//" + operation))
            mutations.append(f"route:{method} {path[:40]}")
        body = self._body(payload, mutations)
        headers = self._signed(method, path, body, mutations)
        return FuzzRequest(self._count, operation, method, path, headers, body, tuple(mutations))

    # --- values from shapes -----------------------------------------------------------------

    def _located(self, spec: dict[str, Any], name: str, where: str) -> bool:
        member = self._shapes[spec["input"]["shape"]]["members"].get(name, {})
        return bool(member.get("location") == where)

    def _structure(self, shape_name: str, depth: int, aimed: bool) -> dict[str, Any]:
        shape = self._shapes[shape_name]
        required = set(shape.get("required", []))
        members = list(shape["members"].items())
        if shape.get("union"):
            members = [self._rng.choice(members)]
        result: dict[str, Any] = {}
        for name, member in members:
            if name in required or self._rng.random() < 0.5:
                result[name] = self._value(name, member["shape"], depth + 1, aimed)
        return result

    def _value(self, name: str, shape_name: str, depth: int, aimed: bool) -> Any:
        rng, target = self._rng, self._target
        shape = self._shapes[shape_name]
        kind = shape["type"]
        if aimed and rng.random() < 0.8:
            known = {"vectorBucketName": target.bucket, "indexName": target.index,
                     "vectorBucketArn": target.bucket_arn, "indexArn": target.index_arn,
                     "resourceArn": rng.choice((target.bucket_arn, target.index_arn))}
            if name in known:
                return known[name]
            if name == "nextToken" and target.tokens:
                return rng.choice(target.tokens)
            if name in ("key", "keys") and kind == "string":
                return rng.choice(target.keys)
        if kind == "structure":
            if shape.get("document"):
                return self._document(depth)
            return self._structure(shape_name, depth, aimed) if depth < 8 else {}
        if kind == "list":
            member = shape["member"]["shape"]
            if self._shapes[member]["type"] == "float":
                length = target.dimension if rng.random() < 0.8 else rng.choice((0, 1, target.dimension + 1, 5000))
                return [rng.uniform(-1, 1) for _ in range(length)]
            return [self._value(name, member, depth + 1, aimed) for _ in range(rng.choice((0, 1, 1, 2, 3, 5)))]
        if kind == "map":
            return {self._text(12): self._value(name, shape["value"]["shape"], depth + 1, aimed)
                    for _ in range(rng.choice((0, 1, 2, 3)))}
        if kind == "string":
            if "enum" in shape and rng.random() < 0.8:
                return rng.choice(shape["enum"])
            if name in ("key", "keys"):
                return rng.choice(target.keys)
            return self._text(rng.choice((0, 1, 3, 12, 63, 64, 65, 300)))
        if kind in ("integer", "long"):
            low, high = shape.get("min", -5), shape.get("max", 10_000)
            return rng.choice((low - 1, low, high, high + 1, rng.randint(low, high), 2**63, -(2**63)))
        if kind == "boolean":
            return rng.random() < 0.5
        if kind in ("float", "double"):
            return rng.uniform(-1e6, 1e6)
        if kind == "timestamp":
            return rng.choice((0, 1_700_000_000, "2025-01-01T00:00:00Z"))
        return None

    def _document(self, depth: int) -> Any:
        rng = self._rng
        choice = rng.random()
        if depth > 6 or choice < 0.3:
            return rng.choice((None, True, 0, -1.5, 1e308, self._text(8), "$eq", "$and", []))
        if choice < 0.65:
            keys = ["$eq", "$ne", "$gt", "$in", "$nin", "$exists", "$and", "$or", "genre", "year", self._text(5)]
            return {rng.choice(keys): self._document(depth + 1) for _ in range(rng.choice((0, 1, 1, 2)))}
        return [self._document(depth + 1) for _ in range(rng.choice((0, 1, 2, 3)))]

    def _text(self, length: int) -> str:
        return "".join(self._rng.choice(_TEXT) for _ in range(length))

    # --- mutations ----------------------------------------------------------------------------

    def _mutate(self, payload: dict[str, Any]) -> str:
        rng = self._rng
        holder, name = self._somewhere(payload)
        what = rng.choice(("null", "retype", "drop", "unknown", "huge", "token", "deep"))
        if holder is None or name is None:
            what = "unknown"
        if what == "null":
            holder[name] = None  # type: ignore[index]
        elif what == "retype":
            holder[name] = rng.choice((1, -1, 1.5, True, "text", [], {}, [None], {"x": [1]}, 10**40))  # type: ignore[index]
        elif what == "drop":
            del holder[name]  # type: ignore[union-attr]
        elif what == "unknown":
            payload[self._text(6) or "x"] = rng.choice((1, "x", None, [1, 2]))
        elif what == "huge":
            holder[name] = rng.choice(("x" * 300_000, ["k"] * 20_000, {f"k{i}": i for i in range(5_000)}))  # type: ignore[index]
        elif what == "token":
            token = rng.choice(self._target.tokens) if self._target.tokens else "AAAA"
            chars = list(token)
            for _ in range(rng.choice((1, 2, 5))):
                chars[rng.randrange(len(chars))] = rng.choice(string.ascii_letters + "=_-+/")
            forged = base64.b64encode(b"{}").decode()
            payload["nextToken"] = rng.choice(("".join(chars), token[: len(token) // 2], forged))
        elif what == "deep":
            # Spliced into the body as text: json.dumps itself would recurse too deep.
            placeholder = f"@deep-{len(self._deep)}@"
            self._deep[placeholder] = _nested(rng.choice((50, 1_000, 5_000)), rng.random() < 0.5)
            holder[name] = placeholder  # type: ignore[index]
        return f"{what}:{name}"

    def _somewhere(self, payload: dict[str, Any]) -> tuple[dict[str, Any] | list[Any] | None, Any]:
        """A random member (or list item) of the payload, at any depth, with its container."""
        candidates: list[tuple[Any, Any]] = []

        def walk(value: Any, depth: int) -> None:
            if depth > 6 or len(candidates) > 200:
                return
            if isinstance(value, dict):
                for key in list(value):
                    candidates.append((value, key))
                    walk(value[key], depth + 1)
            elif isinstance(value, list):
                for position in range(min(len(value), 8)):
                    candidates.append((value, position))
                    walk(value[position], depth + 1)

        walk(payload, 0)
        if not candidates:
            return None, None
        return self._rng.choice(candidates)

    def _body(self, payload: dict[str, Any], mutations: list[str]) -> bytes:
        rng = self._rng
        body = json.dumps(payload, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
        for placeholder, nested in self._deep.items():
            body = body.replace(f'"{placeholder}"'.encode(), nested)
        self._deep.clear()
        roll = rng.random()
        if roll < 0.04:
            mutations.append("body:bad-utf8")
            at = rng.randrange(len(body) + 1)
            body = body[:at] + rng.choice((b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80")) + body[at:]
        elif roll < 0.07:
            mutations.append("body:truncated")
            body = body[: rng.randrange(len(body) + 1)]
        elif roll < 0.09:
            mutations.append("body:noise")
            body = bytes(rng.getrandbits(8) for _ in range(rng.choice((1, 64, 4096))))
        elif roll < 0.11:
            mutations.append("body:not-an-object")
            body = rng.choice((b"[]", b"null", b'"x"', b"1e999", b"NaN", b"[" * 100_000))
        return body

    def _signed(self, method: str, path: str, body: bytes, mutations: list[str]) -> dict[str, str]:
        rng = self._rng
        roll = rng.random()
        signed_body = body
        credentials, service = self._credentials, "s3vectors"
        if roll < 0.03:
            mutations.append("auth:none")
            return {"Content-Type": "application/json", "Host": self._host}
        if roll < 0.05:
            mutations.append("auth:other-body")
            signed_body = body + b" "
        elif roll < 0.06:
            mutations.append("auth:wrong-secret")
            credentials = Credentials(credentials.access_key, credentials.secret_key + "x")
        elif roll < 0.07:
            mutations.append("auth:other-service")
            service = "s3"
        request = AWSRequest(method=method, url=f"http://{self._host}{path}", data=signed_body,
                             headers={"Content-Type": "application/json"})
        if rng.random() < 0.02:
            mutations.append("auth:unsigned-payload")
            request.context["payload_signing_enabled"] = False
        SigV4Auth(credentials, service, self._region).add_auth(request)
        headers = {name: value for name, value in request.headers.items()}
        if rng.random() < 0.02:
            mutations.append("auth:flipped")
            auth = headers["Authorization"]
            at = rng.randrange(len(auth))
            headers["Authorization"] = auth[:at] + rng.choice("0af=, /") + auth[at + 1:]
        headers["Host"] = self._host
        return headers


def _nested(depth: int, as_list: bool) -> bytes:
    """JSON text of a value nested ``depth`` levels deep."""
    if as_list:
        return b"[" * depth + b"1" + b"]" * depth
    return b'{"$and": [' * depth + b"1" + b"]}" * depth
