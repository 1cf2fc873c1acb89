"""moto's TransactWriteItems, patched to back up the named items instead of whole tables."""

from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest
from moto import mock_aws

from workflows.local import moto_patches

TABLE = "Orders"


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        moto_patches.patch_transactions()
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for pk in ("A", "B"):
            client.put_item(
                TableName=TABLE, Item={"pk": {"S": pk}, "sk": {"S": "1"}, "n": {"N": "1"}}
            )
        yield client


def _key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "1"}}


def _writes(condition_on_b: str) -> list[dict[str, Any]]:
    return [
        {
            "Update": {
                "TableName": TABLE,
                "Key": _key("A"),
                "UpdateExpression": "SET n = n + :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        },
        {"Put": {"TableName": TABLE, "Item": {**_key("C"), "n": {"N": "7"}}}},
        {"Delete": {"TableName": TABLE, "Key": _key("B"), "ConditionExpression": condition_on_b}},
    ]


def _items(client: Any) -> dict[str, str]:
    items = client.scan(TableName=TABLE)["Items"]
    return {item["pk"]["S"]: item["n"]["N"] for item in items}


def test_a_cancelled_transaction_leaves_every_item_as_it_was(dynamodb: Any) -> None:
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException) as raised:
        dynamodb.transact_write_items(TransactItems=_writes("attribute_not_exists(pk)"))
    reasons = [r["Code"] for r in raised.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "ConditionalCheckFailed"]
    assert _items(dynamodb) == {"A": "1", "B": "1"}


def test_a_transaction_that_passes_writes_every_item(dynamodb: Any) -> None:
    dynamodb.transact_write_items(TransactItems=_writes("attribute_exists(pk)"))
    assert _items(dynamodb) == {"A": "2", "C": "7"}


def test_no_table_is_copied(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models.table import Table

    copied: list[type] = []
    real = copy.deepcopy

    def spy(value: Any, memo: Any = None) -> Any:
        copied.append(type(value))
        return real(value, memo)

    monkeypatch.setattr(copy, "deepcopy", spy)
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(TransactItems=_writes("attribute_not_exists(pk)"))
    assert copied  # the named items
    assert Table not in copied
    assert _items(dynamodb) == {"A": "1", "B": "1"}


def test_moto_no_longer_keeps_every_item_it_ever_made(dynamodb: Any) -> None:
    # issue #13: moto's BaseModel appended each new Item (a put, both copies of an
    # update, each transaction backup) to Item.instances_tracked, forever
    import gc

    from moto.dynamodb.models.dynamo_type import Item
    from moto.s3.models import FakeKey

    for number in range(20):
        dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": f"p{number}"}, "sk": {"S": "1"}})
        dynamodb.update_item(
            TableName=TABLE,
            Key=_key(f"p{number}"),
            UpdateExpression="SET n = :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
        dynamodb.delete_item(TableName=TABLE, Key=_key(f"p{number}"))
    gc.collect()
    items = [o for o in gc.get_objects() if isinstance(o, Item)]
    assert len(items) <= 2 + len(Item.instances_tracked)  # A and B, and what the seed kept
    assert not [i for i in Item.instances_tracked if i.hash_key.value.startswith("p")]
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="kept")
    s3.put_object(Bucket="kept", Key="k", Body=b"x")
    assert any(key.name == "k" for key in FakeKey.instances_tracked)  # S3's reset needs them
