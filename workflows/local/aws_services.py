"""The local AWS services of ``workflows up`` in a process of their own.

moto serves DynamoDB, SQS, S3, SES, SNS and EventBridge over HTTP. Under ``workflows
up`` it runs in a child process (``python -m workflows.local.aws_services``), so its
request handling does not share the runtime's GIL with the engine, the API and the
executions' store (issue #14: it was two thirds of the runtime's CPU). The services'
journal and snapshot (``service_journal.py``, ``service_data.py``) read and write
moto's backends directly, so they run in that process too.

The runtime binds the port itself (every port is taken before anything is touched)
and hands the listening socket to the child. It talks to the child over the same
port, under ``/_workflows/services/`` (a path no AWS API uses), to:

- ``POST recover``: fold the snapshot and the journal into moto, take a new snapshot
  and start journaling (after the runtime created the template's resources);
- ``POST compact``: a new snapshot if anything was written since the last one;
- ``POST stop``: a last snapshot, and the journal closed (before the child is stopped);
- ``GET peek?queue=NAME``, ``GET sent``: what the console shows and the AWS APIs cannot
  (a queue's messages without receiving them, the emails and SMS sent).

The child dies with the runtime: on Linux the kernel kills it when its parent dies
(``PR_SET_PDEATHSIG``), and everywhere it exits when its stdin, a pipe from the
runtime, reaches its end. If the child stops on its own, the runtime stops with a
message saying so (``AwsServices.stopped``): what was acknowledged is in the journal,
and the next start recovers it.

``workflows run``, the tests and the pytest plugin keep moto in their own process
(decision 0004); ``moto_server`` serves it in-process for the journal's tests.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import ctypes
import errno
import functools
import io
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Final

__all__ = [
    "CONTROL_PREFIX",
    "SERVICES_URL_ENV",
    "AwsServices",
    "AwsServicesStopped",
    "moto_server",
    "one_at_a_time",
    "peek_messages",
    "sent_messages",
]

log = logging.getLogger("workflows.local")

CONTROL_PREFIX: Final = "/_workflows/services/"
# set by the runtime to its moto process's address, for the console (console/resources.py)
SERVICES_URL_ENV: Final = "WORKFLOWS_AWS_SERVICES_URL"
# set (to anything) for the process to count its requests by service, operation and
# caller, answered by ``GET stats`` under "census" (``bench.local_load --census``)
CENSUS_ENV: Final = "WORKFLOWS_SERVICES_CENSUS"
ITEMS_SHOWN: Final = 50
_START_TIMEOUT: Final = 60.0
_STOP_TIMEOUT: Final = 10.0


# --------------------------------------------------------------------- serving moto


# worker threads of moto's server: requests take turns for moto (``one_at_a_time``), but an
# SQS long poll holds its thread for up to 20 s outside the turn; far more than the
# runtime's event sources ever poll at once, so the others always find a free thread
_SERVER_THREADS: Final = 32
# keep-alive connections idle this long are closed (clients reconnect on their next call)
_IDLE_SECONDS: Final = 60
_LISTEN_BACKLOG: Final = 128  # bursts of new connections (many sandboxes) are queued, not refused
# idle keep-alive connections kept open at most (cheroot's default is 10: past it, each
# answer closed its connection, and under load half the requests of an order came on new
# connections: accepting them was a fifth of this process's CPU). Each sandbox keeps a
# few, the runtime some more; bounded by the descriptors the process may open
_KEEP_ALIVE_MAX: Final = 1024


def moto_server(host: str, port: int, journal: Any, *, fd: int | None = None) -> MotoServer:
    """moto's server, bound now, on ``fd`` if given (a socket already listening).

    Each write is journaled under moto's request lock, and answered once it is synced.
    """
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from workflows.local.moto_patches import thin_dispatch
    from workflows.local.runtime import PortInUse

    moto = thin_dispatch(DomainDispatcherApplication(create_backend_app))
    app = journal.durable(one_at_a_time(journal.capturing(moto), journal.turn))
    if fd is not None:
        sock = socket.socket(fileno=fd)
    else:
        try:
            sock = socket.create_server((host, port), backlog=_LISTEN_BACKLOG)
        except OSError as problem:
            if problem.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
                raise
            raise PortInUse("aws", host, port, problem) from None
    if os.environ.get(CENSUS_ENV):
        app = _counting(app, _CENSUS)
    return MotoServer(_control(app, journal), sock)


class MotoServer:
    """moto over HTTP/1.1 with keep-alive, served by a pool of threads (cheroot).

    werkzeug's development server, which moto ships, closes the connection after every
    answer: each boto3 call was a new connection and a new thread on this side, and a
    reconnection on the caller's. cheroot keeps connections open and hands requests to
    a fixed pool of threads. The socket is given (bound and listening already), and
    cheroot is ready when this returns: ``serve_forever`` then serves until ``shutdown``.
    """

    def __init__(self, app: Any, sock: socket.socket) -> None:
        from cheroot import server, wsgi

        class Request(server.HTTPRequest):
            header_reader = _header_reader_type()()

        class Connection(server.HTTPConnection):
            RequestHandlerClass = Request

            def __init__(self, server: Any, sock: Any, makefile: Any = None) -> None:
                # cheroot's files are Python's pure-Python io (_pyio), per header line
                super().__init__(server, sock, _socket_file)

        _dates_by_the_second(server)

        class Server(wsgi.Server):
            ConnectionClass = Connection

            def bind(self, family: Any, type: Any, proto: Any = 0) -> None:
                # bound by the caller: take it rather than bind one, with what cheroot's
                # own binding sets (connections inherit it): without TCP_NODELAY, a
                # kept-alive connection's answer waits for the caller's delayed ACK
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.socket = sock

        host, port = sock.getsockname()[:2]
        self._server = Server(
            (host, port),
            app,
            numthreads=_SERVER_THREADS,
            request_queue_size=_LISTEN_BACKLOG,
            timeout=_IDLE_SECONDS,
            shutdown_timeout=1,
        )
        self._server.gateway = _gateway_type()
        self._server.keep_alive_conn_limit = _keep_alive_limit()
        self._server.prepare()
        self.port = int(port)

    def serve_forever(self) -> None:
        self._server.serve()

    def shutdown(self) -> None:
        """Stop serving: ``serve_forever`` returns (requests still running are not waited
        for beyond a second: an SQS long poll may have 20 s to go)."""
        self._server.stop()

    def server_close(self) -> None:
        self._server.stop()


class _SocketReader(io.BufferedReader):
    """What cheroot reads a connection with (its ``StreamReader``: ``read``, ``readline``,
    ``has_data``, ``bytes_read``), on CPython's C buffered reader: cheroot's own is
    built on ``_pyio``, the pure-Python io, ~90 us of CPU per kept-alive request here."""

    def __init__(self, sock: socket.socket, bufsize: int) -> None:
        super().__init__(socket.SocketIO(sock, "rb"), bufsize)
        self._sock = sock
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        data = super().readline(size)
        self.bytes_read += len(data)
        return data

    def has_data(self) -> bool:
        """Whether a next request is buffered already (pipelined): what is buffered, or
        what the socket has without waiting (cheroot's selector watches it otherwise)."""
        timeout = self._sock.gettimeout()
        self._sock.settimeout(0.0)
        try:
            return bool(self.peek(0))
        except (OSError, ValueError):
            return False  # closed or reset: the selector sees it and cheroot closes it
        finally:
            self._sock.settimeout(timeout)


class _SocketWriter:
    """What cheroot writes a connection with (its ``StreamWriter``): each write sent at
    once, as cheroot's own buffered writer does (it flushes on every write)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.bytes_written = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        if self.closed:
            raise ValueError("write to closed file")
        self._sock.sendall(data)
        self.bytes_written += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def _socket_file(
    sock: socket.socket, mode: str = "r", bufsize: int = io.DEFAULT_BUFFER_SIZE
) -> Any:
    """cheroot's ``makefile`` for a connection: ``_SocketReader`` or ``_SocketWriter``."""
    return _SocketReader(sock, bufsize) if "r" in mode else _SocketWriter(sock)


def _dates_by_the_second(server_module: Any) -> None:
    """cheroot's ``Date`` header formatted once a second, not for every answer.

    cheroot adds ``Date`` to each answer without one (moto's, here) with
    ``email.utils.formatdate(usegmt=True)``: ~15% of cheroot's CPU per request. The same
    text is made from the current second once, and kept for that second; only cheroot's
    module sees this ``email``.
    """
    import email.utils

    if getattr(server_module.email, "_by_the_second", False):
        return
    formatdate = email.utils.formatdate
    made: list[tuple[int, str]] = [(-1, "")]  # (second, its text), replaced as one

    def date_header(
        timeval: float | None = None, localtime: bool = False, usegmt: bool = False
    ) -> str:
        if timeval is not None or localtime or not usegmt:
            return formatdate(timeval, localtime, usegmt)
        second = int(time.time())
        stamp = made[0]
        if stamp[0] != second:
            stamp = made[0] = (second, formatdate(second, usegmt=True))
        return stamp[1]

    server_module.email = SimpleNamespace(utils=SimpleNamespace(formatdate=date_header))
    server_module.email._by_the_second = True


def _keep_alive_limit() -> int:
    """At most ``_KEEP_ALIVE_MAX`` idle connections, and at most half the descriptors."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):  # pragma: no cover - not a POSIX system
        return _KEEP_ALIVE_MAX // 4
    if soft == resource.RLIM_INFINITY:
        return _KEEP_ALIVE_MAX
    return max(10, min(_KEEP_ALIVE_MAX, soft // 2))


@functools.cache
def _header_reader_type() -> Any:
    from cheroot.server import HeaderReader

    class Reader(HeaderReader):
        def _transform_key(self, key_name: bytes) -> bytes:
            # cheroot title-cases header names; an underscored one (S3 metadata) keeps
            # the caller's spelling, which the gateway reports to moto. cheroot itself
            # only looks up names without underscores.
            name = key_name.strip()
            return name if b"_" in name else name.title()

    return Reader


@functools.cache
def _gateway_type() -> Any:
    from cheroot.wsgi import Gateway_10
    from moto.core.request import (
        PRESERVED_HEADER_NAMES_ENVIRON_KEY,
        environ_key_for_header,
        should_preserve_original_header_name,
    )

    class Gateway(Gateway_10):
        def get_environ(self) -> dict[str, Any]:  # type: ignore[override]
            """moto's own server's environ (``MotoRequestHandler``): a header with an
            underscore in its name is dropped, as WSGI cannot tell ``X_Foo`` from
            ``X-Foo``, except S3 metadata, kept under its own spelling unless a dashed
            header has the same key."""
            environ: dict[str, Any] = super().get_environ()  # type: ignore[no-untyped-call]
            inheaders = self.req.inheaders
            # the target as it arrived, before percent-decoding: moto matches S3 keys on it
            environ["RAW_URI"] = environ["REQUEST_URI"]
            if not any(b"_" in name for name in inheaders):
                # no name to keep or drop (almost every request): as the loop below leaves it
                environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = {}
                return environ
            headers = [
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in inheaders.items()
            ]
            dashed = {environ_key_for_header(n): v for n, v in headers if "_" not in n}
            names: dict[str, str] = {}
            for name, value in headers:
                if "_" not in name:
                    continue
                key = environ_key_for_header(name)
                if key in dashed:
                    environ[key] = dashed[key]
                elif should_preserve_original_header_name(name):
                    names.setdefault(key, name)
                    environ[key] = value.replace("\r\n", "")
                else:
                    environ.pop(key, None)
            environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = names
            return environ

    return Gateway


def one_at_a_time(app: Any, turn: threading.Lock) -> Any:
    """moto's backends are not thread-safe: serve one request at a time.

    With functions running concurrently, two DynamoDB requests at once broke moto
    (TransactWriteItems deep-copies the table while another request changes it:
    "dictionary changed size during iteration", and copies piled up in memory). moto
    alone in its process changes nothing about that: its dicts are shared by its
    request threads still. An SQS ReceiveMessage may wait up to 20 s (long polling)
    and takes SQS's own locks, so it does not hold the others up.
    """

    def serve(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("HTTP_X_AMZ_TARGET") == "AmazonSQS.ReceiveMessage":
            return app(environ, start_response)
        with turn:
            # the body is produced inside the lock too (moto answers with a list)
            return list(app(environ, start_response))

    return serve


_CENSUS: Final[collections.Counter[str]] = collections.Counter()
_SERVICE_IN_CREDENTIAL = re.compile(r"Credential=[^/,\s]+/[^/]+/[^/]+/([^/]+)/")


def request_kind(environ: dict[str, Any]) -> str:
    """ "service operation caller" of a request, for the census: the operation as the
    JSON protocols name it (``X-Amz-Target``), the query protocol's ``Action`` if in the
    URL (its body is not read), or S3's method; the caller from the User-Agent."""
    authorization = str(environ.get("HTTP_AUTHORIZATION") or "")
    found = _SERVICE_IN_CREDENTIAL.search(authorization)
    service = found.group(1) if found else "?"
    target = str(environ.get("HTTP_X_AMZ_TARGET") or "")
    if target:
        operation = target.rpartition(".")[2]
    elif service == "s3":
        operation = str(environ.get("REQUEST_METHOD"))
    else:
        query = dict(urllib.parse.parse_qsl(str(environ.get("QUERY_STRING") or "")))
        operation = query.get("Action") or f"query-{environ.get('REQUEST_METHOD')}"
    # the tasks' clients carry Powertools' mark ("PT/idempotency/3.37.0 PTEnv/NA" for
    # its idempotency layer's, "PT/no-op/..." for the others); the runtime's do not
    agent = str(environ.get("HTTP_USER_AGENT") or "")
    mark = agent.partition(" PT/")[2]
    if not mark:
        caller = "runtime"
    elif mark.startswith("idempotency/"):
        caller = "tasks:idempotency"
    else:
        caller = "tasks"
    return f"{service} {operation} {caller}"


def _counting(app: Any, census: collections.Counter[str]) -> Any:
    """Counts each request by ``request_kind`` (``CENSUS_ENV``)."""

    def serve(environ: dict[str, Any], start_response: Any) -> Any:
        if not str(environ.get("PATH_INFO") or "").startswith(CONTROL_PREFIX):
            census[request_kind(environ)] += 1
        return app(environ, start_response)

    return serve


def _control(app: Any, journal: Any) -> Any:
    """The runtime's requests under ``CONTROL_PREFIX``; everything else goes to moto."""
    from workflows.local.service_data import restore

    def serve(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO") or "")
        if not path.startswith(CONTROL_PREFIX):
            served: Iterable[bytes] = app(environ, start_response)
            return served
        action = path[len(CONTROL_PREFIX) :]
        query = dict(urllib.parse.parse_qsl(str(environ.get("QUERY_STRING") or "")))
        answer: Any
        try:
            if action == "recover":
                kept = journal.recover()
                restored = restore(kept, journal.objects_dir)
                journal.compact()
                answer = {"restored": restored, "replayed": journal.replayed}
            elif action == "compact":
                changed = journal.changed
                if changed:
                    journal.compact()
                answer = {"compacted": changed}
            elif action == "stop":
                journal.compact()
                journal.close()
                answer = {"stopped": True}
            elif action == "peek":
                with journal.turn:
                    answer = peek_messages(query.get("queue", ""))
            elif action == "sent":
                with journal.turn:
                    answer = sent_messages()
            elif action == "stats":
                answer = {
                    "appended": journal.appended,
                    "replayed": journal.replayed,
                    "syncs": journal.syncs,
                    "pid": os.getpid(),
                    "census": dict(_CENSUS),
                }
            else:
                start_response("404 Not Found", [("Content-Type", "application/json")])
                return [json.dumps({"error": f"no such action: {action}"}).encode()]
        except Exception as problem:
            log.exception("services' control request %s failed", action)
            body = json.dumps({"error": str(problem), "type": type(problem).__name__})
            start_response("500 Internal Server Error", [("Content-Type", "application/json")])
            return [body.encode()]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(answer, default=str).encode()]

    return serve


# --------------------------------------------------------------------- what the console shows


def _backend(service: str) -> Any:
    """moto's backend of ``service`` in this process for the local account and region."""
    from workflows.local.template import ACCOUNT, REGION

    try:
        from moto.backends import get_backend

        return get_backend(service)[ACCOUNT][REGION]  # type: ignore[call-overload]
    except Exception:  # a shape this version of moto does not have
        return None


def _text(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def peek_messages(queue: str) -> list[dict[str, Any]]:
    """The first messages of a queue of this process's moto, without receiving them."""
    backend = _backend("sqs")
    found = getattr(backend, "queues", {}).get(queue) if backend is not None else None
    messages = getattr(found, "_messages", None) or []
    return [
        {
            "id": _text(getattr(m, "id", "")),
            "body": _text(getattr(m, "body", "")),
            "receives": _text(getattr(m, "approximate_receive_count", 0)),
            "visible": bool(getattr(m, "visible", True)),
        }
        for m in list(messages)[:ITEMS_SHOWN]
    ]


def sent_messages() -> dict[str, list[dict[str, Any]]]:
    """The last emails (SES) and SMS (SNS) this process's moto sent, newest email first."""
    ses = _backend("ses")
    emails = []
    for message in reversed(list(getattr(ses, "sent_messages", None) or [])[-ITEMS_SHOWN:]):
        destinations = getattr(message, "destinations", None) or {}
        emails.append(
            {
                "source": _text(getattr(message, "source", "")),
                "to": ", ".join(destinations.get("ToAddresses", []))
                if isinstance(destinations, dict)
                else str(destinations),
                "subject": _text(getattr(message, "subject", "") or ""),
                "body": _text(
                    getattr(message, "body", None) or getattr(message, "raw_data", "") or ""
                ),
            }
        )
    sns = _backend("sns")
    sent = getattr(sns, "sms_messages", None) or {}
    sms = [
        {"id": _text(message_id), "to": _text(number), "message": _text(text)}
        for message_id, (number, text) in list(sent.items())[-ITEMS_SHOWN:]
    ]
    return {"emails": emails, "sms": sms}


# --------------------------------------------------------------------- the child process


def _die_with_parent(parent: int) -> None:
    """Exit when the runtime does, even if it is killed (kill -9)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)

    def watch_stdin() -> None:
        # the runtime holds the other end: its end, by a stop or a crash, ends this process
        with contextlib.suppress(OSError):
            while sys.stdin.buffer.read(4096):
                pass
        os._exit(0)

    threading.Thread(target=watch_stdin, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m workflows.local.aws_services")
    parser.add_argument("--fd", type=int, required=True, help="the listening socket")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--parent", type=int, required=True)
    args = parser.parse_args(argv)
    _die_with_parent(args.parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the runtime's to handle
    logging.basicConfig(level=logging.WARNING, format="aws services: %(levelname)s %(message)s")

    import gc

    from workflows.local.moto_patches import patch_transactions
    from workflows.local.run import FEWER_COLLECTIONS
    from workflows.local.service_journal import ServiceJournal
    from workflows.local.shared_loader import share_botocore_loader

    # as in the runtime's process (cli.py): moto's heap is mostly long-lived models and
    # data, which Python's default thresholds would scan over and over under load
    gc.set_threshold(*FEWER_COLLECTIONS)

    share_botocore_loader()
    patch_transactions()  # moto's TransactWriteItems without whole-table copies
    journal = ServiceJournal(args.state_dir)
    sock = socket.socket(fileno=args.fd)
    port = int(sock.getsockname()[1])
    sock.detach()  # the server takes the descriptor over
    server = moto_server(args.host, port, journal, fd=args.fd)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    gc.freeze()  # what the imports built lives as long as the process
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    # nobody reads the pipe after this line: whatever else is printed goes to stderr
    os.dup2(2, 1)
    server.serve_forever()
    # stopped: an SQS long poll may hold a worker thread for up to 20 s more, with
    # nobody left to answer (what was acknowledged is synced already)
    sys.stderr.flush()
    os._exit(0)


# --------------------------------------------------------------------- the runtime's side


class AwsServicesStopped(Exception):
    """The local AWS services' process ended while the runtime was serving."""


class AwsServices:
    """The child process serving moto for a runtime, and its control channel."""

    def __init__(self, sock: socket.socket, url: str, state_dir: Path) -> None:
        self._socket = sock
        self.url = url
        self.state_dir = state_dir
        self.process: asyncio.subprocess.Process | None = None
        self.stopped: asyncio.Future[str] | None = None  # a message, if it ended on its own
        self._stopping = False
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the process (from the event loop's thread: the kernel's parent-death
        signal follows the thread that started it) and wait until it serves."""
        sock = self._socket
        fd = sock.fileno()
        host = sock.getsockname()[0]
        sock.setblocking(True)
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "workflows.local.aws_services",
            "--fd",
            str(fd),
            "--host",
            str(host),
            "--state-dir",
            str(self.state_dir),
            "--parent",
            str(os.getpid()),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            pass_fds=(fd,),
        )
        sock.close()  # the child's now: once it ends, connections are refused, not queued
        assert self.process.stdout is not None
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), _START_TIMEOUT)
        except TimeoutError:
            line = b""
        if line.strip() != b"ready":
            await self._end()
            raise AwsServicesStopped(
                f"the local AWS services (moto) did not start (exit code {self.process.returncode})"
            )
        self.stopped = asyncio.get_running_loop().create_future()
        self._watch = asyncio.ensure_future(self._watch_process())

    async def _watch_process(self) -> None:
        assert self.process is not None
        assert self.stopped is not None
        code = await self.process.wait()
        if not self._stopping and not self.stopped.done():
            message = (
                f"the local AWS services (moto, pid {self.process.pid}) stopped unexpectedly "
                f"(exit code {code}); workflows up stops. What they acknowledged is in "
                f"{self.state_dir}: start again to recover it"
            )
            log.error("%s", message)
            self.stopped.set_result(message)

    def call(self, action: str, timeout: float = 120.0, **query: str) -> Any:
        """A control request (blocking: from a thread)."""
        url = f"{self.url}{CONTROL_PREFIX}{action}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        method = "GET" if action in ("peek", "sent", "stats") else "POST"
        request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as problem:
            detail = json.loads(problem.read() or b"{}")
            if detail.get("type") in ("ServiceDataError", "JournalError"):
                from workflows.local.service_data import ServiceDataError

                raise ServiceDataError(detail.get("error", "")) from None
            raise RuntimeError(f"the local AWS services' {action} failed: {detail}") from None

    async def stop(self) -> None:
        """A last snapshot, then the process ends."""
        self._stopping = True
        process = self.process
        if process is None:
            return
        if process.returncode is None:
            try:
                await asyncio.to_thread(self.call, "stop")
            except Exception:  # it has ended or cannot snapshot: the journal has it all
                log.exception("the services' last snapshot failed")
        await self._end()
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
            self._watch = None
        self.process = None

    async def _end(self) -> None:
        process = self.process
        if process is None:
            return
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), _STOP_TIMEOUT)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if process.stdin is not None:
            process.stdin.close()


if __name__ == "__main__":
    main()
