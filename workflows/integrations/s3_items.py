"""S3 for a Distributed Map: what its ItemReader reads and its ResultWriter writes.

Registered as ``s3:getObject``, ``s3:listObjectsV2`` and ``s3:putObject`` (keys no
Task resource can reach: S3 has no optimized Task integration), on the same client
pool as the other integrations, so S3 is moto in tests, the local services under
``workflows up`` and AWS when boto3 points there.

- ``s3:getObject`` answers an iterator of the object's byte chunks: the engine
  decodes items as they stream in.
- ``s3:listObjectsV2`` answers one page: ``Contents`` as AWS's ItemReader gives each
  object (``Etag``, ``Key``, ``LastModified`` in epoch seconds, ``Size``,
  ``StorageClass``) and ``NextContinuationToken``.
- ``s3:putObject`` stores ``Body`` (bytes) at ``Bucket``/``Key``.

Failures are named as SDK integrations name them (``S3.NoSuchKeyException``); the
engine reports them as ``States.ItemReaderFailed`` or ``States.ResultWriterFailed``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from workflows.engine.errors import StatesError
from workflows.engine.tasks import ServiceIntegration, TaskRequest
from workflows.integrations._boto import ClientPool, call_mapped, sdk_error

__all__ = ["s3_item_integrations"]

_CHUNK: Final = 256 * 1024
# the request fields an ItemReader may pass on to each S3 action
_GET_FIELDS: Final = ("Bucket", "Key", "VersionId")
_LIST_FIELDS: Final = ("Bucket", "Prefix", "ContinuationToken", "StartAfter", "MaxKeys")


def _fields(parameters: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(parameters, dict) or not isinstance(parameters.get("Bucket"), str):
        raise StatesError("S3.S3Exception", "The request needs a Bucket (a string).")
    return {key: parameters[key] for key in allowed if key in parameters}


class _S3Call:
    def __init__(self, pool: ClientPool, action: str) -> None:
        self._pool = pool
        self._action = action

    async def __call__(self, request: TaskRequest) -> Any:
        def work() -> Any:
            client = self._pool.client("s3")
            if self._action == "getObject":
                response = client.get_object(**_fields(request.parameters, _GET_FIELDS))
                return _chunks(response["Body"])
            if self._action == "listObjectsV2":
                response = client.list_objects_v2(**_fields(request.parameters, _LIST_FIELDS))
                return _page(response)
            parameters = request.parameters
            client.put_object(
                Bucket=parameters["Bucket"], Key=parameters["Key"], Body=parameters["Body"]
            )
            return {}

        return await call_mapped(request, work, lambda exc: sdk_error("S3", exc))


def _chunks(body: Any) -> Iterator[bytes]:
    """The body's chunks; a connection that breaks mid-object fails as an S3 error."""
    try:
        yield from body.iter_chunks(_CHUNK)
    except Exception as exc:
        raise sdk_error("S3", exc) from exc
    finally:
        body.close()


def _page(response: dict[str, Any]) -> dict[str, Any]:
    contents = [
        {
            "Etag": entry.get("ETag", ""),
            "Key": entry["Key"],
            "LastModified": int(entry["LastModified"].timestamp()),
            "Size": entry.get("Size", 0),
            "StorageClass": entry.get("StorageClass", "STANDARD"),
        }
        for entry in response.get("Contents", [])
    ]
    page: dict[str, Any] = {"Contents": contents}
    if response.get("NextContinuationToken"):
        page["NextContinuationToken"] = response["NextContinuationToken"]
    return page


def s3_item_integrations(pool: ClientPool) -> dict[str, ServiceIntegration]:
    return {
        f"s3:{action}": _S3Call(pool, action)
        for action in ("getObject", "listObjectsV2", "putObject")
    }
