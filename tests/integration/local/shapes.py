"""Every answer checked against botocore's output shape: no field the model lacks, every
required one there, each of the model's type (botocore's parser would drop or coerce
what is wrong, so a test on the parsed result cannot see it)."""

from __future__ import annotations

import json
from typing import Any

from botocore.model import Shape


def problems(value: Any, shape: Shape, where: str = "") -> list[str]:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where or '/'}: not an object"]
        found = []
        members = shape.members  # type: ignore[attr-defined]
        for key, item in value.items():
            if key not in members:
                found.append(f"{where}/{key}: not in {shape.name}")
            elif item is not None:
                found += problems(item, members[key], f"{where}/{key}")
        for required in shape.required_members:  # type: ignore[attr-defined]
            if required not in value:
                found.append(f"{where}/{required}: required by {shape.name}, missing")
        return found
    if kind == "list":
        if not isinstance(value, list):
            return [f"{where}: not a list"]
        member = shape.member  # type: ignore[attr-defined]
        return [p for i, item in enumerate(value) for p in problems(item, member, f"{where}/{i}")]
    if kind == "string":
        ok = isinstance(value, str) and (not shape.enum or value in shape.enum)
        return [] if ok else [f"{where}: {value!r} is not a {shape.name}"]
    if kind in ("integer", "long"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{where}: {value!r} is not an integer"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: {value!r} is not a boolean"]
    if kind == "timestamp":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{where}: {value!r} is not epoch seconds"]
    return []


def check_answers(client: Any) -> Any:
    """Make ``client`` fail on any 200 answer that does not fit its operation's shape."""

    def check(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        if response_dict["status_code"] != 200 or operation_model.output_shape is None:
            return
        body = json.loads(response_dict["body"] or b"{}")
        found = problems(body, operation_model.output_shape)
        assert not found, f"{operation_model.name}: {found}"

    client.meta.events.register("before-parse.*.*", check)
    return client
