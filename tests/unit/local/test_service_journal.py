"""The local services' journal: what a service acknowledged is there after a crash.

moto is served in this process as ``workflows up`` serves it (the journal's
middleware around moto's WSGI app, over HTTP on a free port); a crash is a new
``ServiceJournal`` recovering the same directory without the old one having compacted.
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from workflows.local import service_data
from workflows.local.aws_services import moto_server as _moto_server
from workflows.local.runtime import forget_state
from workflows.local.service_journal import (
    JournalError,
    ServiceJournal,
    encode,
    fold,
    read_journal,
)

TABLE = "Orders"
QUEUE = "Events"
BUCKET = "exports"


class Served:
    """moto served in this process as the services' process serves it, journal on, on a
    port of its own (also used by test_moto_server)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.journal = ServiceJournal(state_dir)
        self._serve()

    def _serve(self) -> None:
        self.server = _moto_server("127.0.0.1", 0, self.journal)
        self.port: int = self.server.port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def provision(self) -> None:
        """The template's part: resources exist before the journal is on."""
        self.client("dynamodb").create_table(
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
        self.client("sqs").create_queue(QueueName=QUEUE)
        self.client("s3").create_bucket(Bucket=BUCKET)

    @property
    def queue_url(self) -> str:
        return str(self.client("sqs").get_queue_url(QueueName=QUEUE)["QueueUrl"])

    def crash_and_restart(self) -> None:
        """moto's memory is gone; the state directory is what is left."""
        self.journal = ServiceJournal(self.state_dir)
        self.server.shutdown()
        _reset_moto_in_process()
        self.server.server_close()
        self._serve()
        self.provision()
        service_data.restore(self.journal.recover(), self.journal.objects_dir)
        self.journal.compact()

    def stop(self) -> None:
        self.journal.close()
        self.server.shutdown()
        _reset_moto_in_process()
        self.server.server_close()


def _reset_moto_in_process() -> None:
    from moto.moto_api import _internal

    _internal.moto_api_backend.reset()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    _reset_moto_in_process()
    served = Served(tmp_path / "state")
    served.state_dir.mkdir()
    served.provision()
    served.journal.compact()  # as `workflows up` does once the template's resources exist
    try:
        yield served
    finally:
        served.stop()


def _item(pk: str, **more: Any) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "A"}, **more}


def _key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "A"}}


def _write_everything(served: Served) -> dict[str, Any]:
    dynamodb = served.client("dynamodb")
    dynamodb.put_item(TableName=TABLE, Item=_item("put", n={"N": "1"}))
    dynamodb.put_item(TableName=TABLE, Item=_item("updated", n={"N": "1"}))
    dynamodb.update_item(
        TableName=TABLE,
        Key=_key("updated"),
        UpdateExpression="SET n = n + :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    dynamodb.put_item(TableName=TABLE, Item=_item("deleted"))
    dynamodb.delete_item(TableName=TABLE, Key=_key("deleted"))
    dynamodb.batch_write_item(
        RequestItems={
            TABLE: [
                {"PutRequest": {"Item": _item("batch-1", b={"B": b"\x00\xff"})}},
                {"PutRequest": {"Item": _item("batch-2")}},
            ]
        }
    )
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": _item("transaction")}},
            {"Delete": {"TableName": TABLE, "Key": _key("batch-2")}},
        ]
    )
    sqs = served.client("sqs")
    url = served.queue_url
    sqs.send_message(
        QueueUrl=url,
        MessageBody="kept",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}},
    )
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": "1", "MessageBody": "batch kept"}, {"Id": "2", "MessageBody": "done"}],
    )
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    done = next(m for m in received if m["Body"] == "done")
    sqs.delete_message(QueueUrl=url, ReceiptHandle=done["ReceiptHandle"])
    s3 = served.client("s3")
    s3.put_object(Bucket=BUCKET, Key="results/one.json", Body=b'{"a": 1}', Metadata={"k": "v"})
    s3.put_object(Bucket=BUCKET, Key="gone.csv", Body=b"x")
    s3.delete_object(Bucket=BUCKET, Key="gone.csv")
    s3.copy_object(
        Bucket=BUCKET, Key="copy.json", CopySource={"Bucket": BUCKET, "Key": "results/one.json"}
    )
    s3.put_object(Bucket=BUCKET, Key="many/1", Body=b"1")
    s3.put_object(Bucket=BUCKET, Key="many/2", Body=b"2")
    s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "many/1"}, {"Key": "many/2"}]})
    return _read_everything(served)


def _read_everything(served: Served) -> dict[str, Any]:
    items = served.client("dynamodb").scan(TableName=TABLE)["Items"]
    from moto.sqs.models import sqs_backends

    queue = sqs_backends["123456789012"]["us-east-1"].queues[QUEUE]
    s3 = served.client("s3")
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    objects = {}
    for entry in listed:
        got = s3.get_object(Bucket=BUCKET, Key=entry["Key"])
        objects[entry["Key"]] = (got["Body"].read(), got["Metadata"], got["ContentType"])
    return {
        "items": sorted(items, key=lambda item: item["pk"]["S"]),
        "messages": sorted((m.id, m.body, str(m.message_attributes)) for m in queue._messages),
        "objects": objects,
    }


def test_every_acknowledged_write_is_there_after_a_crash(served: Served) -> None:
    before = _write_everything(served)
    assert [item["pk"]["S"] for item in before["items"]] == [
        "batch-1",
        "put",
        "transaction",
        "updated",
    ]
    assert sorted(before["objects"]) == ["copy.json", "results/one.json"]

    served.crash_and_restart()

    assert _read_everything(served) == before
    assert before["items"][3]["n"] == {"N": "2"}


def test_reads_pay_nothing(served: Served) -> None:
    served.client("dynamodb").put_item(TableName=TABLE, Item=_item("read"))
    served.client("s3").put_object(Bucket=BUCKET, Key="k", Body=b"v")
    appended, syncs = served.journal.appended, served.journal.syncs
    dynamodb = served.client("dynamodb")
    dynamodb.get_item(TableName=TABLE, Key=_key("read"))
    dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "read"}},
    )
    dynamodb.scan(TableName=TABLE)
    served.client("sqs").receive_message(QueueUrl=served.queue_url)
    served.client("s3").get_object(Bucket=BUCKET, Key="k")
    served.client("s3").list_objects_v2(Bucket=BUCKET)
    # a write that changes nothing (its condition fails) is not journaled either
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        dynamodb.put_item(
            TableName=TABLE, Item=_item("read"), ConditionExpression="attribute_not_exists(pk)"
        )
    assert (served.journal.appended, served.journal.syncs) == (appended, syncs)


def test_concurrent_writers_share_syncs(served: Served) -> None:
    dynamodb = served.client("dynamodb")

    def write(worker: int) -> None:
        for n in range(20):
            dynamodb.put_item(TableName=TABLE, Item=_item(f"w{worker}-{n}"))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    syncs = served.journal.syncs
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert served.journal.appended >= 160
    assert served.journal.syncs - syncs <= 160  # fewer when threads overlap (group commit)
    served.crash_and_restart()
    assert len(served.client("dynamodb").scan(TableName=TABLE)["Items"]) == 160


def test_compaction_folds_the_journal_into_the_snapshot(served: Served) -> None:
    before = _write_everything(served)
    served.journal.compact()
    files = sorted(p.name for p in served.state_dir.iterdir())
    assert files == ["services.journal.2", "services.json", "services.objects"]
    # the object files still referred to, and no other
    assert len(list(served.journal.objects_dir.iterdir())) == 1  # one.json and its copy
    generation, records = read_journal(served.state_dir / "services.journal.2")
    assert (generation, records) == (2, [])
    served.crash_and_restart()
    assert _read_everything(served) == before


def test_a_crash_before_the_new_snapshot_loses_nothing(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    served.client("dynamodb").put_item(TableName=TABLE, Item=_item("first"))

    def crash(data: Any, path: Path) -> None:
        raise OSError("killed while writing the snapshot")

    with monkeypatch.context() as patched:
        patched.setattr(service_data, "save", crash)
        with pytest.raises(OSError, match="killed"):
            served.journal.compact()
    # the next generation's journal is already the one appended to
    served.client("dynamodb").put_item(TableName=TABLE, Item=_item("second"))
    assert sorted(p.name for p in served.state_dir.glob("services.journal.*")) == [
        "services.journal.1",
        "services.journal.2",
    ]
    served.crash_and_restart()
    items = served.client("dynamodb").scan(TableName=TABLE)["Items"]
    assert sorted(item["pk"]["S"] for item in items) == ["first", "second"]


def test_a_crash_before_the_old_journal_is_removed_skips_it(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = served.queue_url
    sqs = served.client("sqs")
    sqs.send_message(QueueUrl=url, MessageBody="handled after the snapshot")
    old = served.state_dir / "services.journal.1"
    kept = old.read_bytes()
    served.journal.compact()  # snapshot 2 holds the message; journal 2 is removed...
    old.write_bytes(kept)  # ...unless the crash came first
    message = sqs.receive_message(QueueUrl=url)["Messages"][0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    served.crash_and_restart()
    assert served.journal.replayed == 1  # the delete; the send is in snapshot 2 already
    assert served.client("sqs").receive_message(QueueUrl=served.queue_url).get("Messages") is None
    assert not old.exists()


def test_a_torn_last_record_is_ignored_with_a_warning(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    served.client("dynamodb").put_item(TableName=TABLE, Item=_item("acknowledged"))
    journal_file = served.state_dir / "services.journal.1"
    torn = encode({"ddb": TABLE, "key": _key("torn"), "item": _item("torn")})
    with journal_file.open("ab") as file:
        file.write(torn[: len(torn) // 2])
    with caplog.at_level(logging.WARNING, logger="workflows.local"):
        served.crash_and_restart()
    assert "cut short by a crash; ignored" in caplog.text
    assert str(journal_file) in caplog.text
    items = served.client("dynamodb").scan(TableName=TABLE)["Items"]
    assert [item["pk"]["S"] for item in items] == ["acknowledged"]


def test_damage_before_the_last_record_stops_the_start(tmp_path: Path) -> None:
    journal_file = tmp_path / "services.journal.1"
    good = encode({"ddb": TABLE, "key": _key("a"), "item": _item("a")})
    damaged = good.replace(b'"a"', b'"b"', 1)
    journal_file.write_bytes(encode({"journal": 1, "generation": 1}) + damaged + good)
    with pytest.raises(JournalError, match=r"services.journal.1 is damaged at record 2.*--fresh"):
        ServiceJournal(tmp_path).recover()
    # the same damage on the last record is a write cut short: ignored
    journal_file.write_bytes(encode({"journal": 1, "generation": 1}) + good + damaged)
    assert read_journal(journal_file) == (1, [{"ddb": TABLE, "key": _key("a"), "item": _item("a")}])


def test_a_corrupt_snapshot_names_the_file_and_fresh(tmp_path: Path) -> None:
    (tmp_path / "services.json").write_text('{"version": 2, "dynamo')
    with pytest.raises(service_data.ServiceDataError, match=r"services.json.*--fresh"):
        ServiceJournal(tmp_path).recover()


def test_fold_applies_images_in_order() -> None:
    data = service_data.empty()
    data["dynamodb"] = {TABLE: [_item("a", n={"N": "1"}), _item("b")]}
    data["sqs"] = {QUEUE: [{"id": "m1", "body": "one"}]}
    data["s3"] = {BUCKET: {"old": {"body": "e1", "metadata": {}}}}
    fold(
        data,
        [
            {"ddb": TABLE, "key": _key("a"), "item": _item("a", n={"N": "2"})},
            {"ddb": TABLE, "key": _key("b"), "item": None},
            {"ddb": TABLE, "key": _key("c"), "item": _item("c")},
            {"sqs": QUEUE, "send": {"id": "m2", "body": "two"}},
            {"sqs": QUEUE, "send": {"id": "m2", "body": "two"}},
            {"sqs": QUEUE, "delete": "m1"},
            {"s3": BUCKET, "key": "old", "object": None},
            {"s3": BUCKET, "key": "new", "object": {"body": "e2", "metadata": {}}},
        ],
    )
    assert data["dynamodb"][TABLE] == [_item("a", n={"N": "2"}), _item("c")]
    assert data["sqs"][QUEUE] == [{"id": "m2", "body": "two"}]
    assert data["s3"] == {BUCKET: {"new": {"body": "e2", "metadata": {}}}}
    fold(data, [{"sqs": QUEUE, "purge": True}])
    assert data["sqs"][QUEUE] == []


def test_forget_state_removes_snapshot_journal_and_objects(served: Served) -> None:
    served.client("s3").put_object(Bucket=BUCKET, Key="k", Body=b"v")
    removed = forget_state(served.state_dir)
    assert sorted(p.name for p in removed) == [
        "services.journal.1",
        "services.json",
        "services.objects",
    ]
    assert list(served.state_dir.iterdir()) == []


def test_a_failed_capture_keeps_the_current_journal(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(objects_dir: Path) -> Any:
        raise RuntimeError("moto changed under us")

    with monkeypatch.context() as patched:
        patched.setattr(service_data, "capture", failing)
        with pytest.raises(RuntimeError, match="moto changed"):
            served.journal.compact()
    served.client("dynamodb").put_item(TableName=TABLE, Item=_item("after"))
    assert [p.name for p in served.state_dir.glob("services.journal.*")] == ["services.journal.1"]
    served.crash_and_restart()
    items = served.client("dynamodb").scan(TableName=TABLE)["Items"]
    assert [item["pk"]["S"] for item in items] == ["after"]


def test_odd_object_names_and_the_sqs_query_protocol(served: Served) -> None:
    s3 = served.client("s3")
    odd = "results/a b+c%20ü?=&.json"
    s3.put_object(Bucket=BUCKET, Key=odd, Body=b"odd")
    # SQS's older query protocol (form-encoded, XML answers), as older SDKs send it
    form = urllib.parse.urlencode(
        {"Action": "SendMessage", "QueueUrl": served.queue_url, "MessageBody": "by form"}
    ).encode()
    request = urllib.request.Request(
        served.url,
        data=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261202/us-east-1/sqs/"
            "aws4_request, SignedHeaders=host, Signature=0",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert b"<MessageId>" in answer.read()
    served.crash_and_restart()
    assert served.client("s3").get_object(Bucket=BUCKET, Key=odd)["Body"].read() == b"odd"
    received = served.client("sqs").receive_message(QueueUrl=served.queue_url)["Messages"]
    assert [m["Body"] for m in received] == ["by form"]


def test_an_item_s_image_is_moto_s_json_of_it() -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    attributes: dict[str, Any] = {
        "pk": {"S": "order#1 \u00e9\u6f22 \U0001f600"},
        "n": {"N": "12.50"},
        "flag": {"BOOL": False},
        "none": {"NULL": True},
        "names": {"SS": ["a", "b"]},
        "numbers": {"NS": ["1", "2.5"]},
        "lines": {
            "L": [
                {"M": {"sku": {"S": "x"}, "qty": {"N": "2"}, "tags": {"L": [{"S": "t"}]}}},
                {"BOOL": True},
                {"NULL": True},
            ]
        },
        "empty": {"M": {}},
        "nothing": {"L": []},
    }
    plain = Item(DynamoType({"S": "k"}), None, attributes)
    image = service_data.item_json(plain)
    assert image == service_data._moto_item_json(plain) == attributes
    assert image["lines"] is not plain.attrs["lines"].value  # a copy, never moto's own
    # moto's way for what the direct reading does not know (binary values)
    for odd in ({"B": "aGk="}, {"BS": ["aGk="]}, {"M": {"b": {"B": "aGk="}}}):
        item = Item(DynamoType({"S": "k"}), None, {"pk": {"S": "k"}, "odd": odd})
        assert service_data.item_json(item) == service_data._moto_item_json(item)
    # an item after an update (numbers added by moto, a nested map changed)
    updated = Item(DynamoType({"S": "k"}), None, {"pk": {"S": "k"}, "n": {"N": "1"}})
    updated.attrs["n"] = updated.attrs["n"] + DynamoType({"N": "2"})
    assert service_data.item_json(updated) == service_data._moto_item_json(updated)
