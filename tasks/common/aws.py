"""The thin boto3 layer: every AWS client a task uses is built here, on demand.

boto3 resolves endpoints from the standard variables (``AWS_ENDPOINT_URL``,
``AWS_ENDPOINT_URL_DYNAMODB``, ...), so the same code reaches AWS, the local
services of ``workflows up``, or moto in tests. Nothing is created at import time.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError

__all__ = ["ClientError", "client", "dynamodb_table", "error_code"]


def client(service_name: str) -> Any:
    """A low-level boto3 client for ``service_name`` (``ses``, ``sns``, ``sqs``, ...)."""
    return boto3.client(service_name)


def dynamodb_table(table_name: str) -> Any:
    """A DynamoDB ``Table`` resource: Python values in and out (``Decimal`` numbers)."""
    return boto3.resource("dynamodb").Table(table_name)


def error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))
