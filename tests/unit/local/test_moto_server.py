"""moto's HTTP server under ``workflows up``: what callers see of it besides moto.

Served in this process as the services' process serves it (``moto_server``), with the
journal on, on a free port.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.local.test_service_journal import Served, _reset_moto_in_process
from workflows.local.aws_services import CENSUS_ENV, CONTROL_PREFIX, moto_server, request_kind
from workflows.local.runtime import PortInUse
from workflows.local.service_journal import ServiceJournal

BUCKET = "exports"
QUEUE = "Events"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    _reset_moto_in_process()
    served = Served(tmp_path)
    served.client("s3").create_bucket(Bucket=BUCKET)
    served.client("sqs").create_queue(QueueName=QUEUE)
    served.journal.compact()
    try:
        yield served
    finally:
        served.stop()


def test_connections_are_kept_open_between_requests(served: Served) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    try:
        for _ in range(3):
            connection.request("GET", f"{CONTROL_PREFIX}stats")
            answer = connection.getresponse()
            assert answer.status == 200
            assert json.loads(answer.read())["appended"] == 0
            assert answer.getheader("Connection", "").lower() != "close"
        # the same socket answered all three
        assert connection.sock is not None
    finally:
        connection.close()


def test_answers_carry_the_current_date(served: Served) -> None:
    import email.utils
    import time

    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    try:
        dates = []
        for _ in range(3):
            before = int(time.time())
            connection.request("GET", f"{CONTROL_PREFIX}stats")
            answer = connection.getresponse()
            answer.read()
            after = time.time()
            sent = answer.getheader("Date", "")
            assert sent.endswith(" GMT")
            stamp = email.utils.parsedate_to_datetime(sent).timestamp()
            assert before <= stamp <= after
            assert sent == email.utils.formatdate(stamp, usegmt=True)
            dates.append(sent)
    finally:
        connection.close()
    # a date for another time is still formatted for it (cheroot's module only sees ours)
    from cheroot import server

    assert server.email.utils.formatdate(0, usegmt=True) == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert server.email.utils.formatdate(0) == email.utils.formatdate(0)


def test_pipelined_and_split_requests_are_each_answered(served: Served) -> None:
    # two requests in one packet (the second is buffered when the first is answered),
    # then one request sent in pieces, with a body
    stats = f"GET {CONTROL_PREFIX}stats HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(stats + stats)
        received = b""
        # both answers whole: each is chunked, so each ends with the last chunk
        while received.count(b"\r\n0\r\n\r\n") < 2:
            chunk = sock.recv(65536)
            assert chunk
            received += chunk
        assert received.count(b"HTTP/1.1 200") == 2
        body = b"Action=ListQueues"
        request = (
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Authorization: AWS4-HMAC-SHA256 Credential=t/20261202/us-east-1/sqs/aws4_request, "
            b"SignedHeaders=host, Signature=0\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        for start in range(0, len(request), 40):
            sock.sendall(request[start : start + 40])
        answer = b""
        while b"</ListQueuesResponse>" not in answer:
            chunk = sock.recv(65536)
            assert chunk
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200")
        assert b"/Events</QueueUrl>" in answer


def test_many_idle_connections_are_all_kept_open(served: Served) -> None:
    # cheroot keeps 10 idle keep-alive connections by default and closes the others after
    # their answer: every sandbox's clients then reconnected for half their requests
    connections = [
        http.client.HTTPConnection("127.0.0.1", served.port, timeout=10) for _ in range(40)
    ]
    try:
        sockets = []
        for connection in connections:  # each one idle, kept alive, while the next asks
            connection.request("GET", f"{CONTROL_PREFIX}stats")
            answer = connection.getresponse()
            answer.read()
            assert answer.status == 200
            assert answer.getheader("Connection", "").lower() != "close"
            sockets.append(connection.sock)
        for connection, sock in zip(connections, sockets, strict=True):
            connection.request("GET", f"{CONTROL_PREFIX}stats")
            answer = connection.getresponse()
            answer.read()
            assert answer.status == 200
            assert connection.sock is sock  # not reconnected
    finally:
        for connection in connections:
            connection.close()


def test_s3_metadata_keeps_underscores_and_other_underscored_headers_are_dropped(
    served: Served,
) -> None:
    s3 = served.client("s3")
    s3.put_object(
        Bucket=BUCKET,
        Key="one.json",
        Body=b"{}",
        Metadata={"my_key": "underscored", "other-key": "dashed"},
    )
    assert s3.head_object(Bucket=BUCKET, Key="one.json")["Metadata"] == {
        "my_key": "underscored",
        "other-key": "dashed",
    }
    # a header spelled with an underscore never stands in for its dashed twin
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    try:
        connection.putrequest("PUT", f"/{BUCKET}/two.json")
        connection.putheader("Content-Length", "2")
        connection.putheader("Content_Type", "text/evil")
        connection.putheader("X-Amz-Meta-Same-Key", "dashed")
        connection.putheader("X-Amz-Meta-Same_Key", "underscored")
        connection.endheaders(b"{}")
        assert connection.getresponse().read() is not None
    finally:
        connection.close()
    head = s3.head_object(Bucket=BUCKET, Key="two.json")
    assert head["ContentType"] != "text/evil"
    assert head["Metadata"] == {"same-key": "dashed"}


def test_a_long_poll_holds_no_other_request_up(served: Served) -> None:
    sqs = served.client("sqs")
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    polled: list[Any] = []
    poll = threading.Thread(
        target=lambda: polled.append(
            served.client("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=5)
        )
    )
    poll.start()
    try:
        # served while the poll waits (moto answers one request at a time otherwise)
        for _ in range(3):
            assert served.client("s3").list_buckets()["Buckets"]
        sqs.send_message(QueueUrl=url, MessageBody="hello")
    finally:
        poll.join(30)
    assert [m["Body"] for m in polled[0].get("Messages", [])] in (["hello"], [])


def test_a_taken_port_is_port_in_use(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(PortInUse):
            moto_server("127.0.0.1", port, ServiceJournal(tmp_path))


def test_a_given_listening_socket_is_served(tmp_path: Path) -> None:
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = moto_server("127.0.0.1", port, ServiceJournal(tmp_path), fd=sock.detach())
    # kept-alive answers are sent at once, not held for the caller's delayed ACK
    listening = socket.socket(fileno=os.dup(server._server.socket.fileno()))
    assert listening.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    listening.close()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", f"{CONTROL_PREFIX}nothing")
        assert connection.getresponse().status == 404
        connection.close()
    finally:
        server.shutdown()
        thread.join(10)
    assert not thread.is_alive()


def test_the_census_names_service_operation_and_caller() -> None:
    credential = "AWS4-HMAC-SHA256 Credential=testing/20261202/us-east-1/{}/aws4_request, X"
    agent = "Boto3/1.44.5 md/Botocore#1.44.5 ua/2.1 Botocore/1.44.5"
    assert (
        request_kind(
            {
                "HTTP_AUTHORIZATION": credential.format("dynamodb"),
                "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.PutItem",
                "HTTP_USER_AGENT": f"{agent} PT/idempotency/3.37.0 PTEnv/NA",
            }
        )
        == "dynamodb PutItem tasks:idempotency"
    )
    assert (
        request_kind(
            {
                "HTTP_AUTHORIZATION": credential.format("ses"),
                "REQUEST_METHOD": "POST",
                "HTTP_USER_AGENT": f"{agent} PT/no-op/3.37.0 PTEnv/NA",
            }
        )
        == "ses query-POST tasks"
    )
    assert (
        request_kind(
            {
                "HTTP_AUTHORIZATION": credential.format("s3"),
                "REQUEST_METHOD": "PUT",
                "HTTP_USER_AGENT": agent,
            }
        )
        == "s3 PUT runtime"
    )
    assert request_kind({"QUERY_STRING": "Action=SendMessage"}) == "? SendMessage runtime"


def test_the_census_counts_requests_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CENSUS_ENV, "1")
    _reset_moto_in_process()
    served = Served(tmp_path)
    try:
        sqs = served.client("sqs")
        sqs.create_queue(QueueName=QUEUE)
        sqs.list_queues()
        sqs.list_queues()
        connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
        connection.request("GET", f"{CONTROL_PREFIX}stats")
        census = json.loads(connection.getresponse().read())["census"]
        connection.close()
        # by service and operation; the caller is whatever marks this process's clients
        # carry (Powertools, once imported by other tests, marks every botocore client)
        by_operation: dict[str, int] = {}
        for kind, count in census.items():
            operation = kind.rpartition(" ")[0]
            by_operation[operation] = by_operation.get(operation, 0) + count
        assert by_operation["sqs ListQueues"] >= 2
        assert by_operation["sqs CreateQueue"] >= 1
    finally:
        served.stop()
