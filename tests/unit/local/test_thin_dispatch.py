"""moto served past Flask (``moto_patches.thin_dispatch``) answers as moto's Flask apps do.

Each request goes once through moto's own ``DomainDispatcherApplication`` (Flask,
flask-cors) and once through ``thin_dispatch`` of the same dispatcher, in turn, and the
two answers must be the same: status, headers and body, but for what differs between
any two answers (request ids, checksums of bodies that hold them, dates).
"""

from __future__ import annotations

import json
import re
from typing import Any

from werkzeug.test import Client

from tests.unit.local.test_service_journal import _reset_moto_in_process
from workflows.local.moto_patches import thin_dispatch

JSON_1_0 = "application/x-amz-json-1.0"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
# what is new in every answer: request ids, message ids, receipt handles, their checksums
# (and the lengths of bodies with times in them)
_VARYING_HEADERS = {
    "x-amzn-requestid",
    "x-amz-crc32",
    "x-amz-request-id",
    "x-amz-id-2",
    "date",
    "content-length",
    "last-modified",
}
_TIME = re.compile(rb"\b1[0-9]{9}(\.[0-9]+)?\b|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z?")
_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_REQUEST_ID = re.compile(rb"(<RequestId>|<RequestID>)[^<]*(</Request[Ii][dD]>)")


def _auth(service: str) -> str:
    return (
        "AWS4-HMAC-SHA256 Credential=testing/20261202/us-east-1/"
        f"{service}/aws4_request, SignedHeaders=host, Signature=0"
    )


def _json(service: str, target: str, body: dict[str, Any], content_type: str = JSON_1_0) -> Any:
    headers = {"Authorization": _auth(service), "X-Amz-Target": target}
    return ("POST", "/", headers, json.dumps(body).encode(), content_type)


def _query(service: str, body: str) -> Any:
    return ("POST", "/", {"Authorization": _auth(service)}, body.encode(), FORM)


def _s3(method: str, path: str, body: bytes = b"", **headers: str) -> Any:
    return (method, path, {"Authorization": _auth("s3"), **headers}, body, None)


DDB = "DynamoDB_20120810."
TABLE = {
    "TableName": "Orders",
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
    "BillingMode": "PAY_PER_REQUEST",
}
ITEM = {"pk": {"S": "one"}, "n": {"N": "1"}}

# answered the same each time: creations are idempotent or fail the same way again
REQUESTS = [
    _json("dynamodb", DDB + "CreateTable", TABLE),
    _json("dynamodb", DDB + "ListTables", {}),
    _json("dynamodb", DDB + "DescribeTable", {"TableName": "Missing"}),
    _json("dynamodb", DDB + "PutItem", {"TableName": "Orders", "Item": ITEM}),
    _json("dynamodb", DDB + "GetItem", {"TableName": "Orders", "Key": {"pk": {"S": "one"}}}),
    _json(
        "dynamodb",
        DDB + "PutItem",
        {"TableName": "Orders", "Item": ITEM, "ConditionExpression": "attribute_not_exists(pk)"},
    ),
    _json("dynamodb", DDB + "UpdateItem", {"TableName": "Orders", "Key": {}}),
    _json("dynamodb", DDB + "NoSuchAction", {}),
    _json("dynamodb", DDB + "Query", {"TableName": "Orders"}),
    _json("sqs", "AmazonSQS.CreateQueue", {"QueueName": "Events"}),
    _json("sqs", "AmazonSQS.GetQueueUrl", {"QueueName": "Missing"}),
    _json("sqs", "AmazonSQS.GetQueueUrl", {"QueueName": "Events"}),
    # the same request from another host: its queue's URL is on that host
    (
        "POST",
        "/",
        {
            "Authorization": _auth("sqs"),
            "X-Amz-Target": "AmazonSQS.GetQueueUrl",
            "Host": "sqs.example.test:4566",
        },
        b'{"QueueName": "Events"}',
        JSON_1_0,
    ),
    _json("sqs", "AmazonSQS.ListQueues", {}),
    _query("sqs", "Action=ListQueues&Version=2012-11-05"),
    _query("sns", "Action=CreateTopic&Name=Orders&Version=2010-03-31"),
    _query("sns", "Action=ListTopics&Version=2010-03-31"),
    _query("sns", "Action=GetTopicAttributes&TopicArn=arn%3Anope&Version=2010-03-31"),
    _query("ses", "Action=VerifyEmailIdentity&EmailAddress=a%40example.com&Version=2010-12-01"),
    _query("ses", "Action=ListIdentities&Version=2010-12-01"),
    _json("events", "AWSEvents.ListRules", {}, "application/x-amz-json-1.1"),
    _json("events", "AWSEvents.DescribeRule", {"Name": "Missing"}, "application/x-amz-json-1.1"),
    _s3("PUT", "/exports"),
    _s3("PUT", "/exports/a%20key.json", b"{}", **{"Content-Type": "application/json"}),
    _s3("GET", "/exports/a%20key.json"),
    _s3("GET", "/exports?list-type=2"),
    _s3("GET", "/missing-bucket/key"),
    _s3("GET", "/exports/missing-key"),
    _s3("DELETE", "/exports/gone"),
    # left to Flask: the answers are the same by construction, checked all the same
    _s3("HEAD", "/exports/a%20key.json"),
    (
        "OPTIONS",
        "/",
        {"Origin": "http://console", "Access-Control-Request-Method": "POST"},
        b"",
        None,
    ),
    (
        "POST",
        "/",
        {
            "Authorization": _auth("sqs"),
            "X-Amz-Target": "AmazonSQS.ListQueues",
            "Origin": "http://c",
        },
        b"{}",
        JSON_1_0,
    ),
    ("GET", "/no/such/path", {"Authorization": _auth("dynamodb")}, b"", None),
]


def _answers(through_flask: bool) -> list[tuple[str, list[tuple[str, str]], bytes]]:
    """Every request's answer, in order, from a moto with nothing in it."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    _reset_moto_in_process()
    dispatcher = DomainDispatcherApplication(create_backend_app)
    client = Client(dispatcher if through_flask else thin_dispatch(dispatcher))
    try:
        # twice: the second time, each rule and URL root is the one remembered
        return [_answer(client, request) for request in REQUESTS + REQUESTS]
    finally:
        _reset_moto_in_process()


def _answer(client: Client, request: Any) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status, headers, body) of an answer, or ("raised", [], the exception's type)."""
    method, path, headers, body, content_type = request
    path, _, query = path.partition("?")
    try:
        response = client.open(
            path,
            method=method,
            headers=headers,
            data=body,
            content_type=content_type,
            query_string=query,
            base_url="http://localhost:5000",
        )
    except Exception as problem:  # moto's Flask apps let it through to the server (a 500)
        return "raised", [], type(problem).__name__.encode()
    kept = [(k, v) for k, v in response.headers.items() if k.lower() not in _VARYING_HEADERS]
    data = _REQUEST_ID.sub(rb"\1\2", _UUID.sub(b"UUID", response.get_data()))
    data = _TIME.sub(b"TIME", data)
    request_id = response.headers.get("x-amzn-requestid", "").encode()
    if request_id:
        data = data.replace(request_id, b"ID")
    return response.status, kept, data


def test_thin_dispatch_answers_as_flask() -> None:
    flask, thin = _answers(through_flask=True), _answers(through_flask=False)
    for request, by_flask, by_thin in zip(REQUESTS + REQUESTS, flask, thin, strict=True):
        assert by_thin == by_flask, request
    urls = [json.loads(body)["QueueUrl"] for _, _, body in thin if body.startswith(b'{"QueueUrl"')]
    assert {url.partition("/123")[0] for url in urls} == {
        "http://localhost:5000",
        "http://sqs.example.test:4566",
    }
    # the requests do reach moto's handlers, errors included
    statuses = {status for status, _, _ in thin}
    assert {"200 OK", "400 BAD REQUEST", "404 NOT FOUND", "raised"} <= statuses


def test_an_answer_has_cors_and_moto_headers() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    _reset_moto_in_process()
    client = Client(thin_dispatch(DomainDispatcherApplication(create_backend_app)))
    method, path, headers, body, content_type = _json("dynamodb", DDB + "ListTables", {})
    response = client.open(
        path, method=method, headers=headers, data=body, content_type=content_type
    )
    assert response.status == "200 OK"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Content-Type"] == JSON_1_0
    assert response.headers["x-amzn-requestid"]
    assert json.loads(response.get_data()) == {"TableNames": []}
