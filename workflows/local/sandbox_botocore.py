"""botocore's CPU per call in the local Lambda sandboxes: the same requests, computed cheaper.

A task's AWS call in a sandbox of ``workflows up`` spent most of its CPU in botocore's
own client side (docs/benchmarks-history.md, "sandboxcpu3"). ``install()``, called by the
sandbox's process before it imports its handler (and by ``bench.handler_loop``),
replaces two of botocore's steps in that process with ones that compute the same
result for less:

- sending: ``sandbox_http`` (the request's bytes on a kept-alive socket, the answer read
  without urllib3 and ``http.client``);
- SigV4 signing (``SigV4Auth.add_auth``): the same canonical request, string to sign and
  ``Authorization`` header, from one pass over the request's headers rather than
  botocore's two walks of an ``email.message`` object per request, the day's signing
  key derived once per day, region and service rather than per request, and the payload
  hashed from the request's data rather than from a prepared copy of the whole request
  (botocore's signing was ~30% of a call's CPU without the network). Subclasses (S3's
  signer, query signing, ...) keep botocore's own.

``install_session_caches()``, called by the fork server before it builds its own
session, remembers what every new botocore session computes the same (whether each
built-in handler takes ``**kwargs``, each event name's alias), so that a sandbox's first
session is cheap. Parameter validation, serialization, retries, event hooks and parsing
run as they do on AWS.

None of this is in the tasks' code, which runs on Lambda unchanged; it is the local
runtime's, as the Lambda runtime's own libraries are AWS's (decisions/0013). Tests
compare every piece with botocore's own (``tests/unit/local/test_sandbox_botocore.py``).
"""

from __future__ import annotations

import hmac
import logging
import threading
import types
from hashlib import sha256
from typing import Any
from urllib.parse import urlsplit

from workflows.local import sandbox_http

__all__ = [
    "install",
    "install_session_caches",
    "installed",
    "uninstall",
    "uninstall_session_caches",
]

_lock = threading.Lock()
_original_add_auth: Any = None
# (secret key, day, region, service) -> that day's signing key (HMAC chain of four)
_signing_keys: dict[tuple[str, str, str, str], bytes] = {}
# url -> (canonical path, canonical query from the url, host header's value)
_url_parts: dict[str, tuple[str, str, str]] = {}
_CACHE_LIMIT = 512


def _signing_key(secret_key: str, day: str, region: str, service: str) -> bytes:
    key = (secret_key, day, region, service)
    found = _signing_keys.get(key)
    if found is None:
        k_date = hmac.new(f"AWS4{secret_key}".encode(), day.encode("utf-8"), sha256).digest()
        k_region = hmac.new(k_date, region.encode("utf-8"), sha256).digest()
        k_service = hmac.new(k_region, service.encode("utf-8"), sha256).digest()
        found = hmac.new(k_service, b"aws4_request", sha256).digest()
        if len(_signing_keys) >= _CACHE_LIMIT:
            _signing_keys.clear()
        _signing_keys[key] = found
    return found


def _parts_of(signer: Any, url: str) -> tuple[str, str, str]:
    found = _url_parts.get(url)
    if found is None:
        from botocore.auth import _host_from_url

        split = urlsplit(url)
        found = (
            signer._normalize_url_path(split.path),
            signer._canonical_query_string_url(split),
            _host_from_url(url),
        )
        if len(_url_parts) >= _CACHE_LIMIT:
            _url_parts.clear()
        _url_parts[url] = found
    return found


def _payload(signer: Any, request: Any) -> str:
    """``SigV4Auth.payload``: the body's SHA-256, without preparing the whole request
    to read it (``AWSRequest.body`` prepares a copy of the request, headers and all,
    and keeps only its body; for bytes or text that body is the request's data)."""
    data = request.data
    kind = type(data)
    if kind is dict:  # a query protocol's parameters: the body is their urlencoding
        preparer = getattr(request, "_request_preparer", None)
        if preparer is not None:
            data = preparer._prepare_body(request)
            kind = type(data)
    if (
        (kind is bytes or kind is str)
        and not signer._is_streaming_checksum_payload(request)
        and signer._should_sha256_sign_payload(request)
    ):
        if kind is str:
            data = data.encode("utf-8")
        return sha256(data).hexdigest() if data else _EMPTY_SHA256
    return str(signer.payload(request))


def _add_auth(self: Any, request: Any) -> None:
    """``SigV4Auth.add_auth``, for botocore's plain SigV4 signer: the same header."""
    import botocore.auth as auth

    if type(self) is not auth.SigV4Auth:
        _original_add_auth(self, request)
        return
    credentials = self.credentials
    if credentials is None:
        raise auth.NoCredentialsError()
    timestamp = auth.get_current_datetime().strftime(auth.SIGV4_TIMESTAMP)
    request.context["timestamp"] = timestamp
    # this could be a retry: the previous signature goes, the date and token are set
    self._modify_request_before_signing(request)

    path, url_query, host = _parts_of(self, request.url)
    query = self._canonical_query_string_params(request.params) if request.params else url_query
    # headers_to_sign, canonical_headers and signed_headers in one pass
    blacklist = _BLACKLIST
    names: list[str] = []
    values: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        lowered = name.lower()
        if lowered not in blacklist:
            names.append(lowered)
            found = values.get(lowered)
            if found is None:
                values[lowered] = [value]
            else:
                found.append(value)
    if "host" not in values:
        names.append("host")
        values["host"] = [host]
    unique = set(names)
    canonical_headers = "\n".join(
        f"{key}:{','.join(' '.join(v.split()) for v in values[key])}" for key in sorted(unique)
    )
    signed_headers = ";".join(sorted(n.lower().strip() for n in unique))
    headers = request.headers
    if "X-Amz-Content-SHA256" in headers:
        body_checksum = headers["X-Amz-Content-SHA256"]
    else:
        body_checksum = _payload(self, request)
    canonical_request = "\n".join(
        (
            request.method.upper(),
            path,
            query,
            canonical_headers + "\n",
            signed_headers,
            body_checksum,
        )
    )
    day = timestamp[0:8]
    region, service = self._region_name, self._service_name
    scope = f"{day}/{region}/{service}/aws4_request"
    logger = auth.logger
    debug = logger.isEnabledFor(logging.DEBUG)
    if debug:
        logger.debug("Calculating signature using v4 auth.")
        logger.debug("CanonicalRequest:\n%s", canonical_request)
    string_to_sign = "\n".join(
        (
            "AWS4-HMAC-SHA256",
            timestamp,
            scope,
            sha256(canonical_request.encode("utf-8")).hexdigest(),
        )
    )
    key = _signing_key(credentials.secret_key, day, region, service)
    signature = hmac.new(key, string_to_sign.encode("utf-8"), sha256).hexdigest()
    if debug:
        logger.debug("StringToSign:\n%s", string_to_sign)
        logger.debug("Signature:\n%s", signature)
    headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )


# -------------------------------------------------- a new session, cheaper (the fork server)

_original_accepts_kwargs: Any = None
_original_alias: Any = None
# function -> whether it takes **kwargs (botocore asks for each of the ~140 handlers it
# registers on every new session, through inspect.getfullargspec)
_takes_kwargs: dict[Any, Any] = {}
# event name -> its aliased name, for aliasers of botocore's own aliases
_aliases: dict[str, str] = {}


def _accepts_kwargs(func: Any) -> Any:
    """``botocore.compat.accepts_kwargs``, remembered for plain functions and methods
    (whose signature is their function's): the same answer, asked once per process."""
    kind = type(func)
    if kind is types.MethodType:
        key = func.__func__
    elif kind is types.FunctionType:
        key = func
    else:
        return _original_accepts_kwargs(func)
    if key in _takes_kwargs:
        return _takes_kwargs[key]
    found = _original_accepts_kwargs(key)  # the name of its ** parameter, or None
    if len(_takes_kwargs) >= 4096:
        _takes_kwargs.clear()
    _takes_kwargs[key] = found
    return found


def _alias_event_name(self: Any, event_name: str) -> Any:
    """``EventAliaser._alias_event_name`` with its per-aliaser cache shared by every
    aliaser of botocore's own aliases (each new session's starts empty otherwise)."""
    cache = self._alias_name_cache
    found = cache.get(event_name)
    if found is not None:
        return found
    import botocore.hooks as hooks

    if self._event_aliases is not hooks.EVENT_ALIASES:
        return _original_alias(self, event_name)
    found = _aliases.get(event_name)
    if found is None:
        found = _original_alias(self, event_name)
        if len(_aliases) >= 4096:
            _aliases.clear()
        _aliases[event_name] = found
    cache[event_name] = found
    return found


def install_session_caches() -> None:
    """Let a new botocore session (one per sandbox, built by the handler's first AWS call)
    skip what every session computes the same: whether each built-in handler takes
    ``**kwargs``, and each event name's alias. Installed in the fork server before it
    builds its own session, so that every sandbox inherits the answers (idempotent)."""
    global _original_accepts_kwargs, _original_alias
    import botocore.hooks as hooks

    with _lock:
        if _original_accepts_kwargs is None:
            _original_accepts_kwargs = hooks.accepts_kwargs
            _original_alias = hooks.EventAliaser._alias_event_name
            hooks.accepts_kwargs = _accepts_kwargs
            hooks.EventAliaser._alias_event_name = _alias_event_name


def uninstall_session_caches() -> None:
    global _original_accepts_kwargs, _original_alias
    import botocore.hooks as hooks

    with _lock:
        if _original_accepts_kwargs is not None:
            hooks.accepts_kwargs = _original_accepts_kwargs
            hooks.EventAliaser._alias_event_name = _original_alias
            _original_accepts_kwargs = _original_alias = None
            _takes_kwargs.clear()
            _aliases.clear()


_BLACKLIST: frozenset[str] = frozenset()
_EMPTY_SHA256 = sha256(b"").hexdigest()


def install() -> None:
    """Make this process's botocore calls cheaper, their requests the same (idempotent)."""
    global _original_add_auth, _BLACKLIST
    import botocore.auth as auth

    with _lock:
        sandbox_http.install()
        if _original_add_auth is None:
            _BLACKLIST = frozenset(auth.SIGNED_HEADERS_BLACKLIST)
            _original_add_auth = auth.SigV4Auth.add_auth
            auth.SigV4Auth.add_auth = _add_auth


def uninstall() -> None:
    """botocore as it was (tests)."""
    global _original_add_auth
    import botocore.auth as auth

    with _lock:
        sandbox_http.uninstall()
        if _original_add_auth is not None:
            auth.SigV4Auth.add_auth = _original_add_auth
            _original_add_auth = None


def installed() -> bool:
    return _original_add_auth is not None
