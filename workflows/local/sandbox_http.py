"""botocore's HTTP requests to the local services, sent without urllib3 (the sandboxes).

Every AWS call of a task in a local Lambda sandbox goes to the runtime's services
(``AWS_ENDPOINT_URL``, plain HTTP on 127.0.0.1, cheroot with keep-alive). botocore
sends it through urllib3 and ``http.client``: a pool manager's lookup, a connection
object's request, ``http.client``'s response object, whose headers are parsed by the
``email`` package. For the small JSON and XML answers of the local services that path
was about half of a call's CPU in a sandbox (docs/benchmarks-history.md, "sandboxcpu3").

``install()`` replaces ``URLLib3Session.send`` in the process that calls it (a
sandbox, ``bench.handler_loop``) with one that writes the same bytes on a kept-alive
socket and reads the answer itself, for the requests it knows how to send exactly as
urllib3 would: plain ``http://`` without a proxy, a body of bytes with its
``Content-Length``, no ``Expect``, no per-request timeout, no streamed answer. Anything
else (HTTPS, a proxy, a streamed upload or download) goes through urllib3 as before.
Errors are botocore's own (``EndpointConnectionError``, ``ConnectTimeoutError``,
``ReadTimeoutError``, ``ConnectionClosedError``), raised where urllib3's path raises
them, so botocore's retries see what they saw. On AWS nothing of this runs: the
sandbox's process installs it, the tasks' code does not know it.

What differs from urllib3's path, other than CPU: urllib3's debug log line per
request is not written, and a request's bytes leave in one ``sendall`` (urllib3
writes the head and the body in two).
"""

from __future__ import annotations

import contextlib
import re
import select
import socket
from typing import Any

from workflows.local import spans

__all__ = ["install", "installed", "uninstall"]

# the answer's head is read whole; http.client's limits, in one
_MAX_HEAD = 65536 * 101
_CHUNK = 65536
_END_OF_HEAD = re.compile(rb"\r?\n\r?\n")
# what http.client refuses in a request target
_BAD_TARGET = re.compile("[\x00-\x20\x7f]")
# what http.client accepts as a header's name
_LEGAL_NAME = re.compile(rb"[^:\s][^:\r\n]*")
# headers whose presence means urllib3 would send something else (or nothing) for them
_NOT_OURS = frozenset({"host", "accept-encoding", "transfer-encoding", "expect"})

_original: Any = None


class _Fallback(Exception):
    """This request is not one the lean path sends as urllib3 would: urllib3 sends it."""


class _Route:
    """Where a URL's requests go: the socket's address and the ``Host`` header."""

    __slots__ = ("address", "host_line", "idle", "prefix")

    def __init__(self, prefix: str, host: str, port: int) -> None:
        self.prefix = prefix
        self.address = (host, port)
        # as http.client writes it (the port unless it is HTTP's default)
        shown = f"[{host}]" if ":" in host else host
        host_header = shown if port == 80 else f"{shown}:{port}"
        self.host_line = (
            f" HTTP/1.1\r\nHost: {host_header}\r\nAccept-Encoding: identity\r\n".encode()
        )
        self.idle: list[_Connection] = []  # kept-alive connections (list ops are atomic)


class _Connection:
    __slots__ = ("buffer", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""  # read past the last answer (nothing, from a sane server)

    def dropped(self) -> bool:
        """The server closed it (or wrote out of turn) while it was idle: urllib3's check."""
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable) or bool(self.buffer)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class _Lean:
    """The lean path's state for one ``URLLib3Session`` (one client's endpoint)."""

    __slots__ = ("connect_timeout", "read_timeout", "routes", "session", "socket_options")

    def __init__(self, session: Any) -> None:
        from urllib3.util.timeout import Timeout

        self.session = session
        timeout = session._timeout
        if isinstance(timeout, Timeout):
            self.connect_timeout = timeout.connect_timeout
            self.read_timeout = timeout.read_timeout
        else:
            self.connect_timeout = self.read_timeout = timeout
        self.socket_options = list(session._socket_options or ())
        # per "scheme://netloc": a route, or None where urllib3 sends
        self.routes: dict[str, _Route | None] = {}

    def route(self, url: str) -> tuple[_Route, str]:
        """The route of ``url`` and its request target (path and query)."""
        scheme_end = url.find("://")
        slash = url.find("/", scheme_end + 3) if scheme_end > 0 else -1
        prefix = url if slash < 0 else url[:slash]
        target = "/" if slash < 0 else url[slash:]
        routes = self.routes
        if prefix in routes:
            found = routes[prefix]
        else:
            found = routes[prefix] = self._new_route(prefix)
        if found is None or "#" in target or ";" in target or _BAD_TARGET.search(target):
            raise _Fallback
        return found, target

    def _new_route(self, prefix: str) -> _Route | None:
        from urllib3.util.url import parse_url

        if not prefix.lower().startswith("http://"):
            return None
        if self.session._proxy_config.proxy_url_for(prefix + "/"):
            return None
        try:
            parsed = parse_url(prefix)
        except Exception:
            return None
        if parsed.host is None or parsed.auth is not None:
            return None
        host = parsed.host.strip("[]")
        return _Route(prefix, host, parsed.port or 80)

    def connect(self, route: _Route, url: str) -> _Connection:
        from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError
        from urllib3.util.connection import create_connection

        try:
            sock = create_connection(
                route.address, self.connect_timeout, socket_options=self.socket_options
            )
        except TimeoutError as error:
            raise ConnectTimeoutError(endpoint_url=url, error=error) from None
        except OSError as error:
            raise EndpointConnectionError(endpoint_url=url, error=error) from None
        if self.read_timeout != self.connect_timeout:
            sock.settimeout(self.read_timeout)
        return _Connection(sock)


def _body(request: Any) -> bytes:
    """The request's body as urllib3 writes it: bytes as they are, text in UTF-8 (query
    protocols' bodies), none as nothing."""
    body = request.body
    kind = type(body)
    if kind is bytes:
        return body  # type: ignore[no-any-return]
    if kind is str:
        return body.encode("utf-8")  # type: ignore[no-any-return]
    if body is None:
        return b""
    raise _Fallback  # a stream, a file: urllib3 reads it


def _head(request: Any, route: _Route, target: str, body: bytes) -> bytes:
    """The request's bytes before its body, as urllib3 and http.client write them."""
    if request.stream_output:
        raise _Fallback
    context = getattr(request, "context", None)
    if context and context.get("read_timeout") is not None:
        raise _Fallback
    parts = [request.method.encode("ascii"), b" ", target.encode("ascii"), route.host_line]
    length = None
    for name, value in request.headers.items():
        lowered = name.lower()
        if lowered in _NOT_OURS:
            raise _Fallback
        if lowered == "content-length":
            length = value
        if isinstance(value, str):
            value = value.encode("latin-1")
        elif not isinstance(value, bytes):
            value = str(value).encode("latin-1")
        encoded = name.encode("ascii")
        if b"\r" in value or b"\n" in value or not _LEGAL_NAME.fullmatch(encoded):
            raise _Fallback  # urllib3 refuses it, in its own words
        parts += (encoded, b": ", value, b"\r\n")
    if length is None or str(length) != str(len(body)):
        raise _Fallback
    parts.append(b"\r\n")
    return b"".join(parts)


class _Answer:
    """What ``AWSResponse.raw`` is for an answer read here: its body, read."""

    __slots__ = ("_body", "headers", "status", "version")

    def __init__(self, status: int, headers: dict[str, str], body: bytes, version: int) -> None:
        self.status = status
        self.headers = headers
        self.version = version
        self._body = body

    def stream(self, amt: int | None = None, decode_content: bool | None = None) -> Any:
        if self._body:
            yield self._body

    def read(self, amt: int | None = None, decode_content: bool | None = None) -> bytes:
        body, self._body = self._body, b""
        if amt is not None and amt < len(body):
            body, self._body = body[:amt], body[amt:]
        return body

    def release_conn(self) -> None:
        pass

    def close(self) -> None:
        pass


class _Closed(Exception):
    """The server closed the connection before the answer was whole."""


def _receive(connection: _Connection, want: int) -> bytes:
    data = connection.sock.recv(max(want, _CHUNK))
    if not data:
        raise _Closed
    return data


def _read_answer(connection: _Connection, method: str) -> tuple[int, dict[str, str], bytes, bool]:
    """(status, headers, body, keep the connection) of the next answer on ``connection``."""
    buffer = connection.buffer
    while True:
        found = _END_OF_HEAD.search(buffer)
        while found is None:
            if len(buffer) > _MAX_HEAD:
                raise _Closed
            try:
                buffer += _receive(connection, _CHUNK)
            except _Closed:
                if buffer:
                    raise
                raise _Closed("Remote end closed connection without response") from None
            found = _END_OF_HEAD.search(buffer)
        head, buffer = buffer[: found.start()], buffer[found.end() :]
        lines = head.split(b"\n")
        status_line = lines[0].rstrip(b"\r").decode("iso-8859-1")
        version, _, rest = status_line.partition(" ")
        code, _, _reason = rest.partition(" ")
        if not version.startswith("HTTP/") or len(code) != 3 or not code.isdigit():
            raise _Closed(f"bad status line {status_line!r}")
        status = int(code)
        if status != 100:
            break
        # 100 Continue (we never ask for it): its head is skipped, as http.client does
    headers: dict[str, str] = {}
    names: dict[str, str] = {}  # lower -> the first spelling, as urllib3's dict keeps it
    last = None
    for raw_line in lines[1:]:
        line = raw_line.decode("iso-8859-1")
        if line[:1] in (" ", "\t") and last is not None:
            headers[last] += "\r\n" + line.rstrip("\r\n")  # a folded line, as email joins it
            continue
        name, colon, value = line.partition(":")
        if not colon:
            continue  # http.client's parser skips it as a defect
        value = value.lstrip(" \t").rstrip("\r\n")
        key = names.setdefault(name.lower(), name)
        if key in headers:
            headers[key] += ", " + value  # urllib3's HTTPHeaderDict joins repeats
        else:
            headers[key] = value
        last = key
    lower = {k.lower(): v for k, v in headers.items()}
    connection_header = lower.get("connection", "").lower()
    if version == "HTTP/1.1":
        keep = "close" not in connection_header
    else:
        keep = bool(lower.get("keep-alive")) or "keep-alive" in connection_header
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        connection.buffer = buffer
        return status, headers, b"", keep
    if lower.get("transfer-encoding", "").lower() == "chunked":
        body, buffer = _read_chunked(connection, buffer)
        connection.buffer = buffer
        return status, headers, body, keep
    try:
        length = int(lower["content-length"])
    except (KeyError, ValueError):
        length = -1
    if length < 0:  # till the server closes it
        parts = [buffer]
        try:
            while True:
                parts.append(_receive(connection, _CHUNK))
        except _Closed:
            pass
        connection.buffer = b""
        return status, headers, b"".join(parts), False
    parts = [buffer]
    have = len(buffer)
    while have < length:
        try:
            data = _receive(connection, length - have)
        except _Closed:  # short: urllib3 (enforce_content_length=False) answers it as is
            connection.buffer = b""
            return status, headers, b"".join(parts), False
        parts.append(data)
        have += len(data)
    whole = b"".join(parts)
    connection.buffer = whole[length:]
    return status, headers, whole[:length], keep


def _read_chunked(connection: _Connection, buffer: bytes) -> tuple[bytes, bytes]:
    """A chunked body and what follows it."""
    parts: list[bytes] = []
    while True:
        while b"\n" not in buffer:
            buffer += _receive(connection, _CHUNK)
        size_line, _, buffer = buffer.partition(b"\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _Closed(f"bad chunk size {size_line!r}") from None
        if size == 0:
            break
        while len(buffer) < size + 2:
            buffer += _receive(connection, size + 2 - len(buffer))
        parts.append(buffer[:size])
        buffer = buffer[size:].removeprefix(b"\r\n").removeprefix(b"\n")
    while True:  # the trailer, up to its empty line
        while b"\n" not in buffer:
            buffer += _receive(connection, _CHUNK)
        line, _, buffer = buffer.partition(b"\n")
        if not line.strip():
            return b"".join(parts), buffer


def _lean_of(session: Any) -> _Lean:
    lean: _Lean | None = session.__dict__.get("_workflows_lean")
    if lean is None:
        lean = session.__dict__["_workflows_lean"] = _Lean(session)
    return lean


def _send(session: Any, request: Any) -> Any:
    """``URLLib3Session.send``, lean where it can be."""
    lean = _lean_of(session)
    url = request.url
    try:
        route, target = lean.route(url)
        body = _body(request)
        head = _head(request, route, target, body)
    except _Fallback:
        return _original(session, request)
    from botocore.awsrequest import AWSResponse
    from botocore.exceptions import ConnectionClosedError, HTTPClientError, ReadTimeoutError

    idle = route.idle
    connection = None
    while idle:
        try:
            candidate = idle.pop()
        except IndexError:  # another thread took the last one
            break
        if candidate.dropped():
            candidate.close()
        else:
            connection = candidate
            break
    if connection is None:
        connection = lean.connect(route, url)
    keep = False
    try:
        try:
            spans.mark("http.sending", spans.invocation, route.address[1])
            connection.sock.sendall(head + body)
            status, headers, answer_body, keep = _read_answer(connection, request.method)
            spans.mark("http.answered", spans.invocation, route.address[1])
        except TimeoutError as error:
            raise ReadTimeoutError(endpoint_url=url, error=error) from None
        except _Closed as error:
            raise ConnectionClosedError(error=error, request=request, endpoint_url=url) from None
        except OSError as error:
            raise ConnectionClosedError(error=error, request=request, endpoint_url=url) from None
        except Exception as error:
            raise HTTPClientError(error=error) from None
    finally:
        if keep and len(idle) < max(1, session._max_pool_connections):
            idle.append(connection)
        else:
            connection.close()
    answer = _Answer(status, headers, answer_body, 11)
    response = AWSResponse(url, status, headers, answer)
    response._content = answer_body
    return response


def _close(session: Any) -> None:
    lean: _Lean | None = session.__dict__.pop("_workflows_lean", None)
    if lean is not None:
        for route in lean.routes.values():
            while route is not None and route.idle:
                route.idle.pop().close()
    _original_close(session)


_original_close: Any = None


def install() -> None:
    """Send botocore's plain-HTTP requests of this process the lean way (idempotent)."""
    global _original, _original_close
    from botocore.httpsession import URLLib3Session

    if _original is not None:
        return
    probe = URLLib3Session()
    needed = ("_timeout", "_socket_options", "_proxy_config", "_max_pool_connections")
    if not all(hasattr(probe, name) for name in needed):  # pragma: no cover - another botocore
        return  # not the botocore this was written against: urllib3 it is
    _original = URLLib3Session.send
    _original_close = URLLib3Session.close
    URLLib3Session.send = _send
    URLLib3Session.close = _close


def uninstall() -> None:
    """Put urllib3's path back (tests)."""
    global _original, _original_close
    from botocore.httpsession import URLLib3Session

    if _original is None:
        return
    URLLib3Session.send = _original
    URLLib3Session.close = _original_close
    _original = _original_close = None


def installed() -> bool:
    return _original is not None
