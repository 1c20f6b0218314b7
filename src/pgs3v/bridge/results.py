"""The shapes the handler returns: ``{"response": ...}`` or ``{"error": ...}``, JSON-safe.

Lambda serialises the handler's return value with ``json``; boto3 answers with datetimes (and,
for some services, bytes), so everything is converted here, once, before it leaves the handler.
"""

from __future__ import annotations

import base64
import datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError


def json_safe(value: Any) -> Any:
    """``value`` with datetimes as ISO-8601 UTC strings and bytes as base64, ready for ``json.dumps``."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC)
            return value.replace(tzinfo=None).isoformat() + "Z"
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def success(response: dict[str, Any]) -> dict[str, Any]:
    """The handler's answer for an API response (ResponseMetadata dropped)."""
    body = {key: item for key, item in response.items() if key != "ResponseMetadata"}
    return {"response": json_safe(body)}


def failure(code: str, message: str, status: int, field_list: list[Any] | None = None) -> dict[str, Any]:
    """The handler's answer for an error with an S3 Vectors error code."""
    error: dict[str, Any] = {"code": code, "message": message, "httpStatus": status}
    if field_list:
        error["fieldList"] = json_safe(field_list)
    return {"error": error}


def client_error_parts(error: ClientError) -> tuple[str, str, int, list[Any]]:
    """(code, message, HTTP status, fieldList) of an error the API answered."""
    response: dict[str, Any] = dict(error.response)
    details = response.get("Error", {})
    code = str(details.get("Code") or "InternalServerException")
    message = str(details.get("Message") or response.get("message") or code)
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 500)
    field_list = response.get("fieldList")
    return code, message, status, field_list if isinstance(field_list, list) else []
