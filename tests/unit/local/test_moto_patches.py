"""moto's TransactWriteItems, patched to back up the named items instead of whole tables."""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from workflows.local import moto_patches

TABLE = "Orders"


def _fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Any:
    _fake_credentials(monkeypatch)
    with mock_aws():
        moto_patches.patch_transactions()
        yield _table_of_two_items()


def _table_of_two_items() -> Any:
    """A DynamoDB client of moto's, with TABLE holding items A and B (``n`` = 1)."""
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
        client.put_item(TableName=TABLE, Item={"pk": {"S": pk}, "sk": {"S": "1"}, "n": {"N": "1"}})
    return client


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


# --------------------------------------------------------------------- cache_lookups


def test_hosts_are_served_by_the_same_backends_with_the_cache() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    moto_patches.cache_host_lookups()
    moto_patches.cache_host_lookups()  # idempotent: the cache is not wrapped twice
    dispatcher = DomainDispatcherApplication(create_backend_app)
    find = DomainDispatcherApplication.get_backend_for_host
    assert not getattr(getattr(find, "__wrapped__", None), "_cached", False)
    hosts = {
        "dynamodb": "dynamodb",
        "sqs.us-east-1.amazonaws.com": "sqs",
        "s3.us-east-1.amazonaws.com": "s3",
        "events.us-east-1.amazonaws.com": "events",
        "moto_api": "moto_api",
        "nothing.example": None,
        None: None,
    }
    for _ in range(2):  # the first answer, then the remembered one
        assert {host: dispatcher.get_backend_for_host(host) for host in hosts} == hosts


def test_a_response_class_answers_the_actions_it_has() -> None:
    import inspect

    from moto.core import responses
    from moto.dynamodb.responses import DynamoHandler

    moto_patches.cache_lookups()
    moto_patches.cache_lookups()  # idempotent: the cache is not wrapped twice
    assert not hasattr(responses.method_names_from_class.__wrapped__, "cache_info")
    names = responses.method_names_from_class(DynamoHandler)
    assert names is responses.method_names_from_class(DynamoHandler)
    assert sorted(names) == sorted(
        name for name, _ in inspect.getmembers(DynamoHandler, inspect.isfunction)
    )
    assert "update_item" in names


def _member_contexts() -> list[Any]:
    """Contexts as moto's serializer makes them, for DescribeTable's members."""
    from moto.core.serialize import AttributePickerContext
    from moto.core.utils import get_service_model

    model = get_service_model("dynamodb")
    operation = model.operation_model("DescribeTable")
    table = operation.output_shape.members["Table"]
    contexts = []
    for key, shape in table.members.items():
        shape.parent = table  # as the serializer sets it
        for owner in (_Table(), _Other(), {"TableName": "x"}):
            contexts.append(AttributePickerContext(owner, key, shape, operation, model))
    return contexts


class _Table:
    class Meta:
        serialization_aliases = {"TableArn": "arn"}


class _Other:
    pass


def test_the_serializer_tries_the_same_names_with_the_cache() -> None:
    from moto.core.serialize import XFormedAttributePicker

    moto_patches.cache_lookups()
    picker = XFormedAttributePicker()
    uncached = XFormedAttributePicker.get_possible_keys.__wrapped__  # type: ignore[attr-defined]
    for context in _member_contexts():
        expected = list(uncached(picker, context))
        assert list(picker.get_possible_keys(context)) == expected
        assert list(picker.get_possible_keys(context)) == expected
    table_arn = [c for c in _member_contexts() if c.key == "TableArn"]
    names = {type(c.obj).__name__: list(picker.get_possible_keys(c)) for c in table_arn}
    assert names["_Table"][0] == "arn"  # the class's own alias
    assert "arn" not in names["_Other"]


def test_an_object_with_aliases_of_its_own_is_never_cached() -> None:
    from moto.core.serialize import XFormedAttributePicker

    moto_patches.cache_lookups()
    picker = XFormedAttributePicker()
    context = next(c for c in _member_contexts() if c.key == "TableName")
    first = _Other()
    first.Meta = type("Meta", (), {"serialization_aliases": {"TableName": "one"}})  # type: ignore[attr-defined]
    context.obj = first
    assert next(iter(picker.get_possible_keys(context))) == "one"
    second = _Other()
    second.Meta = type("Meta", (), {"serialization_aliases": {"TableName": "two"}})  # type: ignore[attr-defined]
    context.obj = second
    assert next(iter(picker.get_possible_keys(context))) == "two"


def test_update_and_condition_expressions_of_the_same_text_take_each_call_s_values(
    dynamodb: Any,
) -> None:
    moto_patches.cache_lookups()
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    text = "SET n = n + :add, note = :note"
    assert UpdateExpressionParser.make(text) is UpdateExpressionParser.make(text)
    for add, note in (("1", "first"), ("10", "second")):
        dynamodb.update_item(
            TableName=TABLE,
            Key=_key("A"),
            UpdateExpression=text,
            ConditionExpression="n < :limit",
            ExpressionAttributeValues={
                ":add": {"N": add},
                ":note": {"S": note},
                ":limit": {"N": "5"},
            },
        )
    item = dynamodb.get_item(TableName=TABLE, Key=_key("A"))["Item"]
    assert (item["n"]["N"], item["note"]["S"]) == ("12", "second")
    # the same condition, now false for these values
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        dynamodb.update_item(
            TableName=TABLE,
            Key=_key("A"),
            UpdateExpression=text,
            ConditionExpression="n < :limit",
            ExpressionAttributeValues={
                ":add": {"N": "1"},
                ":note": {"S": "third"},
                ":limit": {"N": "12"},
            },
        )


def test_bad_expressions_are_refused_every_time(dynamodb: Any) -> None:
    from botocore.exceptions import ClientError

    moto_patches.cache_lookups()
    refusals = []
    for _ in range(2):
        with pytest.raises(ClientError, match="ValidationException"):
            dynamodb.update_item(TableName=TABLE, Key=_key("A"), UpdateExpression="SET n = = :x")
        # moto raises this one as it is (in this process), as it did before
        with pytest.raises(ValueError, match="Cannot parse") as raised:
            dynamodb.update_item(
                TableName=TABLE,
                Key=_key("A"),
                UpdateExpression="SET n = :x",
                ConditionExpression="n < :x $",
                ExpressionAttributeValues={":x": {"N": "1"}},
            )
        refusals.append(str(raised.value))
    assert refusals[0] == refusals[1]


def test_update_expressions_of_every_kind_apply_as_before(dynamodb: Any) -> None:
    # each of moto's traversers (values, paths, functions, operations, checks) runs
    moto_patches.cache_lookups()
    dynamodb.update_item(
        TableName=TABLE,
        Key=_key("A"),
        UpdateExpression=(
            "SET #l = list_append(if_not_exists(#l, :empty), :one), m = n + :two, "
            "began = if_not_exists(began, :now) ADD tags :tag, n :two REMOVE gone"
        ),
        ExpressionAttributeNames={"#l": "log"},
        ExpressionAttributeValues={
            ":empty": {"L": []},
            ":one": {"L": [{"S": "x"}]},
            ":two": {"N": "2"},
            ":now": {"S": "t0"},
            ":tag": {"SS": ["a"]},
        },
    )
    item = dynamodb.get_item(TableName=TABLE, Key=_key("A"))["Item"]
    assert item["log"] == {"L": [{"S": "x"}]}
    assert (item["m"], item["n"], item["began"]) == ({"N": "3"}, {"N": "3"}, {"S": "t0"})
    assert item["tags"] == {"SS": ["a"]}
    with pytest.raises(dynamodb.exceptions.ClientError, match="ValidationException"):
        dynamodb.update_item(
            TableName=TABLE,
            Key=_key("A"),
            UpdateExpression="SET m = missing + :two",
            ExpressionAttributeValues={":two": {"N": "2"}},
        )


def test_the_services_brought_up_answer_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.backends import get_backend

    _fake_credentials(monkeypatch)
    with mock_aws():
        ready = moto_patches.bring_up_services(
            ["sns", "s3", "states", "execute-api", "sns"], "123456789012", "us-east-1"
        )
        # "states" is IAM's prefix for Step Functions, botocore's "stepfunctions";
        # "execute-api" is no service of moto's
        assert ready == ["s3", "sns"]
        sns: Any = get_backend("sns")
        s3: Any = get_backend("s3")
        assert "us-east-1" in dict(sns["123456789012"])
        assert "aws" in dict(s3["123456789012"])  # S3's backend is its partition's
        client = boto3.client("sns", region_name="us-east-1")
        sent = client.publish(PhoneNumber="+15555550123", Message="hello")
        assert sent["MessageId"]
        assert moto_patches.bring_up_services(["sns"], "123456789012", "us-east-1") == ["sns"]


ATTRIBUTE_VALUES: list[Any] = [
    {"S": "text"},
    {"S": ""},
    {"N": "12.50"},
    {"B": "aGVsbG8="},
    {"B": b"\x00bytes"},
    {"SS": ["a", "b"]},
    {"NS": ["1", "2.5"]},
    {"BS": [b"one", "dHdv"]},
    {"NULL": True},
    {"BOOL": False},
    {"BOOL": True},
    {"L": []},
    {"M": {}},
    {"L": [{"S": "x"}, {"N": "1"}, {"NULL": True}, {"SS": ["z", "y"]}]},
    {"L": [{"S": "x"}, {"N": "1"}, {"M": {"deep": {"L": [{"BOOL": True}, {"B": b"b"}]}}}]},
    {"M": {"name": {"S": "n"}, "lines": {"L": [{"M": {"q": {"N": "2"}, "id": {"S": "P-1"}}}]}}},
    # not moto's own shapes of a value: left to moto's serializer, answered as before
    {"S": 5},
    {"N": 5},
    {"S": "x", "N": "1"},
    {"SS": ["a", 1]},
    {"BOOL": "true"},
    {"L": [{"S": "fine"}, {"S": 1}]},
    {"M": {"k": {"UNKNOWN": "x"}}},
    {},
]


def _serialized(operation: str, result: dict[str, Any]) -> Any:
    from moto.core.serialize import XFormedAttributePicker, get_serializer_class
    from moto.core.utils import get_service_model

    service = get_service_model("dynamodb")
    serializer = get_serializer_class("dynamodb", service.protocol)(
        operation_model=service.operation_model(operation),
        value_picker=XFormedAttributePicker(),
    )
    return serializer.serialize(result)["body"]


@pytest.mark.parametrize("value", ATTRIBUTE_VALUES, ids=repr)
def test_attribute_values_are_serialized_as_moto_serializes_them(
    value: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.core import serialize

    moto_patches.cache_lookups()
    results = {
        "GetItem": {"Item": {"pk": {"S": "k"}, "value": value}},
        "BatchGetItem": {"Responses": {"T": [{"pk": {"S": "k"}, "v": value}, {"v": value}]}},
        "Query": {"Items": [{"v": value}], "Count": 1, "ScannedCount": 1},
        "UpdateItem": {"Attributes": {"v": value}},
    }
    patched = {operation: _serialized(operation, result) for operation, result in results.items()}
    plain = serialize.BaseJSONSerializer._serialize_type_structure
    assert getattr(plain, "_plain_values", False)
    monkeypatch.setattr(
        serialize.BaseJSONSerializer, "_serialize_type_structure", plain.__wrapped__
    )
    by_moto = {operation: _serialized(operation, result) for operation, result in results.items()}
    assert patched == by_moto


def _item_outcome(attributes: dict[str, Any]) -> Any:
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    try:
        item = Item(DynamoType({"S": "k"}), None, attributes)
    except ItemSizeTooLarge as problem:
        return ("too large", str(problem))
    return (type(item.attrs).__name__, item.to_json(), item.size())


@pytest.mark.parametrize("filler", [404_900, 404_960, 404_990, 405_000, 405_010, 500_000])
def test_new_items_are_sized_as_moto_sizes_them(
    filler: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.models.dynamo_type import Item

    moto_patches.cache_lookups()
    attributes = {
        "pk": {"S": "k"},
        "lines": {"L": [{"M": {"id": {"S": "P-1"}, "n": {"N": "2"}}}, {"SS": ["a", "b"]}]},
        "flag": {"BOOL": True},
        "big": {"S": "x" * (filler - 100)},
        "after": {"N": "12345678901234567890"},
        "last": {"M": {"k": {"S": "v" * 40}}},
    }
    linear = _item_outcome(attributes)
    assert getattr(Item.__init__, "_linear", False)
    monkeypatch.setattr(Item, "__init__", Item.__init__.__wrapped__)
    assert linear == _item_outcome(attributes)


def _tree(node: Any, parent: Any = None) -> Any:
    """A parsed expression's nodes as plain values, to compare two trees (each node's
    ``parent`` checked to be the node it is a child of)."""
    if isinstance(node, list | tuple):
        return [_tree(child, parent) for child in node]
    if hasattr(node, "__dict__"):
        assert getattr(node, "parent", parent) is parent
        fields = {k: _tree(v, node) for k, v in vars(node).items() if k != "parent"}
        return (type(node).__name__, fields)
    return node


def test_a_parsed_update_expression_is_copied_for_each_update_and_never_changed(
    dynamodb: Any,
) -> None:
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    moto_patches.cache_lookups()
    text = "SET #l = list_append(if_not_exists(#l, :empty), :one), n = :n"
    tree = UpdateExpressionParser.make(text)
    before = _tree(tree)
    copied = validators.deepcopy(tree)
    assert copied is not tree
    assert copied.children[0] is not tree.children[0]
    assert _tree(copied) == before
    for number in ("1", "2"):
        dynamodb.update_item(
            TableName=TABLE,
            Key=_key("A"),
            UpdateExpression=text,
            ExpressionAttributeNames={"#l": "log"},
            ExpressionAttributeValues={
                ":empty": {"L": []},
                ":one": {"L": [{"S": number}]},
                ":n": {"N": number},
            },
        )
    item = dynamodb.get_item(TableName=TABLE, Key=_key("A"))["Item"]
    assert item["log"] == {"L": [{"S": "1"}, {"S": "2"}]}
    assert item["n"] == {"N": "2"}
    assert UpdateExpressionParser.make(text) is tree
    assert _tree(tree) == before
    # anything else is deep-copied as before
    value = {"L": [{"S": "x"}]}
    assert validators.deepcopy(value) == value
    assert validators.deepcopy(value) is not value


# --------------------------------------------------------------------- against moto's own answers


def _outcome(call: Any, **request: Any) -> Any:
    """An answer without its metadata, or the error it raised (code, message, reasons)."""
    from botocore.exceptions import ClientError

    try:
        answer = dict(call(**request))
    except ClientError as error:
        return (
            error.response["Error"]["Code"],
            error.response["Error"]["Message"],
            error.response.get("CancellationReasons"),
        )
    except Exception as error:  # moto raises a few errors as they are, in this process
        return (type(error).__name__, str(error))
    answer.pop("ResponseMetadata", None)
    return answer


_CONDITION = (
    "attribute_not_exists(#id) OR #expiry < :now OR "
    "(#status = :inprogress AND attribute_exists(#in_progress_expiry) "
    "AND #in_progress_expiry < :now_in_millis)"
)


def _conditional_writes(client: Any) -> list[Any]:
    """Conditional writes and updates of every kind, each text sent more than once with
    other values (true, then false), and the errors moto finds in them."""
    names = {
        "#id": "pk",
        "#expiry": "expiration",
        "#status": "status",
        "#in_progress_expiry": "in_progress_expiration",
    }
    outcomes = []

    def record(call: Any, **request: Any) -> None:
        outcomes.append(_outcome(call, **request))

    for now in ("100", "200", "50", "300"):
        record(
            client.put_item,
            TableName=TABLE,
            Item={**_key("I"), "expiration": {"N": "150"}, "status": {"S": "INPROGRESS"}},
            ConditionExpression=_CONDITION,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={
                ":now": {"N": now},
                ":inprogress": {"S": "INPROGRESS"},
                ":now_in_millis": {"N": now + "000"},
            },
        )
    for limit in ("5", "1", "50"):
        record(
            client.update_item,
            TableName=TABLE,
            Key=_key("A"),
            UpdateExpression="SET n = n + :one, note = :note",
            ConditionExpression="attribute_exists(pk) AND n < :limit",
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":note": {"S": limit},
                ":limit": {"N": limit},
            },
            ReturnValues="ALL_NEW",
        )
    for low, high in (("0", "9"), ("7", "9")):
        record(
            client.update_item,
            TableName=TABLE,
            Key=_key("A"),
            UpdateExpression="SET tags = :tags",
            ConditionExpression="n BETWEEN :low AND :high AND NOT contains(note, :x)",
            ExpressionAttributeValues={
                ":tags": {"SS": ["a", "b"]},
                ":low": {"N": low},
                ":high": {"N": high},
                ":x": {"S": "zz"},
            },
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    for status in ("OK", "NO"):
        record(
            client.update_item,
            TableName=TABLE,
            Key=_key("B"),
            UpdateExpression="SET #s = :status",
            ConditionExpression="#s IN (:status, :other) OR attribute_not_exists(#s)",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":status": {"S": status}, ":other": {"S": "X"}},
        )
    for size in ("1", "3"):
        record(
            client.update_item,
            TableName=TABLE,
            Key=_key("B"),
            UpdateExpression="SET m.deep = :v",
            ConditionExpression="size(#s) <= :size AND begins_with(#s, :p)",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={
                ":v": {"M": {"k": {"L": [{"S": size}, {"NULL": True}]}}},
                ":size": {"N": size},
                ":p": {"S": "O"},
            },
        )
    record(
        client.update_item,
        TableName=TABLE,
        Key=_key("B"),
        UpdateExpression="SET m = :m",
        ExpressionAttributeValues={":m": {"M": {"deep": {"BOOL": True}}}},
    )
    for value in ("x", "y"):
        record(
            client.update_item,
            TableName=TABLE,
            Key=_key("B"),
            UpdateExpression="SET m.deep = :v",
            ConditionExpression="attribute_type(m, :t) AND m.deep <> :v",
            ExpressionAttributeValues={":v": {"S": value}, ":t": {"S": "M"}},
            ReturnValues="UPDATED_OLD",
        )
    for update in ("ADD cnt :one, tagset :tags REMOVE gone", "DELETE tagset :tags SET c2 = cnt"):
        record(
            client.update_item,
            TableName=TABLE,
            Key=_key("B"),
            UpdateExpression=update,
            ExpressionAttributeValues={":one": {"N": "1"}, ":tags": {"SS": ["a"]}}
            if "ADD" in update
            else {":tags": {"SS": ["a"]}},
            ReturnValues="ALL_NEW",
        )
    # errors: each sent twice (the second parse of a text is the cached one)
    refused: list[dict[str, Any]] = [
        {"UpdateExpression": "SET n = :v", "ConditionExpression": "n < :missing"},
        {"UpdateExpression": "SET n = :v", "ConditionExpression": "((n < :v))"},
        {"UpdateExpression": "SET n = :v", "ConditionExpression": "size < :v"},
        {"UpdateExpression": "SET n = :v", "ConditionExpression": "#unknown < :v"},
        {
            "UpdateExpression": "SET n = :v",
            "ConditionExpression": "n BETWEEN :null AND :v",
            "Values": {":v": {"N": "1"}, ":null": {"NULL": True}},
        },
        {"UpdateExpression": "SET n = :v", "ConditionExpression": "n < :v", "Names": {"#u": "u"}},
        {"UpdateExpression": "SET n = :v, n = :v"},
        {"UpdateExpression": "SET m.deep = :v, m = :v"},
        {"UpdateExpression": "SET pk = :v"},
        {"UpdateExpression": "SET n = absent + :v"},
        {"UpdateExpression": "SET n = if_not_exists(absent, :v) + :v"},
        {"UpdateExpression": "SET n = :v ADD c :v ADD d :v"},
        {"UpdateExpression": "SET n = list_append(n, :v)"},
        {"UpdateExpression": "SET n = :v REMOVE n"},
        {"UpdateExpression": "SET n = :v", "ConditionExpression": "n < :v", "Values": {}},
    ]
    for request in refused:
        for _ in range(2):
            values = request.get("Values", {":v": {"N": "1"}})
            extra: dict[str, Any] = {}
            if "ConditionExpression" in request:
                extra["ConditionExpression"] = request["ConditionExpression"]
            if "Names" in request:
                extra["ExpressionAttributeNames"] = request["Names"]
            if values:
                extra["ExpressionAttributeValues"] = values
            record(
                client.update_item,
                TableName=TABLE,
                Key=_key("A"),
                UpdateExpression=request["UpdateExpression"],
                **extra,
            )
    for first_n in ("2", "99"):
        record(
            client.transact_write_items,
            TransactItems=[
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": _key("A"),
                        "ConditionExpression": "n >= :n",
                        "ExpressionAttributeValues": {":n": {"N": first_n}},
                    }
                },
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": _key("B"),
                        "UpdateExpression": "SET n = n - :one",
                        "ConditionExpression": "attribute_exists(pk) AND n >= :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {**_key("T" + first_n), "n": {"N": "0"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ],
        )
    for at_least in ("0", "2"):
        record(
            client.scan,
            TableName=TABLE,
            FilterExpression="n >= :least",
            ExpressionAttributeValues={":least": {"N": at_least}},
        )
        record(
            client.delete_item,
            TableName=TABLE,
            Key=_key("T2"),
            ConditionExpression="n = :n",
            ExpressionAttributeValues={":n": {"N": at_least}},
            ReturnValues="ALL_OLD",
        )
    record(client.scan, TableName=TABLE)
    return outcomes


def test_conditions_and_updates_answer_as_moto_answers_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.core.parse import JSONParser
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node
    from moto.dynamodb.parsing.validators import ExpressionAttributeResolvingProcessor

    _fake_credentials(monkeypatch)
    moto_patches.cache_lookups()
    parse = ConditionExpressionParser.parse
    traverse = DepthFirstTraverser.traverse_node_recursively
    find_clauses = Node.find_clauses
    parse_structure = JSONParser._parse_structure
    resolver = ExpressionAttributeResolvingProcessor
    before_child = resolver.pre_processing_of_child
    assert getattr(parse, "_templates", False)
    assert getattr(traverse, "_by_class", False)
    assert getattr(parse_structure, "_plain_values", False)

    def run() -> list[Any]:
        with mock_aws():
            return _conditional_writes(_table_of_two_items())

    patched = run()
    again = run()  # every text parsed before: the templates only
    monkeypatch.setattr(ConditionExpressionParser, "parse", parse.__wrapped__)
    monkeypatch.setattr(DepthFirstTraverser, "traverse_node_recursively", traverse.__wrapped__)
    monkeypatch.setattr(Node, "find_clauses", find_clauses.__wrapped__)
    monkeypatch.setattr(resolver, "pre_processing_of_child", before_child.__wrapped__)
    monkeypatch.setattr(JSONParser, "_parse_structure", parse_structure.__wrapped__)
    moto_s = run()
    assert patched == moto_s
    assert again == moto_s
    # what the scenario covers: writes that passed and failed, and moto's errors
    codes = {o[0] for o in moto_s if isinstance(o, tuple)}
    assert {"ConditionalCheckFailedException", "ValidationException"} <= codes
    assert "TransactionCanceledException" in codes
    assert sum(1 for o in moto_s if isinstance(o, dict)) >= 12


def _op_tree(node: Any) -> Any:
    """A parsed condition as plain values (each object's class and fields)."""
    if isinstance(node, list | tuple):
        return [_op_tree(child) for child in node]
    if hasattr(node, "__dict__"):
        return (type(node).__name__, {k: _op_tree(v) for k, v in vars(node).items()})
    return node


def _leaf_values(tree: Any) -> list[Any]:
    if isinstance(tree, list):
        return [value for child in tree for value in _leaf_values(child)]
    if isinstance(tree, tuple):
        kind, fields = tree
        if kind == "AttributeValue":
            return [fields["value"]]
        return [v for k, child in fields.items() if k != "arguments" for v in _leaf_values(child)]
    return []


def test_a_cached_condition_is_moto_s_parse_of_the_request_s_values() -> None:
    from moto.dynamodb.comparisons import ConditionExpressionParser

    moto_patches.cache_lookups()
    names = {"#id": "pk", "#expiry": "e", "#status": "s", "#in_progress_expiry": "i"}
    parse = ConditionExpressionParser.parse
    for now in ("1", "2", "3"):
        values = {":now": {"N": now}, ":inprogress": {"S": now}, ":now_in_millis": {"N": now}}
        cached = ConditionExpressionParser(_CONDITION, names, values)
        moto_s = ConditionExpressionParser(_CONDITION, names, values)
        tree = cached.parse()
        assert _op_tree(tree) == _op_tree(parse.__wrapped__(moto_s))
        assert cached.expr_attr_names_found == moto_s.expr_attr_names_found
        assert cached.expr_attr_values_found == moto_s.expr_attr_values_found
        # each parse its own objects: the values are this request's
        assert _leaf_values(_op_tree(tree)) == [now, now, now]
    # a value of another type is another template (BETWEEN refuses a NULL bound)
    for bound in ({"N": "1"}, {"NULL": True}, {"N": "2"}):
        values = {":a": bound, ":b": {"N": "5"}}
        outcomes = []
        for parser in (parse, parse.__wrapped__):
            try:
                made = parser(ConditionExpressionParser("n BETWEEN :a AND :b", None, values))
                outcomes.append(_op_tree(made))
            except Exception as error:
                outcomes.append((type(error).__name__, str(error)))
        assert outcomes[0] == outcomes[1]


def test_attribute_values_are_parsed_as_moto_parses_them() -> None:
    from moto.core.parse import JSONParser
    from moto.core.utils import get_service_model

    moto_patches.cache_lookups()
    operation = get_service_model("dynamodb").operation_model("PutItem")
    values: list[Any] = [
        {"S": "x \u00e9 \U0001f600"},
        {"N": "1.5"},
        {"BOOL": False},
        {"NULL": True},
        {"SS": ["a", "b"]},
        {"NS": ["1", "2"]},
        {"M": {"k": {"L": [{"S": "v"}, {"M": {}}, {"N": "3"}]}, "e": {"L": []}}},
        {"B": "aGk="},
        {"BS": ["aGk=", "aG8="]},
        {"M": {"blob": {"B": "aGk="}}},
        {"L": [{"S": "x"}, {"B": "aGk="}]},
        {"S": 5},
        {"S": None},
        {"N": "1", "S": "x"},
        {},
        {"SS": ["a", 1]},
        {"Q": "x"},
    ]
    parser = JSONParser(operation)
    for value in values:
        body = json.dumps({"TableName": "t", "Item": {"pk": {"S": "k"}, "v": value}}).encode()
        request = {
            "body": body,
            "headers": {},
            "query_string": {},
            "url_path": "/",
            "method": "POST",
        }
        fast = parser.parse(request)  # type: ignore[arg-type]
        with pytest.MonkeyPatch.context() as patched:
            patched.setattr(JSONParser, "_parse_structure", JSONParser._parse_structure.__wrapped__)
            moto_s = JSONParser(operation).parse(request)  # type: ignore[arg-type]
        assert fast == moto_s, value
        assert list(fast["Item"]["v"]) == list(moto_s["Item"]["v"]), value  # member order
    # a parsed value is a copy: moto's items never share the request's lists or maps
    body = json.dumps({"TableName": "t", "Item": {"pk": {"SS": ["a"]}}}).encode()
    parsed = parser.parse(
        {"body": body, "headers": {}, "query_string": {}, "url_path": "/", "method": "POST"}
    )  # type: ignore[arg-type]
    assert parsed["Item"]["pk"] == {"SS": ["a"]}


def test_scalars_are_cast_as_moto_casts_them() -> None:
    from decimal import Decimal

    from moto.dynamodb.models.dynamo_type import DynamoType

    moto_patches.cache_lookups()
    moto_s = DynamoType.__dict__["cast_value"].fget.__wrapped__
    values: list[Any] = [
        {"S": "x"},
        {"S": ""},
        {"N": "1.50"},
        {"N": "-0"},
        {"B": "aGk="},
        {"B": b"hi"},
        {"BOOL": False},
        {"NULL": True},
        {"SS": ["a"]},
        {"NS": ["1", "2"]},
        {"L": [{"N": "1"}, {"S": "a"}]},
        {"M": {"k": {"N": "2"}}},
    ]
    for value in values:
        typed = DynamoType(value)
        assert typed.cast_value == moto_s(typed)
        assert type(typed.cast_value) is type(moto_s(typed))
    assert DynamoType({"N": "1.50"}).cast_value == Decimal("1.5")
    # keys are found by their cast values: a number's key by any spelling of it
    assert hash(DynamoType({"N": "1.0"})) == hash(DynamoType({"N": "1"}))
    assert DynamoType({"S": "1"}) != DynamoType({"N": "1"})


def test_an_update_copies_the_old_item_only_for_a_stream(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import Item

    copied: list[Any] = []
    deepcopy = models.copy.deepcopy

    def spy(value: Any, memo: Any = None) -> Any:
        made = deepcopy(value, memo)
        if type(value) is Item:
            copied.append(made is not value)
        return made

    monkeypatch.setattr(models.copy, "deepcopy", spy)
    update = {
        "UpdateExpression": "SET n = n + :one",
        "ExpressionAttributeValues": {":one": {"N": "1"}},
    }
    dynamodb.update_item(TableName=TABLE, Key=_key("A"), **update)
    assert copied == [False]  # no stream: the item as it was is not needed
    dynamodb.create_table(
        TableName="Streamed",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    dynamodb.put_item(TableName="Streamed", Item={"pk": {"S": "A"}, "n": {"N": "1"}})
    dynamodb.update_item(TableName="Streamed", Key={"pk": {"S": "A"}}, **update)
    assert copied == [False, True]
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends["123456789012"]["us-east-1"].get_table("Streamed")
    modify = [
        r.record["dynamodb"] for r in table.stream_shard.items if r.record["eventName"] == "MODIFY"
    ]
    assert modify[0]["OldImage"]["n"] == {"N": "1"}
    assert modify[0]["NewImage"]["n"] == {"N": "2"}
    # the item changed in the table is the one moto keeps
    assert dynamodb.get_item(TableName=TABLE, Key=_key("A"))["Item"]["n"] == {"N": "2"}


def test_moto_in_process_does_not_import_moto_s_server() -> None:
    """``workflows run`` calls moto in-process: its patches leave the server's module
    (Flask, Jinja) and, while authorization is off, moto's IAM request classes
    unimported; ``thin_dispatch`` caches the server's host look-ups."""
    import subprocess
    import sys

    probe = (
        "import os, sys, boto3, moto\n"
        "from workflows.local import moto_patches\n"
        "moto_patches.patch_transactions()\n"
        "os.environ.update(AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing')\n"
        "with moto.mock_aws():\n"
        "    boto3.client('dynamodb', region_name='us-east-1').list_tables()\n"
        "    boto3.client('s3', region_name='us-east-1').list_buckets()\n"
        "assert 'moto.iam.access_control' not in sys.modules\n"
        "assert 'moto.moto_server.werkzeug_app' not in sys.modules\n"
        "assert 'flask' not in sys.modules\n"
        "from moto.moto_server.werkzeug_app import DomainDispatcherApplication as D\n"
        "from moto.moto_server.werkzeug_app import create_backend_app\n"
        "moto_patches.thin_dispatch(D(create_backend_app))\n"
        "assert D.get_backend_for_host._cached\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)


@pytest.mark.parametrize("service", ["dynamodb", "s3"])
def test_moto_still_refuses_unknown_keys_when_authorization_is_on(
    monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    """moto's IAM request classes are imported when a request is checked, not before:
    with authorization off requests pass uncounted as before, with it on the same
    requests are refused as moto refuses them (the access key is no IAM user's)."""
    from botocore.exceptions import ClientError
    from moto.core import set_initial_no_auth_action_count

    _fake_credentials(monkeypatch)
    moto_patches.cache_lookups()
    moto_patches.cache_lookups()  # idempotent

    def call() -> Any:
        client = boto3.client(service, region_name="us-east-1")
        if service == "s3":
            return client.list_buckets()
        return client.list_tables()

    with mock_aws():
        assert call()["ResponseMetadata"]["HTTPStatusCode"] == 200
        with pytest.raises(ClientError) as refused:
            set_initial_no_auth_action_count(0)(call)()
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


# ---------------------------------------------------------------------- bucket_maker


def _bucket_answers(s3: Any, name: str) -> dict[str, Any]:
    """What the S3 API answers about a bucket, request ids and dates left out."""

    def answer(call: Any, **kwargs: Any) -> Any:
        try:
            found = call(Bucket=name, **kwargs)
        except s3.exceptions.ClientError as error:
            return error.response["Error"]["Code"]
        found.pop("ResponseMetadata", None)
        return found

    listed = [
        {k: v for k, v in bucket.items() if k != "CreationDate"}
        for bucket in s3.list_buckets()["Buckets"]
    ]
    return {
        "listed": listed,
        "head": answer(s3.head_bucket),
        "location": answer(s3.get_bucket_location),
        "acl": answer(s3.get_bucket_acl),
        "ownership": answer(s3.get_bucket_ownership_controls),
        "encryption": answer(s3.get_bucket_encryption),
        "versioning": answer(s3.get_bucket_versioning),
        "public access": answer(s3.get_public_access_block),
        "policy status": answer(s3.get_bucket_policy_status),
        "tags": answer(s3.get_bucket_tagging),
        "objects": [
            {k: v for k, v in item.items() if k != "LastModified"}
            for item in s3.list_objects_v2(Bucket=name)["Contents"]
        ],
    }


def test_a_bucket_made_in_moto_is_the_bucket_create_bucket_makes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fake_credentials(monkeypatch)
    answers = []
    for through_api in (True, False):
        with mock_aws():
            s3 = boto3.client("s3", region_name="us-east-1")
            if through_api:
                s3.create_bucket(Bucket="orderexportsbucket")
            else:
                make = moto_patches.bucket_maker("123456789012", "us-east-1")
                assert make is not None
                assert make("orderexportsbucket")
                assert make("orderexportsbucket")  # the account's already: nothing to do
            s3.put_object(Bucket="orderexportsbucket", Key="k", Body=b"x")
            answers.append(_bucket_answers(s3, "orderexportsbucket"))
    assert answers[0] == answers[1]
    assert answers[0]["listed"] == [{"Name": "orderexportsbucket"}]
    assert answers[0]["location"] == {"LocationConstraint": None}


@pytest.mark.parametrize("name", ["Upper", "ab", "a..b", "-leading", "x" * 64, "under_score"])
def test_a_name_not_plainly_valid_is_left_to_the_api(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    _fake_credentials(monkeypatch)
    with mock_aws():
        make = moto_patches.bucket_maker("123456789012", "us-east-1")
        assert make is not None
        assert not make(name)
        assert boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"] == []


def test_buckets_elsewhere_are_left_to_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_credentials(monkeypatch)
    assert moto_patches.bucket_maker("123456789012", "eu-west-1") is None
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="taken")
        make = moto_patches.bucket_maker("210987654321", "us-east-1")
        assert make is not None
        assert not make("taken")  # another account's: CreateBucket's error is the API's
