"""The checks of the Task state: its Resource ARN, timeouts and credentials."""

from __future__ import annotations

from workflows.engine.validation.checker import CheckedState, Parts
from workflows.engine.validation.codes import (
    CONFLICTING_FIELDS,
    HEARTBEAT_NOT_LESS_THAN_TIMEOUT,
    INVALID_RESOURCE,
    INVALID_TYPE,
    MISSING_FIELD,
    PLACEHOLDER_IN_ARN,
)
from workflows.engine.validation.expressions import ExpressionChecks
from workflows.engine.validation.placeholders import fill_arn, has_placeholder
from workflows.engine.validation.resources import resource_problem
from workflows.engine.validation.wording import json_kind


class TaskStateChecks(ExpressionChecks):
    def state_task(self, s: CheckedState) -> None:
        body, at = s.body, s.at
        if "Resource" not in body:
            self.error(
                MISSING_FIELD,
                f"Task state '{s.name}' has no Resource (the ARN of the Lambda function, "
                "activity or service integration to run)",
                at,
            )
        else:
            resource = body["Resource"]
            if not isinstance(resource, str):
                self.error(
                    INVALID_RESOURCE,
                    f"Resource must be an ARN string, not {json_kind(resource)}",
                    (*at, "Resource"),
                )
            else:
                self.resource(resource, (*at, "Resource"))
        timeout = self.seconds_pair(s, "TimeoutSeconds")
        heartbeat = self.seconds_pair(s, "HeartbeatSeconds")
        if timeout is not None and heartbeat is not None and heartbeat >= timeout:
            self.error(
                HEARTBEAT_NOT_LESS_THAN_TIMEOUT,
                f"HeartbeatSeconds ({heartbeat}) must be less than TimeoutSeconds ({timeout})",
                (*at, "HeartbeatSeconds"),
            )
        if "Credentials" in body:
            credentials = body["Credentials"]
            if not isinstance(credentials, dict):
                self.error(
                    INVALID_TYPE,
                    "Credentials must be an object with RoleArn or RoleArnPath, "
                    f"not {json_kind(credentials)}",
                    (*at, "Credentials"),
                )
            elif "RoleArn" in credentials and "RoleArnPath" in credentials:
                self.error(
                    CONFLICTING_FIELDS,
                    "Credentials has both RoleArn and RoleArnPath; give one of them",
                    (*at, "Credentials", "RoleArnPath"),
                )
            elif isinstance(credentials.get("RoleArnPath"), str):
                self.expression(
                    credentials["RoleArnPath"], (*at, "Credentials", "RoleArnPath"), "RoleArnPath"
                )

    def resource(self, resource: str, at: Parts) -> None:
        """A Task Resource: an ARN AWS knows for this workflow type (``resources.py``)."""
        checked = resource
        if self.placeholders and has_placeholder(resource):
            if self.placeholder(resource, at, "Resource"):
                return
            checked, names, opaque = fill_arn(resource)
            listed = ", ".join("${" + n + "}" for n in names)
            if opaque and not checked.startswith("arn:"):
                self.note(
                    PLACEHOLDER_IN_ARN,
                    f"Resource {resource!r} starts with the placeholder(s) {listed}; "
                    "accepted as any resource",
                    at,
                )
                return
            self.note(
                PLACEHOLDER_IN_ARN,
                f"Resource {resource!r} holds the placeholder(s) {listed}; checked as "
                f"{checked!r}" + (" (its target is not known until deployment)" if opaque else ""),
                at,
            )
            if opaque:
                return
        if not checked.startswith("arn:"):
            self.not_an_arn(resource, at)
            return
        problem = resource_problem(checked, self.machine_type)
        if problem is not None:
            self.error(problem.code, problem.message, at)

    def not_an_arn(self, resource: str, at: Parts) -> None:
        hint = ""
        if "${" in resource:
            hint = (
                " (an unfilled placeholder: fill it with --sub Name=value, or validate the "
                "template that fills it)"
            )
        self.error(
            INVALID_RESOURCE,
            f"Value is not a valid resource ARN: {resource!r} is not an ARN such as "
            "'arn:aws:lambda:us-east-1:123456789012:function:Name' or "
            f"'arn:aws:states:::lambda:invoke'{hint}",
            at,
        )

    def seconds_pair(self, s: CheckedState, field: str) -> int | None:
        """TimeoutSeconds/HeartbeatSeconds and their Path form; the literal value if given."""
        path = f"{field}Path"
        if self.has(s, field) and self.has(s, path):
            self.error(
                CONFLICTING_FIELDS,
                f"Task state '{s.name}' has both {field} and {path}; give one of them",
                (*s.at, path),
            )
        if self.has(s, path):
            self.path(s.body[path], (*s.at, path), path)
        if self.has(s, field):
            return self.count(s, field, minimum=1)
        return None
