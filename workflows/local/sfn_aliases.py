"""State machine aliases on the local Step Functions endpoint.

CreateStateMachineAlias, DescribeStateMachineAlias, UpdateStateMachineAlias,
DeleteStateMachineAlias and ListStateMachineAliases. An alias
(``arn:...:stateMachine:NAME:ALIAS``) routes to one version of its state machine, or to
two with weights summing to 100; StartExecution on it draws the version by weight
(``ExecutionService._route``) and the execution reports both ARNs. Aliases are kept
in the store (``resource_store``) and come back after a restart. The validation texts
are AWS's, as recorded against the real service.
"""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any, Final

from workflows.local.executions import (
    ExecutionService,
    ServiceError,
    committed,
    is_alias_arn,
    validation_error,
)
from workflows.local.resource_store import AliasRow

__all__ = ["ALIAS_ACTIONS"]

_ALIAS_NAME: Final = re.compile(r"^(?=.*[a-zA-Z_\-\.])[a-zA-Z0-9_\-\.]+$")
_ALIAS_NAME_PATTERN: Final = r"^(?=.*[a-zA-Z_\-\.])[a-zA-Z0-9_\-\.]+$"
_MAX_ALIASES: Final = 100  # per state machine, as on AWS
_NOT_FOUND: Final = "Request references a resource that does not exist."

Request = dict[str, Any]


def _text(request: Request, field: str, *, max_length: int, required: bool = True) -> str | None:
    value = request.get(field)
    if value is None:
        if required:
            raise validation_error(field, "Member must not be null")
        return None
    if not isinstance(value, str):
        raise validation_error(field, "Member must be a string", json.dumps(value))
    if required and not value:
        raise validation_error(field, "Member must have length greater than or equal to 1", value)
    if len(value) > max_length:
        raise validation_error(
            field, f"Member must have length less than or equal to {max_length}", value
        )
    return value


def _name(request: Request) -> str:
    name = _text(request, "name", max_length=80)
    assert name is not None
    if not _ALIAS_NAME.match(name):
        raise validation_error(
            "name", f"Member must satisfy regular expression pattern: {_ALIAS_NAME_PATTERN}", name
        )
    return name


def _routing(
    service: ExecutionService, request: Request, *, required: bool
) -> list[tuple[str, int]] | None:
    """The routing configuration, checked as AWS checks it: shape first, then meaning."""
    items = request.get("routingConfiguration")
    if items is None:
        if required:
            raise validation_error("routingConfiguration", "Member must not be null")
        return None
    if not isinstance(items, list):
        raise validation_error("routingConfiguration", "Member must be a list", json.dumps(items))
    if not items:
        raise validation_error(
            "routingConfiguration", "Member must have length greater than or equal to 1", "[]"
        )
    routing: list[tuple[str, int]] = []
    for index, item in enumerate(items, start=1):
        where = f"routingConfiguration.{index}.member"
        if not isinstance(item, dict):
            raise validation_error(where, "Member must be a structure", json.dumps(item))
        arn = item.get("stateMachineVersionArn")
        if not isinstance(arn, str) or not 1 <= len(arn) <= 2048:
            raise validation_error(
                f"{where}.stateMachineVersionArn",
                "Member must not be null"
                if arn is None
                else "Member must have length between 1 and 2048",
                None if arn is None else json.dumps(arn),
            )
        weight = item.get("weight")
        if isinstance(weight, bool) or not isinstance(weight, int):
            raise validation_error(
                f"{where}.weight",
                "Member must not be null" if weight is None else "Member must be an integer",
                None if weight is None else json.dumps(weight),
            )
        if not 0 <= weight <= 100:
            raise validation_error(
                f"{where}.weight",
                "Member must have value less than or equal to 100"
                if weight > 100
                else "Member must have value greater than or equal to 0",
                weight,
            )
        routing.append((arn, weight))
    if len(routing) > 2:
        shown = ", ".join(
            f"RoutingConfigurationListItem(stateMachineVersionArn={arn}, weight={weight})"
            for arn, weight in routing
        )
        raise validation_error(
            "routingConfiguration", "Member must have length less than or equal to 2", f"[{shown}]"
        )
    arns = [arn for arn, _ in routing]
    received = f"Received: [{', '.join(arns)}]"
    if not all(_is_version(arn) for arn in arns):
        raise ServiceError(
            "ValidationException",
            f"Routing configuration must contain state machine version ARNs. {received}",
        )
    if len(set(arns)) != len(arns):
        raise ServiceError(
            "ValidationException",
            f"Routing configuration must contain distinct state machine version ARNs. {received}",
        )
    if len({arn.rsplit(":", 1)[0] for arn in arns}) > 1:
        raise ServiceError(
            "ValidationException",
            "Routing configuration must contain state machine version ARNs of the same "
            f"state machine. {received}",
        )
    weights = [weight for _, weight in routing]
    if sum(weights) != 100:
        raise ServiceError(
            "ValidationException",
            "Sum of routing configuration weights must equal 100. "
            f"Received: [{', '.join(map(str, weights))}]",
        )
    for arn in arns:
        service.describe_state_machine(arn)  # InvalidArn, ResourceNotFound, ... as AWS
    return routing


def _is_version(arn: str) -> bool:
    parts = arn.split(":")
    return len(parts) == 8 and parts[5] == "stateMachine" and parts[7].isdigit()


def _alias_arn(request: Request) -> str:
    arn = _text(request, "stateMachineAliasArn", max_length=256)
    assert arn is not None
    if not arn.startswith("arn:") or not is_alias_arn(arn):
        raise ServiceError("InvalidArn", f"Invalid Arn: '{arn}'")
    return arn


def _alias(service: ExecutionService, arn: str) -> AliasRow:
    alias = service.aliases.get(arn)
    if alias is None:
        raise ServiceError("ResourceNotFound", _NOT_FOUND)
    return alias


async def _create_alias(service: ExecutionService, request: Request) -> dict[str, Any]:
    name = _name(request)
    description = _text(request, "description", max_length=256, required=False)
    routing = _routing(service, request, required=True)
    assert routing is not None
    machine_arn = routing[0][0].rsplit(":", 1)[0]
    arn = f"{machine_arn}:{name}"
    existing = service.aliases.get(arn)
    if existing is not None:
        if existing.description == description and existing.routing == routing:
            return {"stateMachineAliasArn": arn, "creationDate": existing.creation_date}
        raise ServiceError(
            "ConflictException",
            "Failed to create alias because an alias with the same name and a different "
            "routing configuration already exists.",
        )
    if sum(a.machine_arn == machine_arn for a in service.aliases.values()) >= _MAX_ALIASES:
        raise ServiceError(
            "ServiceQuotaExceededException",
            f"Maximum number of aliases ({_MAX_ALIASES}) reached for state machine '{machine_arn}'",
        )
    created = time.time()
    alias = AliasRow(arn, machine_arn, name, description, routing, created, created)
    await committed(service.resources.put_alias(alias))
    service.aliases[arn] = alias
    return {"stateMachineAliasArn": arn, "creationDate": created}


async def _describe_alias(service: ExecutionService, request: Request) -> dict[str, Any]:
    alias = _alias(service, _alias_arn(request))
    answer: dict[str, Any] = {
        "stateMachineAliasArn": alias.arn,
        "name": alias.name,
        "routingConfiguration": [
            {"stateMachineVersionArn": arn, "weight": weight} for arn, weight in alias.routing
        ],
        "creationDate": alias.creation_date,
        "updateDate": alias.update_date,
    }
    if alias.description is not None:
        answer["description"] = alias.description
    return answer


async def _update_alias(service: ExecutionService, request: Request) -> dict[str, Any]:
    arn = _alias_arn(request)
    description = _text(request, "description", max_length=256, required=False)
    routing = _routing(service, request, required=False)
    if description is None and routing is None:
        raise ServiceError(
            "ValidationException",
            "Either the description or the routingConfiguration must be specified",
        )
    alias = _alias(service, arn)
    if routing is not None and routing[0][0].rsplit(":", 1)[0] != alias.machine_arn:
        raise ServiceError(
            "ValidationException",
            "Routing configuration must contain state machine version ARNs of the alias's "
            f"state machine. Received: [{', '.join(a for a, _ in routing)}]",
        )
    updated = AliasRow(
        alias.arn,
        alias.machine_arn,
        alias.name,
        description if description is not None else alias.description,
        routing if routing is not None else alias.routing,
        alias.creation_date,
        time.time(),
    )
    await committed(service.resources.put_alias(updated))
    service.aliases[arn] = updated
    return {"updateDate": updated.update_date}


async def _delete_alias(service: ExecutionService, request: Request) -> dict[str, Any]:
    arn = _alias_arn(request)
    if arn in service.aliases:  # deleting an alias that is not there succeeds, as on AWS
        await committed(service.resources.delete_alias(arn))
        service.aliases.pop(arn, None)
    return {}


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"aliases": offset}).encode()).decode()


def _offset(token: Any) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(str(token).encode()))["aliases"]
    except (ValueError, KeyError, TypeError):
        raise ServiceError("InvalidToken", f"Invalid Token: '{token}'") from None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise ServiceError("InvalidToken", f"Invalid Token: '{token}'")
    return offset


async def _list_aliases(service: ExecutionService, request: Request) -> dict[str, Any]:
    arn = _text(request, "stateMachineArn", max_length=256)
    assert arn is not None
    limit = request.get("maxResults") or 100
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= 1000:
        raise validation_error(
            "maxResults", "Member must have value less than or equal to 1000", limit
        )
    described = service.describe_state_machine(arn)  # the machine or version must exist
    if _is_version(arn):  # the aliases that route to this version
        aliases = [a for a in service.aliases.values() if any(v == arn for v, _ in a.routing)]
    else:
        machine_arn = described["stateMachineArn"]
        aliases = [a for a in service.aliases.values() if a.machine_arn == machine_arn]
    aliases.sort(key=lambda a: a.creation_date)
    start = _offset(request["nextToken"]) if request.get("nextToken") else 0
    page = aliases[start : start + limit]
    answer: dict[str, Any] = {
        "stateMachineAliases": [
            {"stateMachineAliasArn": a.arn, "creationDate": a.creation_date} for a in page
        ]
    }
    if start + limit < len(aliases):
        answer["nextToken"] = _page_token(start + limit)
    return answer


ALIAS_ACTIONS: Final = {
    "CreateStateMachineAlias": _create_alias,
    "DescribeStateMachineAlias": _describe_alias,
    "UpdateStateMachineAlias": _update_alias,
    "DeleteStateMachineAlias": _delete_alias,
    "ListStateMachineAliases": _list_aliases,
}
