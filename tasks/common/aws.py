"""The thin boto3 layer: every AWS client a task uses is built here, once per sandbox.

boto3 resolves endpoints from the standard variables (``AWS_ENDPOINT_URL``,
``AWS_ENDPOINT_URL_DYNAMODB``, ...), so the same code reaches AWS, the local
services of ``workflows up``, or moto in tests. Nothing is created at import time:
a client is built on first use and kept, as AWS advises for Lambda (a warm
invocation reuses it instead of paying tens of milliseconds of CPU for a new one).

boto3 itself is imported by the first ``new_session``, not with this module.

Low-level clients are thread-safe, so one of each serves every thread of the process
(the local runtime runs many sandboxes' handlers on a few threads); ``Table``
resources are not, so each thread keeps its own. Every session shares one botocore
data loader: a new session otherwise parses the endpoint rules and service models
from JSON again, hundreds of milliseconds of CPU before its first request. What a
client was built for (region, endpoints, credentials from the environment) is part
of its key, so a test that changes them gets a new one. ``reset_clients`` forgets
them all.
"""

from __future__ import annotations

import functools
import os
import threading
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from botocore.loaders import Loader

__all__ = [
    "ClientError",
    "client",
    "dynamodb_table",
    "error_code",
    "new_session",
    "reset_clients",
]

_local = threading.local()
_generation = 0
# guards the shared caches below and every use of a cached session (sessions are not
# thread-safe; the clients they build are)
_lock = threading.RLock()
_loader: Loader | None = None
_sessions: dict[tuple[Any, ...], Any] = {}
_clients: dict[tuple[Any, ...], Any] = {}


# what, in the environment, decides where and as whom a session's clients talk
_SESSION_VARIABLES = (
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
)


@functools.cache
def _endpoint_variables(service_name: str) -> tuple[str, ...] | None:
    """The variables botocore reads a ``service_name`` client's endpoint from
    (``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_<SERVICE ID>``, named as botocore's
    ``EnvironmentProvider`` names them); None if this botocore does not say."""
    from botocore import utils

    aliases = getattr(utils, "SERVICE_NAME_ALIASES", None)
    overrides = getattr(utils, "CLIENT_NAME_TO_HYPHENIZED_SERVICE_ID_OVERRIDES", None)
    if not isinstance(aliases, dict) or not isinstance(overrides, dict):  # pragma: no cover
        return None
    name = aliases.get(service_name, service_name)
    service_id = str(overrides.get(name, name)).replace("-", "_").upper()
    return ("AWS_ENDPOINT_URL", f"AWS_ENDPOINT_URL_{service_id}")


def _environment(service_name: str | None = None) -> tuple[tuple[str, str | None], ...]:
    """What, in the environment, decides where and as whom a client talks: the session's
    variables, and the endpoint's of ``service_name``. Read by name (a few lookups)
    rather than by walking the whole environment, which every invocation's clients
    paid for (tens of microseconds each)."""
    names: tuple[str, ...] = _SESSION_VARIABLES
    if service_name is not None:
        endpoints = _endpoint_variables(service_name)
        if endpoints is None:  # pragma: no cover - every endpoint variable, as before
            endpoints = tuple(sorted(n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")))
        names += endpoints
    get = os.environ.get
    return tuple((name, get(name)) for name in names)


def _thread_cache() -> dict[tuple[Any, ...], Any]:
    if getattr(_local, "generation", None) != _generation:
        _local.generation = _generation
        _local.cache = {}
    cache: dict[tuple[Any, ...], Any] = _local.cache
    return cache


def new_session() -> Any:
    """A ``boto3.Session`` on the process's shared botocore data loader (cheap to build)."""
    # boto3 (~0.2 s of CPU, most of it botocore and s3transfer) is imported with the
    # first client, not with the task module: a cold start that never reaches AWS
    # (an invalid input, a test with fakes) does not pay for it, and one that does
    # pays it once, in its first invocation instead of its init
    import boto3
    import botocore.session

    global _loader
    core = botocore.session.Session()
    with _lock:
        if _loader is None:
            _loader = core.get_component("data_loader")
        else:
            core.register_component("data_loader", _loader)
        session = boto3.session.Session(botocore_session=core)
        # boto3 adds its resource models' folder to the loader's search path on every
        # session (ours, and any other boto3 session on a loader shared process-wide,
        # workflows.local.shared_loader): the loader needs each folder once, and every
        # model lookup walks the whole list
        paths = _loader.search_paths
        if len(paths) != len(set(paths)):
            paths[:] = dict.fromkeys(paths)
    return session


def _session_locked(environment: tuple[tuple[str, str | None], ...]) -> Any:
    # the session's variables only: clients of every service share it
    key = (_generation, environment[: len(_SESSION_VARIABLES)])
    session = _sessions.get(key)
    if session is None:
        session = _sessions[key] = new_session()
    return session


def _reuse_user_agent(built: Any) -> Any:
    """Let ``built`` (a client) compose its User-Agent header once per set of features.

    botocore composes the header from about ten components twice per request (once
    for the request, once more just before sending, to add the features the call
    used), which is several percent of a task's CPU; the parts other than the
    features are fixed for the client's life. The header stays the same string.
    botocore's internals are optional here: without them nothing changes.
    """
    creator: Any = getattr(built, "_user_agent_creator", None)
    compose = getattr(creator, "to_string", None)
    try:
        from botocore.context import get_context
    except ImportError:  # pragma: no cover - an older botocore without call contexts
        return built
    if compose is None or not hasattr(creator, "_client_features"):
        return built
    headers: dict[frozenset[str], str] = {}

    def to_string() -> str:
        context = get_context()
        features = frozenset(creator._client_features or ())
        if context is not None:
            features |= context.features
        header = headers.get(features)
        if header is None:
            if len(headers) >= 64:  # features vary little; bound it all the same
                headers.clear()
            header = headers[features] = compose()
        return header

    # both of botocore's call sites look the method up on the instance
    creator.to_string = to_string
    return built


def client(service_name: str) -> Any:
    """A low-level boto3 client for ``service_name`` (``ses``, ``sns``, ``sqs``, ...)."""
    key = (_generation, service_name, _environment(service_name))
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        found = _clients.get(key)
        if found is None:
            found = _reuse_user_agent(_session_locked(key[2]).client(service_name))
            _clients[key] = found
        return found


def dynamodb_table(table_name: str) -> Any:
    """A DynamoDB ``Table`` resource: Python values in and out (``Decimal`` numbers)."""
    environment = _environment("dynamodb")
    cache = _thread_cache()
    key = ("table", table_name, environment)
    if key not in cache:
        with _lock:
            table = _session_locked(environment).resource("dynamodb").Table(table_name)
            _reuse_user_agent(table.meta.client)
            cache[key] = table
    return cache[key]


def reset_clients() -> None:
    """Forget every client and session (tests; after the endpoints' data was reset)."""
    global _generation
    with _lock:
        _generation += 1
        _sessions.clear()
        _clients.clear()


def error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))
