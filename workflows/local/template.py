"""What the SAM template declares, resolved for one local account.

``infra/sam/template.yaml`` is the one description of the application. This module
reads it (CloudFormation's short tags included) and resolves ``!Ref``, ``!GetAtt``
and ``!Sub`` to the names and ARNs the resources get locally, so that the local
runtime and ``workflows run`` fill DefinitionSubstitutions, environment variables
and event sources exactly as CloudFormation would on AWS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from workflows.definitions import PLACEHOLDER

__all__ = [
    "ApiEvent",
    "EventRule",
    "FunctionSpec",
    "IntrinsicTag",
    "Resolver",
    "Schedule",
    "SqsSource",
    "StateMachineSpec",
    "Template",
    "TemplateError",
    "TemplateLoader",
    "load_template",
]

REGION = "us-east-1"
ACCOUNT = "123456789012"


class TemplateError(ValueError):
    """The template cannot be understood; the message names the resource and field."""


class IntrinsicTag:
    """A short-form intrinsic (``!Ref``, ``!Sub``, ...) as YAML read it, not yet resolved."""

    def __init__(self, name: str, value: Any) -> None:
        self.name = name
        self.value = value


class TemplateLoader(yaml.SafeLoader):
    """YAML's safe loader that reads CloudFormation's ``!`` tags as ``IntrinsicTag``;
    ``validate`` uses it too: its nodes' marks are the positions it reports."""


# libyaml's parser when PyYAML was built with it (the wheels are): the same documents
# and constructors in a tenth of the time (~35 ms of every `workflows run` for the
# application's template); its marks inside block scalars differ, so `validate`
# keeps the pure-Python reader above
_CSafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _FastLoader(_CSafeLoader):  # type: ignore[misc]
    pass


def _construct(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> IntrinsicTag:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return IntrinsicTag(suffix, value)


TemplateLoader.add_multi_constructor("!", _construct)
_FastLoader.add_multi_constructor("!", _construct)


@dataclass(frozen=True)
class SqsSource:
    queue: str  # logical id of the queue
    batch_size: int
    report_failures: bool


@dataclass(frozen=True)
class ApiEvent:
    """An ``Api`` event of a function: one method on one resource of the REST API."""

    name: str  # the event's key under Events
    path: str  # resource path template: /orders/{orderId}, /{proxy+}
    method: str  # upper case: GET, POST, ..., or ANY


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    handler: str  # module.path.function
    environment: dict[str, str]
    timeout: int
    sqs_sources: list[SqsSource] = field(default_factory=list)
    api_events: list[ApiEvent] = field(default_factory=list)  # REST API (Type: Api) only
    reserved_concurrency: int | None = None  # ReservedConcurrentExecutions, when declared

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.logical_id}"


@dataclass(frozen=True)
class EventRule:
    name: str
    bus: str  # bus name
    pattern: dict[str, Any]


@dataclass(frozen=True)
class Schedule:
    name: str
    expression: str
    timezone: str


@dataclass(frozen=True)
class StateMachineSpec:
    logical_id: str
    definition_path: Path
    substitutions: dict[str, str]
    rules: list[EventRule] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)

    @property
    def arn(self) -> str:
        return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{self.logical_id}"

    @property
    def name(self) -> str:
        return self.logical_id

    def definition_text(self) -> str:
        text = self.definition_path.read_text()
        return PLACEHOLDER.sub(lambda m: self.substitutions.get(m.group(1), m.group(0)), text)


@dataclass(frozen=True)
class Template:
    path: Path
    resources: dict[str, dict[str, Any]]
    parameters: dict[str, str]
    functions: dict[str, FunctionSpec]
    state_machines: dict[str, StateMachineSpec]
    physical_names: dict[str, str]  # what !Ref gives for each resource
    seeds: list[tuple[str, list[Any]]]  # Metadata/Workflows::Local/Seed: (handler, arguments)

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v.get("Type") == kind}

    def resolve(self, node: Any, where: str) -> Any:
        """``node`` with its ``!Ref``/``!GetAtt``/``!Sub`` resolved as CloudFormation would."""
        return Resolver(self.resources, self.parameters).value(node, where)

    def state_machine(self, reference: str) -> StateMachineSpec:
        """By logical id or by definition file name (``order_processing``)."""
        for spec in self.state_machines.values():
            stem = spec.definition_path.name.split(".")[0]
            if reference in (spec.logical_id, stem):
                return spec
        known = ", ".join(sorted(self.state_machines))
        raise TemplateError(f"no state machine {reference!r} in {self.path}; known: {known}")


class Resolver:
    """Resolves intrinsics against the template's resources and parameters."""

    def __init__(self, resources: dict[str, dict[str, Any]], parameters: dict[str, str]) -> None:
        self.resources = resources
        self.parameters = parameters

    def physical(self, logical_id: str) -> str:
        """What ``!Ref`` gives for a resource (type-dependent, as CloudFormation)."""
        if logical_id in self.parameters:
            return self.parameters[logical_id]
        if logical_id == "AWS::Region":
            return REGION
        if logical_id == "AWS::AccountId":
            return ACCOUNT
        resource = self.resources.get(logical_id)
        if resource is None:
            raise TemplateError(f"!Ref {logical_id}: no such resource or parameter")
        kind = resource.get("Type", "")
        props = resource.get("Properties") or {}
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{logical_id}"
        if kind == "AWS::Events::EventBus":
            return str(self.value(props.get("Name", logical_id), logical_id))
        if kind == "AWS::Serverless::StateMachine":
            return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{logical_id}"
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{REGION}:{ACCOUNT}:{logical_id}"
        if kind == "AWS::S3::Bucket":
            # S3 names are lowercase; CloudFormation's generated ones are too
            return str(self.value(props.get("BucketName", logical_id.lower()), logical_id))
        return logical_id

    def attribute(self, logical_id: str, attribute: str) -> str:
        resource = self.resources.get(logical_id)
        if resource is None:
            raise TemplateError(f"!GetAtt {logical_id}.{attribute}: no such resource")
        kind = resource.get("Type", "")
        if kind == "AWS::Serverless::Function" and attribute == "Arn":
            return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id}"
        if kind == "AWS::SQS::Queue":
            if attribute == "Arn":
                return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{logical_id}"
            if attribute == "QueueName":
                return logical_id
        if kind == "AWS::Serverless::StateMachine" and attribute == "Name":
            return logical_id
        if kind == "AWS::S3::Bucket" and attribute == "Arn":
            return f"arn:aws:s3:::{self.physical(logical_id)}"
        if kind == "AWS::DynamoDB::Table" and attribute == "Arn":
            return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{logical_id}"
        raise TemplateError(f"!GetAtt {logical_id}.{attribute}: not supported locally")

    def value(self, node: Any, where: str) -> Any:
        if isinstance(node, IntrinsicTag):
            if node.name == "Ref":
                return self.physical(str(node.value))
            if node.name == "GetAtt":
                target = (
                    node.value if isinstance(node.value, list) else str(node.value).split(".", 1)
                )
                return self.attribute(str(target[0]), str(target[1]))
            if node.name == "Sub":
                template = node.value if isinstance(node.value, str) else node.value[0]
                extra = {} if isinstance(node.value, str) else node.value[1]
                return re.sub(
                    r"\$\{([^}]+)\}",
                    lambda m: str(
                        self.value(extra[m.group(1)], where)
                        if m.group(1) in extra
                        else self.attribute(*m.group(1).split(".", 1))
                        if "." in m.group(1) and not m.group(1).startswith("AWS::")
                        else self.physical(m.group(1))
                    ),
                    template,
                )
            raise TemplateError(f"{where}: !{node.name} is not supported locally")
        if isinstance(node, dict):
            return {k: self.value(v, f"{where}/{k}") for k, v in node.items()}
        if isinstance(node, list):
            return [self.value(v, where) for v in node]
        return node


def load_template(path: Path | str, overrides: dict[str, str] | None = None) -> Template:
    """Parse and resolve a SAM template; ``overrides`` set parameter values."""
    path = Path(path)
    if not path.is_file():
        raise TemplateError(f"no SAM template at {path}")
    raw = yaml.load(path.read_text(), Loader=_FastLoader)
    resources: dict[str, dict[str, Any]] = raw.get("Resources") or {}
    parameters = {
        name: str(spec.get("Default", "")) for name, spec in (raw.get("Parameters") or {}).items()
    }
    parameters.update(overrides or {})
    resolver = Resolver(resources, parameters)
    globals_fn = ((raw.get("Globals") or {}).get("Function")) or {}
    global_env = ((globals_fn.get("Environment") or {}).get("Variables")) or {}
    base = path.parent

    functions: dict[str, FunctionSpec] = {}
    machines: dict[str, StateMachineSpec] = {}
    for logical_id, resource in resources.items():
        props = resource.get("Properties") or {}
        kind = resource.get("Type")
        where = f"Resources/{logical_id}"
        if kind == "AWS::Serverless::Function":
            env_raw = {**global_env, **(((props.get("Environment") or {}).get("Variables")) or {})}
            env = {
                k: str(resolver.value(v, f"{where}/Environment/{k}")) for k, v in env_raw.items()
            }
            sources = []
            api_events = []
            for event_id, event in (props.get("Events") or {}).items():
                if event.get("Type") == "Api":
                    ev = resolver.value(event.get("Properties") or {}, f"{where}/Events/{event_id}")
                    api_path, method = ev.get("Path"), ev.get("Method")
                    if not isinstance(api_path, str) or not isinstance(method, str):
                        raise TemplateError(
                            f"{where}/Events/{event_id}: an Api event needs Path and Method"
                        )
                    api_events.append(ApiEvent(event_id, api_path, method.upper()))
                elif event.get("Type") == "SQS":
                    ev = event.get("Properties") or {}
                    queue = ev.get("Queue")
                    queue_id = (
                        queue.value[0]
                        if isinstance(queue, IntrinsicTag) and isinstance(queue.value, list)
                        else (
                            str(queue.value).split(".")[0]
                            if isinstance(queue, IntrinsicTag)
                            else str(queue)
                        )
                    )
                    sources.append(
                        SqsSource(
                            queue_id,
                            int(ev.get("BatchSize", 10)),
                            "ReportBatchItemFailures" in (ev.get("FunctionResponseTypes") or []),
                        )
                    )
            functions[logical_id] = FunctionSpec(
                logical_id,
                str(props.get("Handler") or globals_fn.get("Handler") or ""),
                env,
                int(props.get("Timeout", globals_fn.get("Timeout", 3))),
                sources,
                api_events,
                _reserved_concurrency(props.get("ReservedConcurrentExecutions")),
            )
        elif kind == "AWS::Serverless::StateMachine":
            uri = props.get("DefinitionUri")
            if not isinstance(uri, str):
                raise TemplateError(
                    f"{where}/DefinitionUri: a path to the .asl.json file is needed"
                )
            subs = {
                k: str(resolver.value(v, f"{where}/DefinitionSubstitutions/{k}"))
                for k, v in (props.get("DefinitionSubstitutions") or {}).items()
            }
            rules, schedules = [], []
            for event_id, event in (props.get("Events") or {}).items():
                ev = resolver.value(event.get("Properties") or {}, f"{where}/Events/{event_id}")
                if event.get("Type") in ("EventBridgeRule", "CloudWatchEvent"):
                    rules.append(
                        EventRule(event_id, ev.get("EventBusName", "default"), ev["Pattern"])
                    )
                elif event.get("Type") in ("Schedule", "ScheduleV2"):
                    schedules.append(
                        Schedule(
                            event_id,
                            ev["ScheduleExpression"],
                            ev.get("ScheduleExpressionTimezone", "UTC"),
                        )
                    )
            machines[logical_id] = StateMachineSpec(
                logical_id, (base / uri).resolve(), subs, rules, schedules
            )
    physical = {logical_id: resolver.physical(logical_id) for logical_id in resources}
    local = ((raw.get("Metadata") or {}).get("Workflows::Local")) or {}
    seeds = [
        (str(seed["Handler"]), list(resolver.value(seed.get("Arguments") or [], "Seed")))
        for seed in local.get("Seed") or []
    ]
    return Template(path, resources, parameters, functions, machines, physical, seeds)


def _reserved_concurrency(value: Any) -> int | None:
    """A function's ReservedConcurrentExecutions, when the template gives a number."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        return int(value)
    except ValueError:
        return None
