"""The thin boto3 layer: every AWS client a task uses is built here, once per sandbox.

boto3 resolves endpoints from the standard variables (``AWS_ENDPOINT_URL``,
``AWS_ENDPOINT_URL_DYNAMODB``, ...), so the same code reaches AWS, the local
services of ``workflows up``, or moto in tests. Nothing is created at import time:
a client is built on first use and kept, as AWS advises for Lambda (a warm
invocation reuses it instead of paying tens of milliseconds of CPU for a new
session). Each thread keeps its own (a boto3 session and its resources are not
meant to be shared between threads; on Lambda a sandbox has one), and what a
client was built for (region, endpoints, credentials from the environment) is part
of its key, so a test that changes them gets a new one. ``reset_clients`` forgets
them all.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3
from botocore.exceptions import ClientError

__all__ = ["ClientError", "client", "dynamodb_table", "error_code", "reset_clients"]

_local = threading.local()
_generation = 0


def _environment() -> tuple[tuple[str, str], ...]:
    """What, in the environment, decides where and as whom a client talks."""
    return tuple(
        sorted(
            (name, value)
            for name, value in os.environ.items()
            if name.startswith("AWS_ENDPOINT_URL")
            or name
            in (
                "AWS_DEFAULT_REGION",
                "AWS_REGION",
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN",
                "AWS_PROFILE",
            )
        )
    )


def _cache() -> dict[tuple[Any, ...], Any]:
    if getattr(_local, "generation", None) != _generation:
        _local.generation = _generation
        _local.cache = {}
    cache: dict[tuple[Any, ...], Any] = _local.cache
    return cache


def _session(environment: tuple[tuple[str, str], ...]) -> Any:
    cache = _cache()
    key = ("session", environment)
    if key not in cache:
        cache[key] = boto3.session.Session()
    return cache[key]


def client(service_name: str) -> Any:
    """A low-level boto3 client for ``service_name`` (``ses``, ``sns``, ``sqs``, ...)."""
    environment = _environment()
    cache = _cache()
    key = ("client", service_name, environment)
    if key not in cache:
        cache[key] = _session(environment).client(service_name)
    return cache[key]


def dynamodb_table(table_name: str) -> Any:
    """A DynamoDB ``Table`` resource: Python values in and out (``Decimal`` numbers)."""
    environment = _environment()
    cache = _cache()
    key = ("table", table_name, environment)
    if key not in cache:
        cache[key] = _session(environment).resource("dynamodb").Table(table_name)
    return cache[key]


def reset_clients() -> None:
    """Forget every client and session (tests; after the endpoints' data was reset)."""
    global _generation
    _generation += 1


def error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))
