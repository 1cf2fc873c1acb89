"""``SdkHttpMetadata`` rebuilt as AWS records it (orders and lengths from recorded executions)."""

from __future__ import annotations

import re
import uuid
import zlib

from workflows.integrations.wire import (
    aws_request_id,
    java_hashmap_order,
    json_body,
    sdk_http_metadata,
    service_metadata,
    sns_xml_body,
)

# The AllHttpHeaders orders of executions recorded against AWS (LocalStack's snapshots)
RECORDED_ORDERS = {
    "sqs": ["x-amzn-RequestId", "connection", "Content-Length", "Date", "Content-Type"],
    "stepfunctions": ["x-amzn-RequestId", "connection", "Content-Length", "Date", "Content-Type"],
    "dynamodb": [
        "Server",
        "Connection",
        "x-amzn-RequestId",
        "x-amz-crc32",
        "Content-Length",
        "Date",
        "Content-Type",
    ],
    "sns": ["x-amzn-RequestId", "Content-Length", "Date", "Content-Type"],
}


def test_all_http_headers_iterate_as_the_sdks_hash_map_did_on_aws() -> None:
    for service, recorded in RECORDED_ORDERS.items():
        metadata = service_metadata(service, "{}", now=0, request_id="r")
        assert list(metadata["SdkHttpMetadata"]["AllHttpHeaders"]) == recorded, service


def test_http_headers_are_sorted_case_insensitively_with_aws_values() -> None:
    req = "0b9c8f8e-6f1e-4a53-9d5e-2f1f6e0c1a77"
    metadata = service_metadata("sqs", "{}", now=1713421621, request_id=req)
    assert metadata == {
        "SdkHttpMetadata": {
            "AllHttpHeaders": {
                "x-amzn-RequestId": [req],
                "connection": ["keep-alive"],
                "Content-Length": ["2"],
                "Date": ["Thu, 18 Apr 2024 06:27:01 GMT"],
                "Content-Type": ["application/x-amz-json-1.0"],
            },
            "HttpHeaders": {
                "connection": "keep-alive",
                "Content-Length": "2",
                "Content-Type": "application/x-amz-json-1.0",
                "Date": "Thu, 18 Apr 2024 06:27:01 GMT",
                "x-amzn-RequestId": req,
            },
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": req},
    }


def test_request_ids_have_the_form_each_service_gives_them() -> None:
    assert re.fullmatch(r"[0-9A-Z]{52}", aws_request_id("dynamodb", "moto-Style-id"))
    assert re.fullmatch(r"[0-9a-f-]{36}", aws_request_id("sns", "x" * 52))
    kept = "0b9c8f8e-6f1e-4a53-9d5e-2f1f6e0c1a77"
    assert aws_request_id("sqs", kept) == kept


def test_content_lengths_are_those_of_the_bodies_aws_sends() -> None:
    # recorded: sqs sendMessage 106, dynamodb getItem of this item 53, sns publish 294
    message_id = str(uuid.uuid4())
    sqs = json_body({"MD5OfMessageBody": "0" * 32, "MessageId": message_id})
    item = {"Item": {"data": {"S": "HelloWorld"}, "id": {"S": "id1"}}}
    sns = sns_xml_body("Publish", {"MessageId": message_id}, str(uuid.uuid4()))
    for service, body, length in (("sqs", sqs, 106), ("dynamodb", json_body(item), 53)):
        headers = service_metadata(service, body, now=0)["SdkHttpMetadata"]["HttpHeaders"]
        assert headers["Content-Length"] == str(length)
    headers = service_metadata("sns", sns, now=0)["SdkHttpMetadata"]["HttpHeaders"]
    assert headers["Content-Length"] == "294"
    assert headers["Content-Type"] == "text/xml"
    assert "connection" not in {name.lower() for name in headers}


def test_dynamodb_answers_carry_server_and_the_crc32_of_the_body() -> None:
    headers = service_metadata("dynamodb", "{}", now=0)["SdkHttpMetadata"]["HttpHeaders"]
    assert headers["Server"] == "Server"
    assert headers["Connection"] == "keep-alive"
    assert headers["x-amz-crc32"] == str(zlib.crc32(b"{}"))


def test_the_hash_map_order_grows_its_table_like_java() -> None:
    names = [f"h{index}" for index in range(20)]  # more than 12: the table doubles to 32
    assert sorted(java_hashmap_order(names)) == sorted(names)
    assert java_hashmap_order(["b", "a"]) == ["a", "b"]  # buckets 'a'=97%16=1, 'b'=2


def test_any_header_list_can_be_shaped() -> None:
    metadata = sdk_http_metadata([("Content-Type", "application/json")], request_id="x")
    assert metadata["SdkHttpMetadata"]["AllHttpHeaders"] == {"Content-Type": ["application/json"]}
    assert metadata["SdkResponseMetadata"] == {"RequestId": "x"}
