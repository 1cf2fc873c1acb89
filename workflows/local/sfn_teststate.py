"""TestState on the local Step Functions endpoint.

The request is read as AWS reads it (``definition`` of a state or of a whole machine
with ``stateName``, ``input``, ``inspectionLevel``, ``variables``, ``mock``,
``stateConfiguration.retrierRetryCount``) and the state runs through the engine's
``run_test_state`` with the running application's Lambdas and service integrations,
so a Task really calls its function unless a mock answers for it.
"""

from __future__ import annotations

import json
from typing import Any, Final

from workflows.engine.diagnostics import DefinitionError
from workflows.engine.mocks import Return, Throw
from workflows.engine.teststate import InspectionLevel, run_test_state
from workflows.local import json_text
from workflows.local.executions import ExecutionService, ServiceError, validation_error

__all__ = ["TEST_STATE_ACTIONS"]

Request = dict[str, Any]


def _json_field(request: Request, field: str, default: Any) -> Any:
    text = request.get(field)
    if text is None:
        return default
    if not isinstance(text, str):
        raise validation_error(field, "Member must be a string", json.dumps(text))
    try:
        return json_text.loads(text)
    except json.JSONDecodeError as error:
        raise ServiceError(
            "InvalidExecutionInput" if field == "input" else "ValidationException",
            f"Invalid {field}: '{error.msg} at line {error.lineno} column {error.colno}'",
        ) from None


def _mock(request: Request) -> Return | Throw | None:
    mock = request.get("mock")
    if mock is None:
        return None
    if not isinstance(mock, dict):
        raise validation_error("mock", "Member must be a structure")
    if "result" in mock and "errorOutput" in mock:
        raise ServiceError(
            "ValidationException", "A mock can have a result or an errorOutput, not both"
        )
    if "errorOutput" in mock:
        failure = mock["errorOutput"] or {}
        return Throw(str(failure.get("error") or ""), failure.get("cause"))
    return Return(_json_field(mock, "result", None))


async def _test_state(service: ExecutionService, request: Request) -> dict[str, Any]:
    definition = request.get("definition")
    if not isinstance(definition, str) or not definition:
        raise validation_error("definition", "Member must not be null")
    requested = request.get("inspectionLevel") or "INFO"
    levels: dict[str, InspectionLevel] = {"INFO": "INFO", "DEBUG": "DEBUG", "TRACE": "TRACE"}
    if requested not in levels:
        raise validation_error(
            "inspectionLevel", "Member must satisfy enum value set: [INFO, DEBUG, TRACE]", requested
        )
    level = levels[requested]
    variables = _json_field(request, "variables", None)
    if variables is not None and not isinstance(variables, dict):
        raise ServiceError("ValidationException", "variables must be a JSON object")
    configuration = request.get("stateConfiguration") or {}
    retries = configuration.get("retrierRetryCount", 0) if isinstance(configuration, dict) else 0
    try:
        parsed = json.loads(definition)
    except json.JSONDecodeError as error:
        raise ServiceError(
            "InvalidDefinition", f"Invalid State Machine Definition: '{error.msg}'"
        ) from None
    try:
        result = await run_test_state(
            parsed,
            _json_field(request, "input", {}),
            state_name=request.get("stateName"),
            inspection_level=level,
            variables=variables,
            mock=_mock(request),
            retrier_retry_count=int(retries or 0),
            runner=service.app.runner,
            region=service.region,
            account=service.account,
        )
    except DefinitionError as error:
        problems = ", ".join(
            f"{d.code}: {d.message} at {d.location or '/'}" for d in error.diagnostics
        )
        raise ServiceError(
            "InvalidDefinition", f"Invalid State Machine Definition: '{problems}'"
        ) from None
    return result.to_api()


TEST_STATE_ACTIONS: Final = {"TestState": _test_state}
