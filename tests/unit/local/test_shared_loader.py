"""The local runtime's botocore sessions share one data loader (models parsed once)."""

from __future__ import annotations

from pathlib import Path

import botocore.loaders
import botocore.session
import pytest

from workflows.local import shared_loader


def test_sessions_share_one_loader_once_switched_on(monkeypatch: pytest.MonkeyPatch) -> None:
    # the factory as botocore has it (an earlier workflows run in this process may have
    # switched sharing on already)
    monkeypatch.setattr(botocore.session, "create_loader", botocore.loaders.create_loader)
    monkeypatch.setattr(shared_loader, "_loaders", {})
    import moto.core.loaders
    import moto.core.utils

    monkeypatch.setattr(moto.core.utils, "create_loader", moto.core.loaders.create_loader)
    apart = [botocore.session.Session().get_component("data_loader") for _ in range(2)]
    assert apart[0] is not apart[1]
    shared_loader.share_botocore_loader()
    together = [botocore.session.Session().get_component("data_loader") for _ in range(2)]
    assert together[0] is together[1]
    sqs = botocore.session.Session().create_client("sqs", region_name="us-east-1")
    assert sqs.meta.service_model.service_name == "sqs"
    # boto3 sessions append boto3's resource models' folder to their loader's search
    # path: the shared loader keeps it once, however many sessions there are
    import boto3

    for _ in range(3):
        boto3.session.Session()
    paths = together[0].search_paths
    assert len(paths) == len(set(paths))
    assert any(path.endswith(("boto3/data", "boto3\\data")) for path in paths)


def test_moto_reads_its_models_through_one_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto.core.loaders
    import moto.core.utils

    # the factory as botocore has it (an earlier workflows run in this process may have
    # switched sharing on already)
    monkeypatch.setattr(botocore.session, "create_loader", botocore.loaders.create_loader)
    monkeypatch.setattr(moto.core.utils, "create_loader", moto.core.loaders.create_loader)
    factory = moto.core.utils.create_loader  # type: ignore[attr-defined]
    assert factory() is not factory()
    shared_loader.share_botocore_loader()
    factory = moto.core.utils.create_loader  # type: ignore[attr-defined]
    assert factory() is factory()


def test_moto_loader_lists_the_services_its_own_listing_finds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import moto.core.loaders
    import moto.core.utils

    monkeypatch.setattr(botocore.session, "create_loader", botocore.loaders.create_loader)
    monkeypatch.setattr(shared_loader, "_loaders", {})
    monkeypatch.setattr(moto.core.utils, "create_loader", moto.core.loaders.create_loader)
    own = moto.core.loaders.create_loader()
    shared_loader.share_botocore_loader()
    loader = moto.core.utils.create_loader()  # type: ignore[attr-defined]
    for type_name in ("service-2", "paginators-1"):
        assert loader.list_available_services(type_name) == own.list_available_services(type_name)
    model = loader.load_service_model("dynamodb", "service-2")
    assert model["metadata"]["serviceId"] == "DynamoDB"


@pytest.mark.parametrize(
    "name", ["endpoints", "dynamodb/2012-08-10/service-2", "s3/2006-03-01/endpoint-rule-set-1"]
)
def test_the_shared_loaders_read_a_file_as_botocore_does(name: str) -> None:
    folder = botocore.loaders.Loader.BUILTIN_DATA_PATH
    ours = shared_loader._OrjsonFileLoader().load_file(f"{folder}/{name}")
    assert ours is not None
    assert ours == botocore.loaders.JSONFileLoader().load_file(f"{folder}/{name}")


def test_a_file_orjson_refuses_is_read_by_json(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text('{"max": 123456789012345678901234567890, "ratio": NaN}')
    data = shared_loader._OrjsonFileLoader().load_file(str(path)[: -len(".json")])
    assert data["max"] == 123456789012345678901234567890
    assert data["ratio"] != data["ratio"]
    assert shared_loader._OrjsonFileLoader().load_file(str(tmp_path / "missing")) is None


@pytest.mark.parametrize(
    "type_name",
    ["service-2", "endpoint-rule-set-1", "resources-1", "paginators-1", "waiters-2", "nothing-1"],
)
def test_the_shared_loader_lists_the_services_botocore_lists(
    tmp_path: Path, type_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gzip
    import os

    import boto3

    # botocore's and boto3's data, and a folder of odd shapes: a model only gzipped, a
    # service without versions, a file where a service or a version would be, a model
    # that is a folder, and a service reached through a link
    odd = tmp_path / "models"
    (odd / "gzipped" / "2020-01-01").mkdir(parents=True)
    with gzip.open(odd / "gzipped" / "2020-01-01" / f"{type_name}.json.gz", "wb") as file:
        file.write(b"{}")
    (odd / "empty").mkdir()
    (odd / "a-file").write_text("{}")
    (odd / "versionless" / "2020-01-01").mkdir(parents=True)
    (odd / "versionless" / "not-a-version").write_text("{}")
    (odd / "folder-model" / "2020-01-01" / f"{type_name}.json").mkdir(parents=True)
    (odd / "second" / "2019-01-01").mkdir(parents=True)
    (odd / "second" / "2021-01-01").mkdir(parents=True)
    (odd / "second" / "2021-01-01" / f"{type_name}.json").write_text("{}")
    os.symlink(odd / "second", odd / "linked")
    paths = [
        str(Path(botocore.loaders.__file__).parent / "data"),
        str(Path(boto3.__file__).parent / "data"),
        str(odd),
        str(tmp_path / "missing"),
    ]
    botocore_own = botocore.loaders.Loader(extra_search_paths=paths)
    monkeypatch.setattr(shared_loader, "_loaders", {})
    shared = shared_loader._shared_loader(os.pathsep.join(paths))
    assert shared.list_available_services(type_name) == botocore_own.list_available_services(
        type_name
    )
    if type_name != "nothing-1":
        assert {"gzipped", "second", "linked"} <= set(shared.list_available_services(type_name))
