"""Which Task ``Resource`` ARNs AWS accepts, for which workflow type.

AWS accepts three kinds of Task resource (Amazon States Language, "Task state";
"Integrating services with Step Functions"):

- a Lambda function ARN, ``arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]``;
- an activity ARN, ``arn:aws:states:REGION:ACCOUNT:activity:NAME``;
- a service integration, ``arn:aws:states:::SERVICE:ACTION[.sync|.sync:2|.waitForTaskToken]``,
  where SERVICE:ACTION is an optimized integration or ``aws-sdk:SERVICE:ACTION``.

Anything else is refused by CreateStateMachine with ``SCHEMA_VALIDATION_FAILED: The
resource provided ARN is not recognized. The value is not a valid resource ARN, or the
resource is not available in this region.`` (``arn:aws:states:::dynamodb:query``: the
optimized DynamoDB integration has GetItem, PutItem, UpdateItem and DeleteItem only;
DynamoDB Query is ``arn:aws:states:::aws-sdk:dynamodb:query``). EXPRESS workflows
support neither activities nor the ``.sync`` and ``.waitForTaskToken`` patterns
("Standard and Express workflow types": "Express Workflows do not support ... Activities
... the Run a Job (.sync) or Wait for Callback (.waitForTaskToken) patterns").

The action table lists the actions AWS documents for each optimized integration where
the list is short and stable; for the others (SageMaker, EMR, EKS, CodeBuild, Bedrock)
any action is accepted rather than risk refusing one AWS accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["ResourceProblem", "resource_problem"]

_PARTITION: Final = re.compile(r"aws(?:-[a-z]+)*")
_REGION: Final = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d+")
_ACCOUNT: Final = re.compile(r"\d{12}")
_FUNCTION_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_QUALIFIER: Final = re.compile(r"\$LATEST|[A-Za-z0-9_-]{1,128}")
_ACTIVITY_NAME: Final = re.compile(r"[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/]{1,80}")
_SDK_SERVICE: Final = re.compile(r"[a-z0-9][a-z0-9.-]*")
_SDK_ACTION: Final = re.compile(r"[a-z][A-Za-z0-9]*")

_REQUEST: Final = "request"
_SYNC: Final = "sync"
_SYNC2: Final = "sync:2"
_CALLBACK: Final = "waitForTaskToken"
_PATTERNS: Final = (_CALLBACK, _SYNC2, _SYNC)  # suffixes, longest first

# service -> action -> the integration patterns AWS documents for it. ``None`` for the
# actions: every action of the service is accepted (the list is long or changes often).
_OPTIMIZED: Final[dict[str, dict[str, frozenset[str]] | None]] = {
    "lambda": {"invoke": frozenset({_REQUEST, _CALLBACK})},
    "dynamodb": {
        action: frozenset({_REQUEST})
        for action in ("getItem", "putItem", "updateItem", "deleteItem")
    },
    "sqs": {"sendMessage": frozenset({_REQUEST, _CALLBACK})},
    "sns": {"publish": frozenset({_REQUEST, _CALLBACK})},
    "events": {"putEvents": frozenset({_REQUEST, _CALLBACK})},
    "states": {"startExecution": frozenset({_REQUEST, _SYNC, _SYNC2, _CALLBACK})},
    "apigateway": {"invoke": frozenset({_REQUEST, _CALLBACK})},
    "http": {"invoke": frozenset({_REQUEST})},
    "batch": {"submitJob": frozenset({_REQUEST, _SYNC})},
    "ecs": {"runTask": frozenset({_REQUEST, _SYNC, _CALLBACK})},
    "glue": {"startJobRun": frozenset({_REQUEST, _SYNC})},
    "databrew": {"startJobRun": frozenset({_REQUEST, _SYNC})},
    "mediaconvert": {"createJob": frozenset({_REQUEST, _SYNC})},
    "athena": {
        "startQueryExecution": frozenset({_REQUEST, _SYNC}),
        "stopQueryExecution": frozenset({_REQUEST}),
        "getQueryExecution": frozenset({_REQUEST}),
        "getQueryResults": frozenset({_REQUEST}),
    },
    "sagemaker": None,
    "elasticmapreduce": None,
    "emr-containers": None,
    "emr-serverless": None,
    "eks": None,
    "codebuild": None,
    "bedrock": None,
}


@dataclass(frozen=True, slots=True)
class ResourceProblem:
    """Why AWS refuses a Resource: ``code`` and AWS's message (without the location)."""

    code: str
    message: str


def not_recognized(resource: str) -> ResourceProblem:
    return ResourceProblem(
        "SCHEMA_VALIDATION_FAILED",
        f"The resource provided {resource} is not recognized. The value is not a valid "
        "resource ARN, or the resource is not available in this region.",
    )


def resource_problem(resource: str, machine_type: str = "STANDARD") -> ResourceProblem | None:
    """What AWS says about ``resource`` as a Task Resource; ``None`` if it accepts it.

    ``resource`` must already look like an ARN (``arn:...``): the caller reports a
    value that is not one at all with its own, friendlier text.
    """
    parts = resource.split(":")
    if len(parts) < 6 or parts[0] != "arn" or _PARTITION.fullmatch(parts[1]) is None:
        return not_recognized(resource)
    service = parts[2]
    if service == "lambda":
        return None if _lambda_function(parts) else not_recognized(resource)
    if service != "states":
        return not_recognized(resource)
    if parts[5] == "activity":
        if not _activity(parts):
            return not_recognized(resource)
        if machine_type == "EXPRESS":
            return ResourceProblem(
                "SCHEMA_VALIDATION_FAILED", "Express state machine does not support Activity ARN"
            )
        return None
    if parts[3] or parts[4] or len(parts) < 7:
        return not_recognized(resource)
    integration, pattern = _split_pattern(":".join(parts[5:]))
    if integration is None:
        return not_recognized(resource)
    if not _integration_exists(integration, pattern):
        return not_recognized(resource)
    if machine_type == "EXPRESS" and pattern == _CALLBACK:
        # AWS's own text, recorded against AWS in LocalStack's Express snapshots: with a
        # trailing space, so the message reads "... integration  at /States/..."
        return ResourceProblem(
            "SCHEMA_VALIDATION_FAILED",
            "Express state machine does not support '.waitForTaskToken' service integration ",
        )
    if machine_type == "EXPRESS" and pattern != _REQUEST:
        return ResourceProblem(
            "SCHEMA_VALIDATION_FAILED",
            "Express state machine does not support '.sync' service integration",
        )
    return None


def _lambda_function(parts: list[str]) -> bool:
    if len(parts) not in (7, 8) or parts[5] != "function":
        return False
    if _REGION.fullmatch(parts[3]) is None or _ACCOUNT.fullmatch(parts[4]) is None:
        return False
    if _FUNCTION_NAME.fullmatch(parts[6]) is None:
        return False
    return len(parts) == 7 or _QUALIFIER.fullmatch(parts[7]) is not None


def _activity(parts: list[str]) -> bool:
    return (
        len(parts) == 7
        and _REGION.fullmatch(parts[3]) is not None
        and _ACCOUNT.fullmatch(parts[4]) is not None
        and _ACTIVITY_NAME.fullmatch(parts[6]) is not None
    )


def _split_pattern(text: str) -> tuple[str | None, str]:
    """``sqs:sendMessage.waitForTaskToken`` -> (``sqs:sendMessage``, ``waitForTaskToken``)."""
    for suffix in _PATTERNS:
        if text.endswith("." + suffix):
            return text[: -len(suffix) - 1], suffix
    if "." in text.rsplit(":", 1)[-1] and not text.startswith("aws-sdk:"):
        return None, _REQUEST  # an unknown pattern suffix such as .sync:3
    return text, _REQUEST


def _integration_exists(integration: str, pattern: str) -> bool:
    service, _, action = integration.partition(":")
    if service == "aws-sdk":
        # aws-sdk:SERVICE:ACTION; AWS SDK integrations have no .sync pattern.
        sdk_service, _, sdk_action = action.partition(":")
        return (
            _SDK_SERVICE.fullmatch(sdk_service) is not None
            and _SDK_ACTION.fullmatch(sdk_action) is not None
            and pattern in (_REQUEST, _CALLBACK)
        )
    if service not in _OPTIMIZED or not action:
        return False
    actions = _OPTIMIZED[service]
    if actions is None:
        return re.fullmatch(r"[a-z][A-Za-z0-9]*(?::[a-z][A-Za-z0-9]*)?", action) is not None
    patterns = actions.get(action)
    return patterns is not None and pattern in patterns
