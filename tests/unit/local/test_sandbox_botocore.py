"""The sandboxes' botocore path (``sandbox_botocore``, ``sandbox_http``): the same requests
as botocore's own, byte for byte, the same answers and the same errors."""

from __future__ import annotations

import contextlib
import datetime
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import boto3
import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.httpsession import URLLib3Session
from botocore.parsers import ResponseParserError

from workflows.local import sandbox_botocore, sandbox_http

Reply = Callable[[bytes], bytes | None]  # a request's bytes -> the answer's (None: close)

JSON_OK = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
    b"x-amzn-RequestId: req-1\r\nContent-Length: 2\r\n\r\n{}"
)


class Server:
    """A socket server that records each request's bytes and answers from a script."""

    def __init__(self, replies: list[Reply] | None = None) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[bytes] = []
        self.connections = 0
        self.replies = list(replies or [])
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        data = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(rest) < length:
                    rest += conn.recv(65536)
                request, data = head + b"\r\n\r\n" + rest[:length], rest[length:]
                self.requests.append(request)
                reply = self.replies.pop(0) if self.replies else (lambda _: JSON_OK)
                answer = reply(request)
                if answer is None:
                    return  # closes the connection without an answer
                conn.sendall(answer)
                if b"connection: close" in answer.lower():
                    return

    def close(self) -> None:
        # a thread blocked in accept() keeps a closed socket listening: shut it down first
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


@pytest.fixture
def server() -> Iterator[Server]:
    found = Server()
    yield found
    found.close()


@pytest.fixture
def lean() -> Iterator[None]:
    sandbox_botocore.install()
    try:
        yield
    finally:
        sandbox_botocore.uninstall()


FIXED_NOW = datetime.datetime(2026, 12, 2, 15, 0, 0)


@pytest.fixture
def frozen() -> Iterator[None]:
    """The request's date and invocation id fixed, so that two requests can be equal."""
    with (
        mock.patch("botocore.auth.get_current_datetime", return_value=FIXED_NOW),
        mock.patch("botocore.endpoint.uuid.uuid4", return_value="invocation-1"),
    ):
        yield


def new_client(service: str, url: str, **config: Any) -> Any:
    session = boto3.session.Session(
        aws_access_key_id="AKID",
        aws_secret_access_key="secret",
        region_name="us-east-1",
    )
    return session.client(
        service,
        endpoint_url=url,
        config=Config(user_agent="fixed", **config),
    )


def calls(dynamodb: Any, sns: Any) -> None:
    dynamodb.get_item(TableName="T", Key={"PK": {"S": "x"}}, ConsistentRead=True)
    dynamodb.put_item(
        TableName="T",
        Item={"PK": {"S": "é ü"}, "n": {"N": "1"}, "l": {"L": [{"S": "a"}]}},
        ConditionExpression="attribute_not_exists(PK)",
    )
    with pytest.raises(ResponseParserError):  # the canned JSON answer is not SNS's XML
        sns.publish(TopicArn="arn:aws:sns:us-east-1:123456789012:t", Message="a b&c=ü")


def sent_requests(url_server: Server, install: bool) -> list[bytes]:
    if install:
        sandbox_botocore.install()
    try:
        calls(new_client("dynamodb", url_server.url), new_client("sns", url_server.url))
    finally:
        sandbox_botocore.uninstall()
    found, url_server.requests = url_server.requests, []
    return found


def test_the_requests_are_botocore_s_own_byte_for_byte(server: Server, frozen: None) -> None:
    plain = sent_requests(server, install=False)
    leaner = sent_requests(server, install=True)
    assert len(plain) == 3
    assert leaner == plain
    assert b"Signature=" in plain[0]


def test_the_signature_is_botocore_s_for_every_kind_of_request() -> None:
    cases: list[dict[str, Any]] = [
        {"url": "http://127.0.0.1:4566/", "data": b'{"a": 1}'},
        {"url": "http://127.0.0.1:4566/", "data": {"Action": "Publish", "Message": "a b&ü"}},
        {"url": "http://127.0.0.1:4566/", "data": "text body é"},
        {"url": "http://127.0.0.1:4566/", "data": b""},
        {"url": "https://sns.us-east-1.amazonaws.com/", "data": b"Action=Publish"},
        {"url": "http://localhost/a/./b/../c//d?z=1&a=2&a=1", "data": b"", "method": "GET"},
        {"url": "http://localhost:80/path", "data": b"x", "params": {"b": "2 3", "a": "1"}},
        {
            "url": "http://localhost/",
            "data": b"x",
            "headers": {"X-Custom": "  spaced   out  ", "x-custom": "second", "Date": "x"},
        },
        {"url": "http://localhost/", "data": b"x", "headers": {"X-Amz-Content-SHA256": "abc"}},
        {"url": "http://localhost/", "data": b"x", "context": {"payload_signing_enabled": False}},
        {"url": "https://localhost/", "data": b"x", "context": {"payload_signing_enabled": False}},
    ]
    for token in (None, "TOKEN"):
        credentials = ReadOnlyCredentials("AKID", "secret", token)
        for case in cases:
            signed = []
            for add_auth in (botocore.auth.SigV4Auth.add_auth, sandbox_botocore._add_auth):
                request = AWSRequest(
                    method=case.get("method", "POST"),
                    url=case["url"],
                    data=case["data"],
                    params=case.get("params", {}),
                    headers={"Content-Type": "application/json", **case.get("headers", {})},
                )
                request.context = dict(case.get("context", {}))
                signer = botocore.auth.SigV4Auth(credentials, "dynamodb", "eu-west-1")
                with (
                    mock.patch("botocore.auth.get_current_datetime", return_value=FIXED_NOW),
                    mock.patch.object(
                        sandbox_botocore, "_original_add_auth", botocore.auth.SigV4Auth.add_auth
                    ),
                    mock.patch.object(
                        sandbox_botocore,
                        "_BLACKLIST",
                        frozenset(botocore.auth.SIGNED_HEADERS_BLACKLIST),
                    ),
                ):
                    add_auth(signer, request)
                signed.append(list(request.headers.items()))
            assert signed[0] == signed[1], case


def test_other_signers_keep_botocore_s_own(lean: None) -> None:
    request = AWSRequest(method="GET", url="https://bucket.s3.amazonaws.com/key", data=b"")
    request.context = {}
    signer = botocore.auth.S3SigV4Auth(ReadOnlyCredentials("AKID", "s", None), "s3", "us-east-1")
    with mock.patch.object(
        sandbox_botocore, "_original_add_auth", wraps=sandbox_botocore._original_add_auth
    ) as original:
        signer.add_auth(request)
    original.assert_called_once()


def test_a_new_day_signs_with_that_day_s_key() -> None:
    first = sandbox_botocore._signing_key("secret", "20261202", "us-east-1", "sns")
    assert sandbox_botocore._signing_key("secret", "20261202", "us-east-1", "sns") is first
    assert sandbox_botocore._signing_key("secret", "20261203", "us-east-1", "sns") != first


def test_answers_are_read_as_urllib3_reads_them(lean: None) -> None:
    item = b'{"Item": {"PK": {"S": "x"}}}'
    chunked = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
        b"Transfer-Encoding: chunked\r\nX-Twice: a\r\nx-twice: b\r\n\r\n"
        b"5;ext=1\r\n" + item[:5] + b"\r\n" + b"%x\r\n" % len(item[5:]) + item[5:] + b"\r\n"
        b"0\r\nTrailer: x\r\n\r\n"
    )
    until_close = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
        b"Connection: close\r\n\r\n" + item
    )
    server = Server(
        [
            lambda _: chunked,
            lambda _: until_close,
            lambda _: b"HTTP/1.1 100 Continue\r\n\r\n" + JSON_OK,
        ]
    )
    try:
        dynamodb = new_client("dynamodb", server.url)
        answer = dynamodb.get_item(TableName="T", Key={"PK": {"S": "x"}})
        assert answer["Item"] == {"PK": {"S": "x"}}
        assert answer["ResponseMetadata"]["HTTPHeaders"]["x-twice"] == "a, b"
        assert dynamodb.get_item(TableName="T", Key={"PK": {"S": "x"}})["Item"] == {
            "PK": {"S": "x"}
        }
        assert "Item" not in dynamodb.get_item(TableName="T", Key={"PK": {"S": "x"}})
        # the answer read till the close opened a new connection; the others kept theirs
        assert server.connections == 2
    finally:
        server.close()


def test_an_error_answer_is_the_service_s_error(lean: None) -> None:
    body = b'{"__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",'
    body += b' "message": "no table"}'
    answer = (
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body
    )
    server = Server([lambda _: answer])
    try:
        dynamodb = new_client("dynamodb", server.url)
        with pytest.raises(ClientError) as raised:
            dynamodb.get_item(TableName="T", Key={"PK": {"S": "x"}})
        assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
        assert raised.value.response["Error"]["Message"] == "no table"
    finally:
        server.close()


def test_a_connection_the_server_closed_while_idle_is_replaced(lean: None) -> None:
    closing = JSON_OK.replace(b"\r\n\r\n", b"\r\nConnection: keep-alive\r\n\r\n", 1)
    server = Server()
    try:
        dynamodb = new_client("dynamodb", server.url, retries={"total_max_attempts": 1})
        dynamodb.get_item(TableName="T", Key={"PK": {"S": "x"}})
        # the server drops every connection it has (as an idle timeout would)
        pool = sandbox_http._lean_of(dynamodb._endpoint.http_session)
        for route in pool.routes.values():
            assert route is not None
            for connection in route.idle:
                connection.sock.shutdown(socket.SHUT_RD)
        server.replies = [lambda _: closing]
        dynamodb.get_item(TableName="T", Key={"PK": {"S": "x"}})
        assert len(server.requests) == 2
        assert server.connections == 2
    finally:
        server.close()


def test_errors_are_botocore_s_own(lean: None) -> None:
    server = Server([lambda _: None])
    try:
        dynamodb = new_client("dynamodb", server.url, retries={"total_max_attempts": 1})
        with pytest.raises(ConnectionClosedError):
            dynamodb.get_item(TableName="T", Key={"PK": {"S": "x"}})
        slow = new_client(
            "dynamodb", server.url, retries={"total_max_attempts": 1}, read_timeout=0.2
        )
        hold = threading.Event()

        def never(_: bytes) -> bytes:
            hold.wait(5)
            return JSON_OK

        server.replies = [never]
        with pytest.raises(ReadTimeoutError):
            slow.get_item(TableName="T", Key={"PK": {"S": "x"}})
        hold.set()
    finally:
        server.close()
    gone = new_client("dynamodb", server.url, retries={"total_max_attempts": 1})
    with pytest.raises(EndpointConnectionError):
        gone.get_item(TableName="T", Key={"PK": {"S": "x"}})


def test_botocore_retries_what_it_retried(lean: None) -> None:
    server = Server([lambda _: None])  # the first attempt: the connection closes
    try:
        dynamodb = new_client("dynamodb", server.url)
        answer = dynamodb.get_item(TableName="T", Key={"PK": {"S": "x"}})
        assert answer["ResponseMetadata"]["RetryAttempts"] == 1
        assert b"amz-sdk-request: attempt=2" in server.requests[1]
    finally:
        server.close()


def test_what_the_lean_path_cannot_send_as_urllib3_would_goes_to_urllib3(
    lean: None, server: Server
) -> None:
    session = URLLib3Session()
    state = sandbox_http._lean_of(session)
    assert state.route(f"{server.url}/a?b=1")[1] == "/a?b=1"
    for url in ("https://localhost/", f"{server.url}/a;b", f"{server.url}/a b"):
        with pytest.raises(sandbox_http._Fallback):
            state.route(url)
    with mock.patch.dict("os.environ", {"HTTP_PROXY": "http://proxy:3128"}):
        proxied = sandbox_http._lean_of(URLLib3Session(proxies={"http": "http://proxy:3128"}))
        with pytest.raises(sandbox_http._Fallback):
            proxied.route(f"{server.url}/")
    with mock.patch.object(sandbox_http, "_original", wraps=sandbox_http._original) as original:
        request = AWSRequest(method="PUT", url=f"{server.url}/", data=b"x").prepare()
        request.stream_output = True
        session.send(request)
    original.assert_called_once()


def test_install_is_undone_by_uninstall() -> None:
    before = (URLLib3Session.send, botocore.auth.SigV4Auth.add_auth)
    sandbox_botocore.install()
    sandbox_botocore.install()
    assert sandbox_botocore.installed()
    assert sandbox_http.installed()
    assert URLLib3Session.send is not before[0]
    sandbox_botocore.uninstall()
    assert (URLLib3Session.send, botocore.auth.SigV4Auth.add_auth) == before
    assert not sandbox_botocore.installed()


def test_a_session_built_with_the_fork_server_s_caches_is_the_same_session() -> None:
    import functools

    import botocore.hooks
    import botocore.session

    def handlers(session: Any) -> list[tuple[str, list[str]]]:
        # by name: some are closures made per session (Powertools' user-agent hook)
        emitter = session.get_component("event_emitter")._emitter
        found = []
        for event in ("before-send.dynamodb.GetItem", "request-created.sns.Publish"):
            names = [
                getattr(h, "__qualname__", repr(h)) for h in emitter._handlers.prefix_search(event)
            ]
            found.append((event, names))
        return found

    plain = handlers(botocore.session.Session())
    sandbox_botocore.install_session_caches()
    try:
        sandbox_botocore.install_session_caches()
        assert handlers(botocore.session.Session()) == plain
        assert handlers(botocore.session.Session()) == plain  # the second, from the caches
        aliaser = botocore.session.Session().get_component("event_emitter")
        for name in ("before-call.autoscaling.X", "before-call.apigateway.Y", "after-call.s3.Z"):
            assert aliaser._alias_event_name(name) == sandbox_botocore._original_alias(
                botocore.hooks.EventAliaser(botocore.hooks.HierarchicalEmitter()), name
            )

        def no_kwargs(a: Any) -> None: ...

        def with_kwargs(**kwargs: Any) -> None: ...

        for func in (
            no_kwargs,
            with_kwargs,
            functools.partial(with_kwargs),
            botocore.session.Session().get_credentials,
        ):
            accepts = botocore.compat.accepts_kwargs(func)
            assert botocore.hooks.accepts_kwargs(func) == accepts
            assert botocore.hooks.accepts_kwargs(func) == accepts
        with pytest.raises(ValueError, match=r"must accept keyword arguments"):
            botocore.session.Session().register("before-call", no_kwargs)
    finally:
        sandbox_botocore.uninstall_session_caches()
    assert botocore.hooks.accepts_kwargs is botocore.compat.accepts_kwargs
