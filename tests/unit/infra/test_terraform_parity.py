"""The Terraform estate and the SAM template describe the same application.

DESIGN.md (Infrastructure): SAM for local development and quick deploys, Terraform for
production, "and a test checks that the two declare the same functions, state machines,
queues, rules and schedules". This is that test. No terraform binary is needed: every
``.tf`` under ``infra/terraform`` is parsed with python-hcl2 and the SAM template is read
with :func:`workflows.local.template.load_template`.

Both sides are reduced to one vocabulary before they are compared:

- a function is its handler (``fn:tasks.orders.validate_order.handler``);
- a state machine is its definition file (``sm:order_processing``);
- a table, queue or bus is its SAM logical id (``res:ApprovalQueue``). A Terraform
  resource is linked to it by name: its label is the logical id in snake_case without
  the type suffix (``ApprovalDeadLetterQueue`` -> ``aws_sqs_queue.approval_dead_letter``);
- a parameter is its SAM name (``param:SenderEmail`` <-> ``var.sender_email``);
- an ARN built from parts is its pattern with the parts named:
  ``arn:{partition}:states:{region}:{account}:execution:{sm:order_processing}:*`` is
  ``!Sub arn:${AWS::Partition}:...:execution:${OrderProcessingStateMachine.Name}:*`` in
  SAM and ``"arn:${data.aws_partition.current.partition}:...:${module.order_processing.name}:*"``
  in Terraform.

Every check collects all differences and names the resource on both sides, so that one
run says everything that has to change.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml
from hcl2.query import DocumentView
from hcl2.rules.functions import FunctionCallRule

from workflows.local.template import Template, load_template

REPO = Path(__file__).resolve().parents[3]
TERRAFORM = REPO / "infra" / "terraform"
SAM_TEMPLATE = REPO / "infra" / "sam" / "template.yaml"
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")

LAMBDA_MODULE = "modules/lambda_function"
STATE_MACHINE_MODULE = "modules/state_machine"
API_MODULE = "modules/api"
MESSAGING_MODULE = "modules/messaging"

# What the ARN parts that name no resource of the application are called in each.
SAM_PSEUDO = {"AWS::Partition": "partition", "AWS::Region": "region", "AWS::AccountId": "account"}
TF_PSEUDO = {
    "data.aws_partition.current.partition": "partition",
    "data.aws_region.current.name": "region",
    "data.aws_caller_identity.current.account_id": "account",
}
# The alarm actions: one optional topic in SAM, a required list in Terraform.
SAM_ALARM_ACTIONS, TF_ALARM_ACTIONS = "AlarmTopicArn", "alarm_actions"

# Terraform resource type -> (CloudFormation type, suffix the Terraform label drops).
KINDS = {
    "aws_dynamodb_table": ("AWS::DynamoDB::Table", "Table"),
    "aws_sqs_queue": ("AWS::SQS::Queue", "Queue"),
    "aws_cloudwatch_event_bus": ("AWS::Events::EventBus", "Bus"),
    "aws_s3_bucket": ("AWS::S3::Bucket", "Bucket"),
}

# The SAM policy templates the template uses: parameter and actions, as in
# samtranslator/policy_templates_data/policy_templates.json. A template not listed here
# fails the IAM check, so a new one is translated on purpose, not ignored.
SAM_POLICY_TEMPLATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "DynamoDBCrudPolicy": (
        "TableName",
        (
            "dynamodb:GetItem",
            "dynamodb:DeleteItem",
            "dynamodb:PutItem",
            "dynamodb:Scan",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:BatchGetItem",
            "dynamodb:DescribeTable",
            "dynamodb:ConditionCheckItem",
        ),
    ),
    "DynamoDBReadPolicy": (
        "TableName",
        (
            "dynamodb:GetItem",
            "dynamodb:Scan",
            "dynamodb:Query",
            "dynamodb:BatchGetItem",
            "dynamodb:DescribeTable",
        ),
    ),
    "SESCrudPolicy": (
        "IdentityName",  # on arn:${AWS::Partition}:ses:...:identity/${IdentityName}
        (
            "ses:GetIdentityVerificationAttributes",
            "ses:SendEmail",
            "ses:SendRawEmail",
            "ses:VerifyEmailIdentity",
        ),
    ),
    "LambdaInvokePolicy": ("FunctionName", ("lambda:InvokeFunction",)),
    "SQSSendMessagePolicy": ("QueueName", ("sqs:SendMessage*",)),
    "EventBridgePutEventsPolicy": ("EventBusName", ("events:PutEvents",)),
    "StepFunctionsExecutionPolicy": ("StateMachineName", ("states:StartExecution",)),
}
# What SAM attaches for an SQS event source (AWSLambdaSQSQueueExecutionRole, on "*").
SQS_POLLER_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
# Policy templates whose resource is an ARN SAM builds around the parameter.
SAM_POLICY_TEMPLATE_ARNS = {
    "SESCrudPolicy": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/{}",
}

Grant = tuple[str, str]  # (IAM action, target)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _stem(path: Path) -> str:
    return path.name.split(".")[0]


# ------------------------------------------------------------------------- Terraform


def _unquote(value: Any) -> Any:
    """hcl2 keeps string literals quoted (``'"abc"'``) and expressions as ``${...}``."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value[1:-1]
    return value


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {_unquote(k): _plain(v) for k, v in node.items() if not str(k).startswith("__")}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return _unquote(node)


def _expression(value: Any) -> str | None:
    """The expression of a value that is one ``${...}``; None for literals and templates."""
    if not (isinstance(value, str) and value.startswith("${") and value.endswith("}")):
        return None
    inner = value[2:-1]
    try:
        DocumentView.parse(f"x = {inner}\n")
    except Exception:  # "${a}-${b}" is a template, not one expression
        return None
    return inner


def _call(value: Any, name: str) -> list[Any] | None:
    """The arguments (as hcl2 serialises values) when ``value`` is a call to ``name``."""
    inner = _expression(value)
    if inner is None or not inner.startswith(f"{name}("):
        return None
    calls = [
        c for c in DocumentView.parse(f"x = {inner}\n").find_all(FunctionCallRule) if c.name == name
    ]
    return [_plain(arg.to_dict()) for arg in calls[0].args]


@cache
def _parse(text: str) -> dict[str, list[Any]]:
    """One ``.tf`` file, literals unquoted (cached: the copies in the tests share files)."""
    parsed: dict[str, list[Any]] = _plain(hcl2.loads(text))
    return parsed


def _blocks(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = body.get(name) or []
    return value if isinstance(value, list) else [value]


@dataclass
class Module:
    """One Terraform module directory, all its ``.tf`` files merged."""

    path: Path
    blocks: dict[str, list[Any]]

    @classmethod
    def load(cls, path: Path) -> Module:
        blocks: dict[str, list[Any]] = {}
        for tf in sorted(path.glob("*.tf")):
            for key, entries in _parse(tf.read_text(encoding="utf-8")).items():
                blocks.setdefault(key, []).extend(entries)
        return cls(path, blocks)

    def _labelled(self, block: str, kind: str | None = None) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for entry in self.blocks.get(block, []):
            scope = entry.get(kind, {}) if kind else entry
            found.update(scope)
        return found

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return self._labelled("resource", kind)

    def data_sources(self, kind: str) -> dict[str, dict[str, Any]]:
        return self._labelled("data", kind)

    @property
    def calls(self) -> dict[str, dict[str, Any]]:
        return self._labelled("module")

    @property
    def variables(self) -> dict[str, dict[str, Any]]:
        return self._labelled("variable")

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        return self._labelled("output")

    @property
    def locals(self) -> dict[str, Any]:
        return self._labelled("locals")

    def setting(self, call: dict[str, Any], name: str) -> Any:
        """What a module call passes for ``name``, else the variable's default."""
        if name in call:
            return call[name]
        return self.variables.get(name, {}).get("default")


REFERENCE = re.compile(
    r'module\.(?P<call>\w+)(?:\["(?P<key>[^"]+)"\])?\.(?P<output>\w+)'
    r"|var\.(?P<var>\w+)"
    r"|(?P<kind>aws_\w+)\.(?P<label>\w+)"
)


@dataclass
class Estate:
    """The Terraform root module and the modules it calls."""

    root: Module
    sam: Sam
    modules: dict[str, Module] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, sam: Sam) -> Estate:
        root = Module.load(path)
        modules = {
            name: Module.load((path / call["source"]).resolve())
            for name, call in root.calls.items()
        }
        return cls(root, sam, modules)

    def calls_of(self, source: str) -> dict[str, dict[str, Any]]:
        return {
            name: call
            for name, call in self.root.calls.items()
            if call["source"].rstrip("/").endswith(source)
        }

    def local(self, value: Any) -> Any:
        inner = _expression(value)
        match = re.fullmatch(r"local\.(\w+)(?:\.(\w+))?", inner or "")
        assert match, f"expected a local value, found {value!r}"
        found = self.root.locals[match[1]]
        return found[match[2]] if match[2] else found

    # --------------------------------------------------------------- functions

    def functions(self) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
        """(address, module call, per-instance settings) of every Lambda function."""
        for name, call in self.calls_of(LAMBDA_MODULE).items():
            if "for_each" in call:
                for key, spec in self.local(call["for_each"]).items():
                    yield f'module.{name}["{key}"]', call, spec
            else:
                yield f"module.{name}", call, {"handler": call["handler"]}

    def handler(self, call_name: str, key: str | None) -> str:
        call = self.root.calls[call_name]
        if key is None:
            return str(call["handler"])
        return str(self.local(call["for_each"])[key]["handler"])

    def definition(self, call: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
        """The ASL file and variables of a state machine's ``templatefile`` call."""
        args = _call(call.get("definition"), "templatefile")
        found = call.get("definition")
        assert args is not None, f"definition must be templatefile(...), found {found!r}"
        assert len(args) == 2, f"templatefile takes a file and variables, found {found!r}"
        path = Path(str(args[0]).replace("${path.root}", str(self.root.path))).resolve()
        return path, args[1]

    # ---------------------------------------------------------------- targets

    def targets(self, value: Any, where: str) -> set[str]:
        """What a value names: functions, state machines, SAM resources, parameters."""
        if not isinstance(value, str) or "${" not in value:
            return {"*"} if value == "*" else {f"literal:{value}"}
        if value.startswith("arn:"):
            return {self.arn_pattern(value, where)}
        found: set[str] = set()
        for ref in REFERENCE.finditer(value):
            if ref["call"]:
                found.add(self._module_target(ref["call"], ref["key"], ref["output"], where))
            elif ref["var"]:
                found.add(f"param:{_camel(ref['var'])}")
            elif ref["kind"] in KINDS:
                found.add(self.sam.resource_for(ref["kind"], ref["label"]))
        return found

    def arn_pattern(self, value: str, where: str) -> str:
        """``arn:${data.aws_partition...}:...:${module.x.name}:*`` with its parts named."""

        def part(match: re.Match[str]) -> str:
            inner = match[1]
            if inner in TF_PSEUDO:
                return f"{{{TF_PSEUDO[inner]}}}"
            return f"{{{self.target('${' + inner + '}', where)}}}"

        return PLACEHOLDER.sub(part, value)

    def target(self, value: Any, where: str) -> str:
        found = self.targets(value, where)
        assert len(found) == 1, f"{where}: {value!r} should name one thing, names {found}"
        return found.pop()

    def _module_target(self, call_name: str, key: str | None, output: str, where: str) -> str:
        call = self.root.calls.get(call_name)
        assert call is not None, f"{where}: no module {call_name!r}"
        source = call["source"].rstrip("/")
        if source.endswith(LAMBDA_MODULE):
            return f"fn:{self.handler(call_name, key)}"
        if source.endswith(STATE_MACHINE_MODULE):
            return f"sm:{_stem(self.definition(call)[0])}"
        module = self.modules[call_name]
        assert output in module.outputs, f"{where}: module.{call_name} has no output {output!r}"
        return self.target(module.outputs[output]["value"], f"module.{call_name}.{output}")

    def all_resources(self, kind: str) -> dict[str, tuple[str, dict[str, Any]]]:
        """Resources of one type in every module: label -> (module name, body)."""
        found: dict[str, tuple[str, dict[str, Any]]] = {}
        distinct = {module.path: name for name, module in self.modules.items()}
        for name, module in [
            ("root", self.root),
            *((n, self.modules[n]) for n in distinct.values()),
        ]:
            for label, body in module.resources(kind).items():
                assert label not in found, f"{kind}.{label} is declared in two modules"
                found[label] = (name, body)
        return found

    # ------------------------------------------------------------------ grants

    def statements(self, value: Any, spec: dict[str, Any], where: str) -> list[dict[str, Any]]:
        """The policy statements a module call passes."""
        if value is None:
            return []
        if isinstance(value, list):
            return [self.local(item) for item in value]
        match = re.fullmatch(
            r"\[for (\w+) in each\.value\.(\w+) : local\.(\w+)\[\1\]\]", _expression(value) or ""
        )
        assert match, f"{where}: cannot read policy_statements {value!r}"
        group = self.root.locals[match[3]]
        return [group[name] for name in spec[match[2]]]

    def grants(self, statements: list[dict[str, Any]], where: str) -> set[Grant]:
        pairs: set[Grant] = set()
        for statement in statements:
            actions = statement["actions"]
            if isinstance(actions, str):
                actions = self.local(actions)
            for resource in statement["resources"]:
                for target in self.targets(resource, where) or {"*"}:
                    pairs |= {(action, target) for action in actions}
        return pairs


# ------------------------------------------------------------------------------ SAM


@dataclass(frozen=True)
class Tag:
    """A CloudFormation short-form function as written (``!Ref X`` is Tag("Ref", "X"))."""

    name: str
    value: Any


class _TagKeepingLoader(yaml.SafeLoader):
    """Reads the template as written (Globals, layer metadata)."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Tag:
    if isinstance(node, yaml.ScalarNode):
        return Tag(suffix, loader.construct_scalar(node))
    if isinstance(node, yaml.SequenceNode):
        return Tag(suffix, loader.construct_sequence(node, deep=True))
    return Tag(suffix, loader.construct_mapping(node, deep=True))  # type: ignore[arg-type]


_TagKeepingLoader.add_multi_constructor("!", _tag)


@dataclass
class Sam:
    """The SAM template, resolved with a sentinel value for every parameter."""

    template: Template
    globals: dict[str, Any]
    names: dict[str, str]  # resolved value -> target
    raw: dict[str, Any] = field(default_factory=dict)  # as written, tags kept

    @classmethod
    def load(cls, path: Path) -> Sam:
        parameters = load_template(path).parameters
        template = load_template(path, overrides={p: f"<param:{p}>" for p in parameters})
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_TagKeepingLoader)
        sam = cls(template, (raw.get("Globals") or {}).get("Function") or {}, {}, raw)
        for logical_id, value in template.physical_names.items():
            sam.names.setdefault(value, sam.logical(logical_id))
        for function in template.functions.values():
            sam.names[function.arn] = f"fn:{function.handler}"
        for machine in template.state_machines.values():
            sam.names[machine.arn] = f"sm:{_stem(machine.definition_path)}"
        return sam

    def logical(self, logical_id: str) -> str:
        """The target of a parameter or resource, by its logical id."""
        if logical_id in self.template.parameters:
            return f"param:{logical_id}"
        if logical_id in self.template.functions:
            return f"fn:{self.template.functions[logical_id].handler}"
        if logical_id in self.template.state_machines:
            return f"sm:{_stem(self.template.state_machines[logical_id].definition_path)}"
        return f"res:{logical_id}"

    def target(self, resolved: str) -> str:
        """The target of a resolved value (a substitution, an environment variable)."""
        if resolved in self.names:
            return self.names[resolved]
        match = re.fullmatch(r"<param:(\w+)>", resolved)
        return f"param:{match[1]}" if match else f"literal:{resolved}"

    def reference(self, node: Any) -> str:
        """The target of an unresolved ``!Ref``/``!GetAtt`` (read by its name and value)."""
        name, value = getattr(node, "name", None), getattr(node, "value", None)
        if name == "Ref":
            return self.logical(str(value))
        if name == "GetAtt":
            return self.logical(str(value[0] if isinstance(value, list) else value).split(".")[0])
        if name == "Sub":
            return self.arn_pattern(value)
        return "*" if node == "*" else f"literal:{node}"

    def arn_pattern(self, value: Any) -> str:
        """``!Sub arn:${AWS::Partition}:...:${X.Name}:*`` with its parts named."""
        text, extra = (value, {}) if isinstance(value, str) else (value[0], value[1])

        def part(match: re.Match[str]) -> str:
            inner = match[1]
            if inner in SAM_PSEUDO:
                return f"{{{SAM_PSEUDO[inner]}}}"
            if inner in extra:
                return f"{{{self.reference(extra[inner])}}}"
            return f"{{{self.logical(inner.split('.')[0])}}}"

        return PLACEHOLDER.sub(part, text)

    def event(self, machine: str, name: str) -> dict[str, Any]:
        """The Properties of a state machine's event, as written."""
        props = self.template.resources[machine].get("Properties") or {}
        return ((props.get("Events") or {}).get(name) or {}).get("Properties") or {}

    def resource_for(self, kind: str, label: str) -> str:
        cfn_type, suffix = KINDS[kind]
        for logical_id in self.template.of_type(cfn_type):
            if _snake(logical_id.removesuffix(suffix)) == label:
                return f"res:{logical_id}"
        return f"terraform:{kind}.{label}"

    def label_for(self, logical_id: str, suffix: str) -> str:
        return _snake(logical_id.removesuffix(suffix))

    def grants(self, logical_id: str) -> set[Grant]:
        props = self.template.resources[logical_id].get("Properties") or {}
        pairs: set[Grant] = set()
        for policy in props.get("Policies") or []:
            assert isinstance(policy, dict), f"{logical_id}: managed policy {policy!r} untranslated"
            for name, args in policy.items():
                if name == "Statement":
                    for statement in args:
                        actions = statement["Action"]
                        resources = statement["Resource"]
                        for action in [actions] if isinstance(actions, str) else actions:
                            listed = resources if isinstance(resources, list) else [resources]
                            for resource in listed:
                                pairs.add((action, self.reference(resource)))
                    continue
                assert name in SAM_POLICY_TEMPLATES, (
                    f"{logical_id}: SAM policy template {name} is not translated by this test"
                )
                parameter, actions = SAM_POLICY_TEMPLATES[name]
                target = self.reference(args[parameter])
                if name in SAM_POLICY_TEMPLATE_ARNS:
                    arn = SAM_POLICY_TEMPLATE_ARNS[name].replace("{}", "${Parameter}")
                    target = self.arn_pattern([arn, {"Parameter": args[parameter]}])
                pairs |= {(a, target) for a in actions}
        function = self.template.functions.get(logical_id)
        for source in function.sqs_sources if function else []:
            pairs |= {(a, f"res:{source.queue}") for a in SQS_POLLER_ACTIONS}
        return pairs


def _grant_problems(owner: str, sam: set[Grant], terraform: set[Grant]) -> list[str]:
    """Terraform grants what SAM grants, on the same resources (a ``*`` in one and a
    resource in the other is a difference: both must be scoped). Terraform may name the
    one action SAM's template grants with a wildcard (``sqs:SendMessage*``)."""

    def covered(action: str, target: str, by: set[Grant], wildcard_side: bool) -> bool:
        for other_action, other_target in by:
            pattern, concrete = (other_action, action) if wildcard_side else (action, other_action)
            if fnmatch.fnmatchcase(concrete, pattern) and target == other_target:
                return True
        return False

    problems = [
        f"{owner}: Terraform grants {action} on {target}; SAM does not"
        for action, target in sorted(terraform)
        if not covered(action, target, sam, wildcard_side=True)
    ]
    problems += [
        f"{owner}: SAM grants {action} on {target}; Terraform does not"
        for action, target in sorted(sam)
        if not covered(action, target, terraform, wildcard_side=False)
    ]
    return problems


# --------------------------------------------------------------------------- checks


def _function_problems(sam: Sam, tf: Estate) -> list[str]:
    problems: list[str] = []
    by_handler = {f.handler: f for f in sam.template.functions.values()}
    terraform = {spec["handler"]: (address, call, spec) for address, call, spec in tf.functions()}
    # spec_tf below: the function's entry in local.functions (for each.value lookups).
    for handler in sorted(by_handler.keys() - terraform.keys()):
        problems.append(
            f"SAM {by_handler[handler].logical_id} ({handler}) has no Terraform function"
        )
    for handler in sorted(terraform.keys() - by_handler.keys()):
        problems.append(f"Terraform {terraform[handler][0]} ({handler}) is not in the SAM template")

    module = tf.modules[next(iter(tf.calls_of(LAMBDA_MODULE)))]
    tracing = _blocks(module.resources("aws_lambda_function")["this"], "tracing_config")
    for handler in sorted(by_handler.keys() & terraform.keys()):
        spec = by_handler[handler]
        address, call, spec_tf = terraform[handler]
        props = sam.template.resources[spec.logical_id].get("Properties") or {}

        def sam_setting(name: str, props: dict[str, Any] = props) -> Any:
            return props.get(name, sam.globals.get(name))

        settings = {
            "runtime": (sam_setting("Runtime"), module.setting(call, "runtime")),
            "architecture": (
                (sam_setting("Architectures") or ["x86_64"])[0],
                module.setting(call, "architecture"),
            ),
            "timeout": (sam_setting("Timeout"), module.setting(call, "timeout")),
            "memory_size": (sam_setting("MemorySize"), module.setting(call, "memory_size")),
            "tracing": (sam_setting("Tracing"), tracing[0]["mode"] if tracing else None),
        }
        for name, (sam_value, tf_value) in settings.items():
            if sam_value != tf_value:
                problems.append(
                    f"{spec.logical_id} / {address}: {name} is {sam_value!r} in SAM, "
                    f"{tf_value!r} in Terraform"
                )

        sam_env = {k: sam.target(v) for k, v in spec.environment.items()}
        tf_env = {
            k: tf.target(v, f"{address} environment {k}")
            for k, v in _environment(tf, call["environment"], spec_tf).items()
        }
        for name in sorted(sam_env.keys() | tf_env.keys()):
            if sam_env.get(name) != tf_env.get(name):
                problems.append(
                    f"{spec.logical_id} / {address}: environment {name} is "
                    f"{sam_env.get(name, 'unset')} in SAM, {tf_env.get(name, 'unset')} in Terraform"
                )
    return problems


def _environment(tf: Estate, value: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """A function's environment: a map, ``local.x``, ``merge(...)`` of those, or the
    instance's own variables (``lookup(each.value, "environment", {})``)."""
    if isinstance(value, dict):
        return value
    merged = _call(value, "merge")
    if merged is not None:
        env: dict[str, Any] = {}
        for part in merged:
            env.update(_environment(tf, part, spec))
        return env
    looked_up = _call(value, "lookup")
    if looked_up is not None:
        assert looked_up[0] == "${each.value}", f"cannot read environment {value!r}"
        return dict(spec.get(looked_up[1]) or looked_up[2] or {})
    return dict(tf.local(value))


def _machines(sam: Sam, tf: Estate) -> Iterator[tuple[str, Any, str, dict[str, Any]]]:
    """(definition stem, SAM spec, Terraform module name, call) of the machines in both."""
    sam_by_stem = {_stem(m.definition_path): m for m in sam.template.state_machines.values()}
    tf_by_stem = {
        _stem(tf.definition(c)[0]): (n, c) for n, c in tf.calls_of(STATE_MACHINE_MODULE).items()
    }
    for stem in sorted(sam_by_stem.keys() & tf_by_stem.keys()):
        yield stem, sam_by_stem[stem], *tf_by_stem[stem]


def _state_machine_problems(sam: Sam, tf: Estate) -> list[str]:
    problems: list[str] = []
    sam_files = {m.definition_path.name: m.logical_id for m in sam.template.state_machines.values()}
    tf_paths = {n: tf.definition(c)[0] for n, c in tf.calls_of(STATE_MACHINE_MODULE).items()}
    tf_files = {path.name: name for name, path in tf_paths.items()}
    for file in sorted(sam_files.keys() - tf_files.keys()):
        problems.append(f"SAM {sam_files[file]} ({file}) has no Terraform state machine")
    for file in sorted(tf_files.keys() - sam_files.keys()):
        problems.append(f"Terraform module.{tf_files[file]} ({file}) is not in SAM")
    definitions = (tf.root.path / ".." / ".." / "state_machines").resolve()
    for name, path in sorted(tf_paths.items()):
        if not path.is_file() or path.parent != definitions:
            problems.append(f"module.{name}: {path} is not a file in state_machines/")
    module = tf.modules[next(iter(tf.calls_of(STATE_MACHINE_MODULE)))]
    machine = module.resources("aws_sfn_state_machine")["this"]
    if machine.get("definition") != "${var.definition}":
        problems.append(f"{module.path.name}: aws_sfn_state_machine.this must use var.definition")
    for stem, spec, name, call in _machines(sam, tf):
        sam_type = (sam.template.resources[spec.logical_id]["Properties"]).get("Type", "STANDARD")
        if sam_type != module.setting(call, "type"):
            problems.append(f"{spec.logical_id} / module.{name}: type differs")
        sam_names, tf_names = set(spec.substitutions), set(tf.definition(call)[1])
        if sam_names != tf_names:
            problems.append(
                f"{stem}: {spec.logical_id} substitutes {sorted(sam_names)}, module.{name} "
                f"templatefile passes {sorted(tf_names)}"
            )
    return problems


def _substitution_problems(sam: Sam, tf: Estate, lambdas: bool) -> list[str]:
    problems: list[str] = []
    for stem, spec, name, call in _machines(sam, tf):
        variables = tf.definition(call)[1]
        for variable in sorted(spec.substitutions.keys() & variables.keys()):
            sam_target = sam.target(spec.substitutions[variable])
            if sam_target.startswith("fn:") != lambdas:
                continue
            tf_target = tf.target(variables[variable], f"module.{name} {variable}")
            if sam_target != tf_target:
                problems.append(
                    f"{stem}: ${{{variable}}} is {sam_target} in SAM ({spec.logical_id}), "
                    f"{tf_target} in Terraform (module.{name})"
                )
    return problems


def _placeholder_problems(tf: Estate) -> list[str]:
    problems: list[str] = []
    for name, call in tf.calls_of(STATE_MACHINE_MODULE).items():
        path, variables = tf.definition(call)
        if not path.is_file():
            continue
        used = set(PLACEHOLDER.findall(path.read_text(encoding="utf-8")))
        if used != set(variables):
            problems.append(
                f"module.{name} ({path.name}): templatefile variables miss "
                f"{sorted(used - set(variables))} and have extra {sorted(set(variables) - used)}"
            )
    return problems


def _sam_table(props: dict[str, Any]) -> dict[str, Any]:
    keys = {k["KeyType"]: k["AttributeName"] for k in props["KeySchema"]}
    ttl = props.get("TimeToLiveSpecification") or {}
    return {
        "billing_mode": props.get("BillingMode", "PROVISIONED"),
        "key": (keys["HASH"], keys.get("RANGE")),
        "attributes": {
            a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]
        },
        "gsi": {
            g["IndexName"]: (
                *(
                    {k["KeyType"]: k["AttributeName"] for k in g["KeySchema"]}.get(t)
                    for t in ("HASH", "RANGE")
                ),
                g["Projection"]["ProjectionType"],
            )
            for g in props.get("GlobalSecondaryIndexes") or []
        },
        "ttl": ttl.get("AttributeName") if ttl.get("Enabled") else None,
        "point_in_time_recovery": bool(
            (props.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled")
        ),
        "encryption": bool((props.get("SSESpecification") or {}).get("SSEEnabled")),
    }


def _tf_table(body: dict[str, Any]) -> dict[str, Any]:
    ttl = _blocks(body, "ttl")
    pitr = _blocks(body, "point_in_time_recovery")
    sse = _blocks(body, "server_side_encryption")
    return {
        "billing_mode": body.get("billing_mode", "PROVISIONED"),
        "key": (body.get("hash_key"), body.get("range_key")),
        "attributes": {a["name"]: a["type"] for a in _blocks(body, "attribute")},
        "gsi": {
            g["name"]: (g.get("hash_key"), g.get("range_key"), g.get("projection_type"))
            for g in _blocks(body, "global_secondary_index")
        },
        "ttl": ttl[0]["attribute_name"] if ttl and ttl[0].get("enabled") else None,
        "point_in_time_recovery": bool(pitr and pitr[0].get("enabled")),
        "encryption": bool(sse and sse[0].get("enabled")),
    }


def _paired(
    sam: Sam, tf: Estate, kind: str, problems: list[str]
) -> Iterator[tuple[str, dict[str, Any], str, dict[str, Any]]]:
    """SAM resources and Terraform resources of one kind, paired by the naming rule."""
    cfn_type, suffix = KINDS[kind]
    sam_resources = sam.template.of_type(cfn_type)
    terraform = tf.all_resources(kind)
    labels = {sam.label_for(lid, suffix): lid for lid in sam_resources}
    for label in sorted(labels.keys() - terraform.keys()):
        problems.append(f"SAM {labels[label]} has no Terraform {kind}.{label}")
    for label in sorted(terraform.keys() - labels.keys()):
        problems.append(f"Terraform {kind}.{label} ({terraform[label][0]}) is not in SAM")
    for label in sorted(labels.keys() & terraform.keys()):
        lid = labels[label]
        yield (
            lid,
            sam_resources[lid].get("Properties") or {},
            f"{kind}.{label}",
            terraform[label][1],
        )


def _diff(owner: str, sam_value: dict[str, Any], tf_value: dict[str, Any]) -> list[str]:
    return [
        f"{owner}: {key} is {sam_value.get(key)!r} in SAM, {tf_value.get(key)!r} in Terraform"
        for key in sorted(sam_value.keys() | tf_value.keys())
        if sam_value.get(key) != tf_value.get(key)
    ]


def _table_problems(sam: Sam, tf: Estate) -> list[str]:
    problems: list[str] = []
    for lid, props, address, body in _paired(sam, tf, "aws_dynamodb_table", problems):
        tf_table = _tf_table(body)
        problems += _diff(f"{lid} / {address}", _sam_table(props), tf_table)
        if not (tf_table["point_in_time_recovery"] and tf_table["encryption"]):
            problems.append(f"{address}: production tables need PITR and SSE")
    return problems


def _queue_problems(sam: Sam, tf: Estate) -> list[str]:
    problems: list[str] = []
    for lid, props, address, body in _paired(sam, tf, "aws_sqs_queue", problems):
        redrive = props.get("RedrivePolicy")
        tf_redrive = _call(body.get("redrive_policy"), "jsonencode")
        sam_queue = {
            "visibility_timeout": props.get("VisibilityTimeout"),
            "retention": props.get("MessageRetentionPeriod"),
            "managed_sse": props.get("SqsManagedSseEnabled"),
            "redrive": (
                (sam.reference(redrive["deadLetterTargetArn"]), redrive["maxReceiveCount"])
                if redrive
                else None
            ),
        }
        tf_queue = {
            "visibility_timeout": body.get("visibility_timeout_seconds"),
            "retention": body.get("message_retention_seconds"),
            "managed_sse": body.get("sqs_managed_sse_enabled"),
            "redrive": (
                (
                    tf.target(tf_redrive[0]["deadLetterTargetArn"], address),
                    tf_redrive[0]["maxReceiveCount"],
                )
                if tf_redrive
                else None
            ),
        }
        problems += _diff(f"{lid} / {address}", sam_queue, tf_queue)
        if not body.get("sqs_managed_sse_enabled") and not body.get("kms_master_key_id"):
            problems.append(f"{address}: production queues need server-side encryption")
    return problems


def _bus_problems(sam: Sam, tf: Estate) -> list[str]:
    problems: list[str] = []
    list(_paired(sam, tf, "aws_cloudwatch_event_bus", problems))  # pairing reports the gaps
    return problems


def _bucket_problems(sam: Sam, tf: Estate) -> list[str]:
    """The buckets pair up; each blocks public access in both (Terraform: a
    public access block on the bucket)."""
    problems: list[str] = []
    blocks = {
        str(body.get("bucket"))
        for _, body in tf.all_resources("aws_s3_bucket_public_access_block").values()
        if all(
            body.get(k)
            for k in (
                "block_public_acls",
                "block_public_policy",
                "ignore_public_acls",
                "restrict_public_buckets",
            )
        )
    }
    for lid, props, address, _ in _paired(sam, tf, "aws_s3_bucket", problems):
        public = props.get("PublicAccessBlockConfiguration") or {}
        if not all(public.get(k) for k in PUBLIC_ACCESS_BLOCK):
            problems.append(f"SAM {lid}: public access is not blocked")
        if f"${{{address}.id}}" not in blocks:
            problems.append(f"Terraform {address}: public access is not blocked")
    return problems


PUBLIC_ACCESS_BLOCK = (
    "BlockPublicAcls",
    "BlockPublicPolicy",
    "IgnorePublicAcls",
    "RestrictPublicBuckets",
)


def _rule_problems(sam: Sam, tf: Estate) -> list[str]:
    problems: list[str] = []
    sam_rules = {
        (stem, rule.name): (
            sam.target(rule.bus),
            rule.pattern,
            *_sam_delivery(sam, spec.logical_id, rule.name),
        )
        for stem, spec, _, _ in _machines(sam, tf)
        for rule in spec.rules
    }
    tf_rules = {
        (stem, rule_name): (
            tf.target(rule["event_bus_name"], f"module.{name} event_rules.{rule_name}"),
            rule["event_pattern"],
            *_tf_delivery(tf, rule, f"module.{name} event_rules.{rule_name}"),
        )
        for stem, _, name, call in _machines(sam, tf)
        for rule_name, rule in (call.get("event_rules") or {}).items()
    }
    for key in sorted(sam_rules.keys() | tf_rules.keys()):
        if sam_rules.get(key) != tf_rules.get(key):
            problems.append(
                f"{key[0]}: rule {key[1]} (bus, pattern, retry policy, dead-letter queue) is "
                f"{sam_rules.get(key)} in SAM, {tf_rules.get(key)} in Terraform"
            )
    problems += _undelivered_problems("rule", sam_rules)
    module = tf.modules[next(iter(tf.calls_of(STATE_MACHINE_MODULE)))]
    rule = module.resources("aws_cloudwatch_event_rule")["this"]
    target = module.resources("aws_cloudwatch_event_target")["this"]
    wiring = {
        "rule for_each": (rule.get("for_each"), "${var.event_rules}"),
        "rule event_pattern": (
            rule.get("event_pattern"),
            "${jsonencode(each.value.event_pattern)}",
        ),
        "rule event_bus_name": (rule.get("event_bus_name"), "${each.value.event_bus_name}"),
        "target arn": (target.get("arn"), "${aws_sfn_state_machine.this.arn}"),
        "target rule": (target.get("rule"), "${aws_cloudwatch_event_rule.this[each.key].name}"),
        **_tf_delivery_wiring(target),
    }
    problems += [
        f"{module.path.name}: {what} is {found!r}, expected {expected!r}"
        for what, (found, expected) in wiring.items()
        if found != expected
    ]
    return problems


def _schedule_problems(sam: Sam, tf: Estate) -> list[str]:
    problems: list[str] = []
    sam_schedules = {
        (stem, s.name): (
            s.expression,
            s.timezone,
            *_sam_delivery(sam, spec.logical_id, s.name),
        )
        for stem, spec, _, _ in _machines(sam, tf)
        for s in spec.schedules
    }
    tf_schedules = {
        (stem, key): (
            s["expression"],
            s["timezone"],
            *_tf_delivery(tf, s, f"module.{name} schedules.{key}"),
        )
        for stem, _, name, call in _machines(sam, tf)
        for key, s in (call.get("schedules") or {}).items()
    }
    for key in sorted(sam_schedules.keys() | tf_schedules.keys()):
        if sam_schedules.get(key) != tf_schedules.get(key):
            problems.append(
                f"{key[0]}: schedule {key[1]} (expression, time zone, retry policy, "
                f"dead-letter queue) is {sam_schedules.get(key)} in SAM, "
                f"{tf_schedules.get(key)} in Terraform"
            )
    problems += _undelivered_problems("schedule", sam_schedules)
    module = tf.modules[next(iter(tf.calls_of(STATE_MACHINE_MODULE)))]
    schedule = module.resources("aws_scheduler_schedule")["this"]
    wiring = {
        "for_each": (schedule.get("for_each"), "${var.schedules}"),
        "schedule_expression": (schedule.get("schedule_expression"), "${each.value.expression}"),
        "schedule_expression_timezone": (
            schedule.get("schedule_expression_timezone"),
            "${each.value.timezone}",
        ),
        "target arn": (
            (_blocks(schedule, "target") or [{}])[0].get("arn"),
            "${aws_sfn_state_machine.this.arn}",
        ),
        **_tf_delivery_wiring((_blocks(schedule, "target") or [{}])[0]),
    }
    problems += [
        f"{module.path.name}: aws_scheduler_schedule {what} is {found!r}, expected {expected!r}"
        for what, (found, expected) in wiring.items()
        if found != expected
    ]
    # SAM gives the role it generates for a ScheduleV2 event sqs:SendMessage on the
    # dead-letter queue (Scheduler delivers with the execution role).
    role_policy = module.resources("aws_iam_role_policy").get("scheduler", {})
    document = role_policy.get("policy", "")
    match = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(\w+)\.json\}", str(document))
    sends = [
        s
        for s in _document_statements(module, match[1] if match else "")
        if s.get("actions") == ["sqs:SendMessage"]
        and "schedule.dead_letter_queue_arn" in str(s.get("resources"))
        and "var.schedules" in str(s.get("resources"))
    ]
    if not sends:
        problems.append(
            f"{module.path.name}: the scheduler role may not send to the schedules' "
            "dead-letter queues (sqs:SendMessage on each.dead_letter_queue_arn)"
        )
    return problems


def _sam_delivery(sam: Sam, machine: str, event: str) -> tuple[Any, Any, str | None]:
    """(MaximumRetryAttempts, MaximumEventAgeInSeconds, dead-letter queue) of an event."""
    props = sam.event(machine, event)
    retry = props.get("RetryPolicy") or {}
    dead_letter = (props.get("DeadLetterConfig") or {}).get("Arn")
    return (
        retry.get("MaximumRetryAttempts"),
        retry.get("MaximumEventAgeInSeconds"),
        sam.reference(dead_letter) if dead_letter is not None else None,
    )


def _tf_delivery(tf: Estate, event: dict[str, Any], where: str) -> tuple[Any, Any, str | None]:
    retry = event.get("retry_policy") or {}
    dead_letter = event.get("dead_letter_queue_arn")
    return (
        retry.get("maximum_retry_attempts"),
        retry.get("maximum_event_age_in_seconds"),
        tf.target(dead_letter, where) if dead_letter is not None else None,
    )


def _undelivered_problems(kind: str, events: dict[tuple[str, str], tuple[Any, ...]]) -> list[str]:
    """Operators rely on retries and a dead-letter queue for every rule and schedule."""
    problems = []
    for (stem, name), value in sorted(events.items()):
        attempts, age, dead_letter = value[-3:]
        if attempts is None or age is None:
            problems.append(f"{stem}: {kind} {name} has no RetryPolicy in SAM")
        if dead_letter is None or not dead_letter.startswith("res:"):
            problems.append(f"{stem}: {kind} {name} has no dead-letter queue in SAM")
    return problems


def _tf_delivery_wiring(target: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The retry policy and dead-letter queue of a module's target come from its input."""
    retry = (_blocks(target, "retry_policy") or [{}])[0]
    dead_letter = (_blocks(target, "dead_letter_config") or [{}])[0]
    return {
        "target retry attempts": (
            retry.get("maximum_retry_attempts"),
            "${each.value.retry_policy.maximum_retry_attempts}",
        ),
        "target event age": (
            retry.get("maximum_event_age_in_seconds"),
            "${each.value.retry_policy.maximum_event_age_in_seconds}",
        ),
        "target dead-letter queue": (
            dead_letter.get("arn"),
            "${each.value.dead_letter_queue_arn}",
        ),
    }


def _document_statements(module: Module, label: str) -> list[dict[str, Any]]:
    """The statements of a module's ``aws_iam_policy_document`` (dynamic ones as written)."""
    document = module.data_sources("aws_iam_policy_document").get(label) or {}
    found = list(_blocks(document, "statement"))
    for dynamic in _blocks(document, "dynamic"):
        for block in _blocks(dynamic.get("statement") or {}, "content"):
            found.append(block)
    return found


def _queue_policy_problems(sam: Sam, tf: Estate) -> list[str]:
    """Who may send to which queue: SAM's AWS::SQS::QueuePolicy and Terraform's
    aws_sqs_queue_policy (an aws_iam_policy_document) grant the same. Every queue a rule
    uses as its dead-letter queue lets EventBridge send, for the rules of its bus only."""
    problems: list[str] = []
    sam_grants: set[tuple[str, ...]] = set()
    for lid in sam.template.of_type("AWS::SQS::QueuePolicy"):
        props = sam.raw["Resources"][lid].get("Properties") or {}
        queues = {sam.reference(q) for q in props.get("Queues") or []}
        for s in (props.get("PolicyDocument") or {}).get("Statement") or []:
            actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            services = (s.get("Principal") or {}).get("Service")
            services = services if isinstance(services, list) else [services]
            conditions = {
                (test, key, sam.reference(v) if isinstance(v, Tag) else f"literal:{v}")
                for test, pairs in (s.get("Condition") or {}).items()
                for key, v in pairs.items()
            }
            for queue in queues:
                if s.get("Effect") != "Allow" or sam.reference(s["Resource"]) != queue:
                    problems.append(f"{lid}: statement {s.get('Sid')} is not an Allow on {queue}")
                sam_grants |= {
                    (queue, str(service), action, *condition)
                    for service in services
                    for action in actions
                    for condition in conditions
                }
    tf_grants: set[tuple[str, ...]] = set()
    for name, module in [("root", tf.root), *tf.modules.items()]:
        for label, body in module.resources("aws_sqs_queue_policy").items():
            where = f"{name}: aws_sqs_queue_policy.{label}"
            queue = tf.target(body["queue_url"], where)
            match = re.fullmatch(
                r"\$\{data\.aws_iam_policy_document\.(\w+)\.json\}", body["policy"]
            )
            assert match, f"{where}: policy must be an aws_iam_policy_document"
            for s in _document_statements(module, match[1]):
                services = [
                    i
                    for p in _blocks(s, "principals")
                    if p["type"] == "Service"
                    for i in p["identifiers"]
                ]
                conditions = {
                    (c["test"], c["variable"], tf.target(v, where))
                    for c in _blocks(s, "condition")
                    for v in c["values"]
                }
                if [tf.target(r, where) for r in s["resources"]] != [queue]:
                    problems.append(f"{where}: a statement is not on {queue}")
                tf_grants |= {
                    (queue, service, action, *condition)
                    for service in services
                    for action in s["actions"]
                    for condition in conditions
                }
    problems += [f"queue policy: only SAM allows {g}" for g in sorted(sam_grants - tf_grants)]
    problems += [f"queue policy: only Terraform allows {g}" for g in sorted(tf_grants - sam_grants)]

    rule_queues = {
        value[-1]
        for stem, spec, _, _ in _machines(sam, tf)
        for rule in spec.rules
        for value in [_sam_delivery(sam, spec.logical_id, rule.name)]
        if value[-1]
    }
    for queue in sorted(rule_queues):
        buses = {sam.logical(lid) for lid in sam.template.of_type("AWS::Events::EventBus")}
        allowed = {
            g[3:]
            for g in sam_grants
            if g[0] == queue and g[1] == "events.amazonaws.com" and g[2] == "sqs:SendMessage"
        }
        expected = {
            (
                "ArnLike",
                "aws:SourceArn",
                f"arn:{{partition}}:events:{{region}}:{{account}}:rule/{{{bus}}}/*",
            )
            for bus in buses
        }
        if not allowed & expected:
            problems.append(
                f"{queue}: a rule's dead-letter queue, but EventBridge may not send to it "
                f"for the rules of the bus (found {sorted(allowed)})"
            )
    return problems


def _event_source_problems(sam: Sam, tf: Estate) -> list[str]:
    sam_sources = {
        (f"fn:{f.handler}", f"res:{s.queue}"): (s.batch_size, s.report_failures)
        for f in sam.template.functions.values()
        for s in f.sqs_sources
    }
    tf_sources = {
        (
            tf.target(m["function_name"], f"aws_lambda_event_source_mapping.{label}"),
            tf.target(m["event_source_arn"], f"aws_lambda_event_source_mapping.{label}"),
        ): (
            m.get("batch_size"),
            "ReportBatchItemFailures" in (m.get("function_response_types") or []),
        )
        for label, (_, m) in tf.all_resources("aws_lambda_event_source_mapping").items()
    }
    return [
        f"SQS source {key[1]} -> {key[0]}: (batch size, partial failures) is "
        f"{sam_sources.get(key)} in SAM, {tf_sources.get(key)} in Terraform"
        for key in sorted(sam_sources.keys() | tf_sources.keys())
        if sam_sources.get(key) != tf_sources.get(key)
    ]


def _api_problems(sam: Sam, tf: Estate) -> list[str]:
    sam_routes = {
        (f"fn:{f.handler}", e.method, e.path)
        for f in sam.template.functions.values()
        for e in f.api_events
    }
    tf_routes = set()
    for name, call in tf.calls_of(API_MODULE).items():
        module = tf.modules[name]
        tf_routes.add(
            (
                tf.target(call["function_name"], f"module.{name} function_name"),
                str(module.setting(call, "http_method")).upper(),
                module.setting(call, "resource_path"),
            )
        )
    return [f"API route {route} is only in SAM" for route in sorted(sam_routes - tf_routes)] + [
        f"API route {route} is only in Terraform" for route in sorted(tf_routes - sam_routes)
    ]


def _iam_problems(sam: Sam, tf: Estate) -> list[str]:
    problems: list[str] = []
    sam_functions = {f.handler: f.logical_id for f in sam.template.functions.values()}
    for address, call, spec in tf.functions():
        logical_id = sam_functions.get(spec["handler"])
        if logical_id is None:
            continue  # reported by the function check
        statements = tf.statements(call.get("policy_statements"), spec, address)
        problems += _grant_problems(
            f"{logical_id} / {address}", sam.grants(logical_id), tf.grants(statements, address)
        )
    for _, spec, name, call in _machines(sam, tf):
        where = f"module.{name}"
        grants = tf.grants(tf.statements(call.get("policy_statements"), {}, where), where)
        grants |= {
            ("lambda:InvokeFunction", tf.target(arn, where))
            for arn in call.get("invoke_function_arns") or []
        }
        problems += _grant_problems(
            f"{spec.logical_id} / {where}", sam.grants(spec.logical_id), grants
        )
    return problems


# An alarm reduced to what it watches and when it fires: (namespace, metric, dimension,
# what the dimension names, statistic, period, evaluation periods, comparison,
# threshold, missing data, notifies the alarm parameter on ALARM and OK).
Alarm = tuple[Any, ...]


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _sam_alarms(sam: Sam) -> dict[Alarm, str]:
    found: dict[Alarm, str] = {}

    def actions(node: Any) -> set[str]:
        if isinstance(node, Tag) and node.name == "If":  # [condition, then, else]
            node = node.value[1]
        return {sam.reference(a) for a in node or []}

    for lid, resource in sam.template.of_type("AWS::CloudWatch::Alarm").items():
        props = resource.get("Properties") or {}
        raw = (sam.raw.get("Resources") or {}).get(lid, {}).get("Properties") or {}
        dimensions = raw.get("Dimensions") or []
        assert len(dimensions) == 1, f"{lid}: one dimension expected"
        threshold = raw.get("Threshold")
        notify = f"param:{SAM_ALARM_ACTIONS}"
        alarm: Alarm = (
            props.get("Namespace"),
            props.get("MetricName"),
            dimensions[0]["Name"],
            sam.reference(dimensions[0]["Value"]),
            props.get("Statistic"),
            _number(props.get("Period")),
            _number(props.get("EvaluationPeriods")),
            props.get("ComparisonOperator"),
            sam.reference(threshold) if isinstance(threshold, Tag) else _number(threshold),
            props.get("TreatMissingData"),
            actions(raw.get("AlarmActions")) == actions(raw.get("OKActions")) == {notify},
        )
        found[alarm] = lid
    return found


def _tf_module_value(tf: Estate, name: str, call: dict[str, Any] | None, raw: Any) -> Any:
    """A value inside a module (or the root, ``call`` None) as its caller sets it."""
    module = tf.modules[name] if call is not None else tf.root
    where = f"module.{name}" if call is not None else "root"
    variable = re.fullmatch(r"\$\{var\.(\w+)\}", str(raw))
    if variable and call is not None:
        raw = module.setting(call, variable[1])
    machine = call is not None and call["source"].rstrip("/").endswith(STATE_MACHINE_MODULE)
    if raw == "${aws_sfn_state_machine.this.arn}" and machine:
        assert call is not None
        return f"sm:{_stem(tf.definition(call)[0])}"
    if isinstance(raw, str) and "${" in raw:
        return tf.target(raw, where)
    return _number(raw)


def _tf_alarms(tf: Estate) -> dict[Alarm, str]:
    found: dict[Alarm, str] = {}
    calls: list[tuple[str, Module, dict[str, Any] | None]] = [("root", tf.root, None)]
    calls += [(name, tf.modules[name], call) for name, call in tf.root.calls.items()]
    notify = f"param:{_camel(TF_ALARM_ACTIONS)}"
    for name, module, call in calls:
        where = f"module.{name}" if call is not None else "root"
        for label, a in module.resources("aws_cloudwatch_metric_alarm").items():
            dimensions = a.get("dimensions") or {}
            assert len(dimensions) == 1, f"{where}: aws_cloudwatch_metric_alarm.{label}"
            ((dimension, named),) = dimensions.items()
            actions = [
                _tf_module_value(tf, name, call, a.get(key))
                for key in ("alarm_actions", "ok_actions")
            ]
            alarm: Alarm = (
                a.get("namespace"),
                a.get("metric_name"),
                dimension,
                _tf_module_value(tf, name, call, named),
                a.get("statistic"),
                _number(a.get("period")),
                _number(a.get("evaluation_periods")),
                a.get("comparison_operator"),
                _tf_module_value(tf, name, call, a.get("threshold")),
                a.get("treat_missing_data"),
                actions == [notify, notify],
            )
            found[alarm] = f"{where}: aws_cloudwatch_metric_alarm.{label}"
    return found


def _alarm_problems(sam: Sam, tf: Estate) -> list[str]:
    """The same alarms on both sides, and the ones operators rely on: failed and timed-out
    executions of every state machine, messages in every dead-letter queue."""
    problems: list[str] = []
    sam_alarms, tf_alarms = _sam_alarms(sam), _tf_alarms(tf)
    problems += [
        f"alarm {sam_alarms[a]} {a} is only in SAM"
        for a in sorted(sam_alarms.keys() - tf_alarms.keys(), key=str)
    ]
    problems += [
        f"alarm {tf_alarms[a]} {a} is only in Terraform"
        for a in sorted(tf_alarms.keys() - sam_alarms.keys(), key=str)
    ]
    watched = {(a[0], a[1], a[3]): a for a in sam_alarms}
    for spec in sam.template.state_machines.values():
        target = sam.logical(spec.logical_id)
        for metric in ("ExecutionsFailed", "ExecutionsTimedOut"):
            alarm = watched.get(("AWS/States", metric, target))
            if alarm is None or not alarm[-1]:
                problems.append(
                    f"{spec.logical_id}: no {metric} alarm that notifies {SAM_ALARM_ACTIONS}"
                )
    dead_letter_queues = {
        sam.reference(props["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        for props in sam.template.of_type("AWS::SQS::Queue").values()
        if (props.get("Properties") or {}).get("RedrivePolicy")
    }
    dead_letter_queues |= {
        delivery[-1]
        for spec in sam.template.state_machines.values()
        for name in [*(r.name for r in spec.rules), *(s.name for s in spec.schedules)]
        for delivery in [_sam_delivery(sam, spec.logical_id, name)]
        if delivery[-1]
    }
    for queue in sorted(dead_letter_queues):
        alarm = watched.get(("AWS/SQS", "ApproximateNumberOfMessagesVisible", queue))
        if alarm is None or not alarm[-1] or alarm[7:9] != ("GreaterThanThreshold", 0.0):
            problems.append(f"{queue}: a dead-letter queue without a messages > 0 alarm")
    # OrderProcessing fails for business rejections too: its threshold is a parameter.
    orders = watched.get(("AWS/States", "ExecutionsFailed", "sm:order_processing"))
    if orders is not None and not str(orders[8]).startswith("param:"):
        problems.append(
            f"OrderProcessing ExecutionsFailed threshold is {orders[8]}, not a parameter"
        )

    machine_module = tf.modules[next(iter(tf.calls_of(STATE_MACHINE_MODULE)))]
    if "default" in machine_module.variables.get(TF_ALARM_ACTIONS, {}):
        problems.append(
            f"{machine_module.path.name}: alarm_actions must be required, not defaulted"
        )
    if "default" in tf.root.variables.get(TF_ALARM_ACTIONS, {}):
        problems.append("variables.tf: alarm_actions must be required, not defaulted")
    return problems


SCOPED_ACTIONS = (
    "states:DescribeExecution",
    "states:GetExecutionHistory",
    "sns:CreatePlatformEndpoint",
)


def _scope_problems(sam: Sam, tf: Estate) -> list[str]:
    """Actions with a resource to scope to are never granted on ``*`` (in either)."""
    problems: list[str] = []
    for lid in sam.template.functions:
        problems += [
            f"SAM {lid} grants {action} on *"
            for action, target in sorted(sam.grants(lid))
            if action in SCOPED_ACTIONS and target == "*"
        ]
    for address, call, spec in tf.functions():
        grants = tf.grants(tf.statements(call.get("policy_statements"), spec, address), address)
        problems += [
            f"Terraform {address} grants {action} on *"
            for action, target in sorted(grants)
            if action in SCOPED_ACTIONS and target == "*"
        ]
    return problems


def _dependency_problems(sam: Sam, tf: Estate) -> list[str]:
    """Every function has the dependencies layer: SAM builds it from a requirements.txt
    (for the functions' runtime and architecture), Terraform takes it as a required,
    non-empty dependency_layer_arns that names the same file."""
    problems: list[str] = []
    requirements = sam_requirements(sam)
    if requirements is None:
        problems.append(
            "SAM Globals/Function/Layers has no AWS::Serverless::LayerVersion "
            "built from a requirements.txt"
        )
    else:
        layer_id, path = requirements
        layer = (sam.raw.get("Resources") or {})[layer_id]
        props, metadata = layer.get("Properties") or {}, layer.get("Metadata") or {}
        runtime = sam.globals.get("Runtime")
        architecture = (sam.globals.get("Architectures") or ["x86_64"])[0]
        expected = {
            "Metadata BuildMethod": (metadata.get("BuildMethod"), runtime),
            "Metadata BuildArchitecture": (metadata.get("BuildArchitecture"), architecture),
            "CompatibleRuntimes": (props.get("CompatibleRuntimes"), [runtime]),
            "CompatibleArchitectures": (props.get("CompatibleArchitectures"), [architecture]),
        }
        problems += [
            f"SAM {layer_id}: {what} is {found!r}, expected {wanted!r}"
            for what, (found, wanted) in expected.items()
            if found != wanted
        ]
        for lid, resource in (sam.raw.get("Resources") or {}).items():
            if resource.get("Type") == "AWS::Serverless::Function" and (
                (resource.get("Properties") or {}).get("Layers") is not None
            ):
                problems.append(f"SAM {lid} sets its own Layers; the Globals layer is the one")
        variable = tf.root.variables.get("dependency_layer_arns") or {}
        relative = str(path.relative_to(sam.template.path.parents[2]))
        if relative not in str(variable.get("description")):
            problems.append(f"variables.tf: dependency_layer_arns does not name {relative}")
    variable = tf.root.variables.get("dependency_layer_arns")
    if variable is None or "default" in variable or not _blocks(variable, "validation"):
        problems.append(
            "variables.tf: dependency_layer_arns must be required and validated non-empty"
        )
    for address, call, _ in tf.functions():
        if call.get("layers") != "${var.dependency_layer_arns}":
            problems.append(
                f"{address}: layers is {call.get('layers')!r}, not var.dependency_layer_arns"
            )
    module = tf.modules[next(iter(tf.calls_of(LAMBDA_MODULE)))]
    if module.resources("aws_lambda_function")["this"].get("layers") != "${var.layers}":
        problems.append(f"{module.path.name}: aws_lambda_function.this does not use var.layers")
    return problems


def sam_requirements(sam: Sam) -> tuple[str, Path] | None:
    """The logical id of the Globals layer and its requirements.txt."""
    resources = sam.raw.get("Resources") or {}
    for node in sam.globals.get("Layers") or []:
        if not (isinstance(node, Tag) and node.name == "Ref"):
            continue
        layer = resources.get(node.value) or {}
        if layer.get("Type") != "AWS::Serverless::LayerVersion":
            continue
        content = (layer.get("Properties") or {}).get("ContentUri")
        path = (sam.template.path.parent / str(content) / "requirements.txt").resolve()
        if isinstance(content, str) and path.is_file():
            return str(node.value), path
    return None


def _parameter_problems(sam: Sam, tf: Estate) -> list[str]:
    """Every SAM parameter is a Terraform variable of the same name in snake_case with
    the same default; the alarm topic is the one exception (a required list there)."""
    problems: list[str] = []
    raw = sam.raw.get("Parameters") or {}
    for name, spec in raw.items():
        if name == SAM_ALARM_ACTIONS:
            if TF_ALARM_ACTIONS not in tf.root.variables:
                problems.append(f"SAM {name}: Terraform has no {TF_ALARM_ACTIONS}")
            continue
        variable = tf.root.variables.get(_snake(name))
        if variable is None:
            problems.append(f"SAM parameter {name} has no Terraform variable {_snake(name)}")
            continue
        sam_default = spec.get("Default")
        if spec.get("Type") == "Number":
            sam_default = _number(sam_default)
        tf_default = _number(variable.get("default"))
        if sam_default != tf_default:
            problems.append(
                f"SAM parameter {name} defaults to {sam_default!r}, "
                f"var.{_snake(name)} to {tf_default!r}"
            )
    return problems


def _hardening_problems(tf: Estate) -> list[str]:
    problems: list[str] = []
    machine_module = tf.modules[next(iter(tf.calls_of(STATE_MACHINE_MODULE)))]
    machine = machine_module.resources("aws_sfn_state_machine")["this"]
    if not (_blocks(machine, "tracing_configuration") or [{}])[0].get("enabled"):
        problems.append("state machines: X-Ray tracing is off")
    terraform = tf.root.blocks.get("terraform", [{}])[0]
    if terraform.get("required_version") != ">= 1.6":
        problems.append(f"versions.tf: required_version is {terraform.get('required_version')!r}")
    aws = (terraform.get("required_providers") or [{}])[0].get("aws", {})
    if not re.fullmatch(r"~> 5\.\d+", str(aws.get("version"))):
        problems.append(f"versions.tf: the aws provider is pinned to {aws.get('version')!r}")
    # SAM's CodeUri is the repository; so must be what archive_file zips.
    code_uri = (SAM_TEMPLATE.parent / str(tf.sam.globals.get("CodeUri", "."))).resolve()
    if code_uri != REPO:
        problems.append(f"SAM CodeUri is {code_uri}, not the repository")
    repository = (tf.root.path / ".." / "..").resolve()
    for label, body in tf.root.data_sources("archive_file").items():
        source = Path(str(body["source_dir"]).replace("${path.root}", str(tf.root.path)))
        if source.resolve() != repository:
            problems.append(f"archive_file.{label} zips {source.resolve()}, not the repository")
    for address, call, _ in tf.functions():
        if call.get("package_hash") != "${data.archive_file.code.output_base64sha256}":
            problems.append(f"{address}: code is not the repository zip")
    copies = [p for p in tf.root.path.rglob("*") if p.suffix == ".json" or ".asl" in p.name]
    problems += [
        f"{p}: a second copy of a definition? ASL lives in state_machines/" for p in copies
    ]
    return problems


CHECKS = {
    "functions": _function_problems,
    "state machines": _state_machine_problems,
    "lambda substitutions": lambda sam, tf: _substitution_problems(sam, tf, lambdas=True),
    "resource substitutions": lambda sam, tf: _substitution_problems(sam, tf, lambdas=False),
    "tables": _table_problems,
    "queues": _queue_problems,
    "buses": _bus_problems,
    "buckets": _bucket_problems,
    "rules": _rule_problems,
    "schedules": _schedule_problems,
    "event sources": _event_source_problems,
    "api": _api_problems,
    "iam": _iam_problems,
    "alarms": _alarm_problems,
    "queue policies": _queue_policy_problems,
    "scoped grants": _scope_problems,
    "dependencies": _dependency_problems,
    "parameters": _parameter_problems,
}


# ---------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def sam() -> Sam:
    return Sam.load(SAM_TEMPLATE)


@pytest.fixture(scope="module")
def estate(sam: Sam) -> Estate:
    return Estate.load(TERRAFORM, sam)


def test_the_template_and_the_estate_are_not_empty(sam: Sam, estate: Estate) -> None:
    assert len(sam.template.functions) == len(list(estate.functions())) == 16
    assert len(estate.calls_of(STATE_MACHINE_MODULE)) == len(sam.template.state_machines) == 4


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_terraform_declares_what_sam_declares(check: str, sam: Sam, estate: Estate) -> None:
    problems = CHECKS[check](sam, estate)
    assert not problems, f"{check} differ:\n  " + "\n  ".join(problems)


def test_templatefile_variables_are_the_placeholders_of_the_asl(estate: Estate) -> None:
    problems = _placeholder_problems(estate)
    assert not problems, "\n".join(problems)


def test_production_hardening(estate: Estate) -> None:
    problems = _hardening_problems(estate)
    assert not problems, "\n".join(problems)


# ---------------------------------------------- the check fails when it should


@pytest.fixture
def copy_of_estate(tmp_path: Path) -> Path:
    """infra/terraform copied so that ``${path.root}/../..`` is a repository again."""
    root = tmp_path / "infra" / "terraform"
    shutil.copytree(TERRAFORM, root, ignore=shutil.ignore_patterns(".terraform", ".build"))
    shutil.copytree(REPO / "state_machines", tmp_path / "state_machines")
    return root


def _problems_after(root: Path, sam: Sam, old: str, new: str, file: str = "main.tf") -> list[str]:
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    tf = Estate.load(root, sam)
    return [p for check in CHECKS.values() for p in check(sam, tf)] + _placeholder_problems(tf)


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        pytest.param(
            "tasks.orders.cancel_order.handler",
            "tasks.orders.cancel.handler",
            "CancelOrderFunction",
            id="handler",
        ),
        pytest.param(
            'ReleaseInventoryFunctionArn = module.function["ReleaseInventory"].arn\n'
            '    RefundPaymentFunctionArn    = module.function["RefundPayment"].arn\n'
            "    EventBusName",
            'ReleaseInventoryFunctionArn = module.function["RefundPayment"].arn\n'
            '    RefundPaymentFunctionArn    = module.function["RefundPayment"].arn\n'
            "    EventBusName",
            "ReleaseInventoryFunctionArn",
            id="lambda-arn-swapped",
        ),
        pytest.param(
            "    ApprovalThreshold            = var.approval_threshold\n",
            "",
            "ApprovalThreshold",
            id="substitution-dropped",
        ),
        pytest.param('"OrderCancelled"]', "]", "OrderEvents", id="rule-pattern"),
        pytest.param('"cron(0 3 * * ? *)"', '"cron(0 4 * * ? *)"', "Nightly", id="schedule"),
        pytest.param(
            'grants  = ["orders_read"]\n    }\n    CancelOrder',
            'grants  = ["orders_crud"]\n    }\n    CancelOrder',
            "FindStuckOrdersFunction",
            id="broader-grant",
        ),
        pytest.param(
            "maximum_retry_attempts       = 20",
            "maximum_retry_attempts       = 185",
            "OrderEvents",
            id="rule-retry-policy",
        ),
        pytest.param(
            'timezone   = "UTC"\n      retry_policy = {\n        maximum_retry_attempts       = 20',
            'timezone   = "UTC"\n      retry_policy = {\n        maximum_retry_attempts       = 0',
            "Nightly",
            id="schedule-retry-policy",
        ),
        pytest.param(
            "dead_letter_queue_arn = module.messaging.events_dead_letter_queue_arn",
            "dead_letter_queue_arn = module.messaging.approval_queue_arn",
            "OrderEvents",
            id="rule-dead-letter-queue",
        ),
        pytest.param(
            '"arn:${data.aws_partition.current.partition}:states:${data.aws_region.current.name}'
            ":${data.aws_caller_identity.current.account_id}:execution:"
            '${module.order_processing.name}:*"',
            '"*"',
            "ApiFunction",
            id="api-executions-on-star",
        ),
        pytest.param(
            "PUSH_PLATFORM_APPLICATION_ARN = var.push_platform_application_arn",
            'PUSH_PLATFORM_APPLICATION_ARN = ""',
            "SendPushFunction",
            id="push-environment",
        ),
        pytest.param(
            '"push_endpoint_create", ',
            "",
            "SendPushFunction",
            id="push-permission",
        ),
        pytest.param(
            "failed_executions_threshold = var.order_failed_executions_threshold",
            "failed_executions_threshold = 1",
            "OrderProcessingExecutionsFailedAlarm",
            id="order-alarm-threshold",
        ),
        pytest.param(
            "layers       = var.dependency_layer_arns\n  environment = merge(",
            "layers       = []\n  environment = merge(",
            "module.api_function",
            id="api-without-layer",
        ),
    ],
)
def test_a_difference_fails_and_names_the_resource(
    copy_of_estate: Path, sam: Sam, old: str, new: str, named: str
) -> None:
    problems = _problems_after(copy_of_estate, sam, old, new)
    assert any(named in p for p in problems), problems


def test_a_missing_gsi_fails_and_names_the_table(copy_of_estate: Path, sam: Sam) -> None:
    problems = _problems_after(
        copy_of_estate,
        sam,
        'name            = "GSI1"',
        'name            = "GSI2"',
        "modules/data/main.tf",
    )
    assert any("OrdersTable" in p and "gsi" in p for p in problems), problems


@pytest.mark.parametrize(
    ("file", "old", "new", "named"),
    [
        pytest.param(
            "modules/state_machine/main.tf",
            '"ExecutionsTimedOut"',
            '"ExecutionThrottled"',
            "ExecutionsTimedOut",
            id="timed-out-alarm",
        ),
        pytest.param(
            "modules/state_machine/main.tf",
            "arn = each.value.dead_letter_queue_arn",
            "arn = var.definition",
            "dead-letter queue",
            id="target-dead-letter-wiring",
        ),
        pytest.param(
            "modules/state_machine/main.tf",
            'actions   = ["sqs:SendMessage"]',
            'actions   = ["sqs:ReceiveMessage"]',
            "scheduler role",
            id="scheduler-role-dead-letter",
        ),
        pytest.param(
            "modules/messaging/main.tf",
            "QueueName = aws_sqs_queue.events_dead_letter.name",
            "QueueName = aws_sqs_queue.approval.name",
            "EventsDeadLetterQueue",
            id="events-dead-letter-alarm",
        ),
        pytest.param(
            "modules/messaging/main.tf",
            ":rule/${aws_cloudwatch_event_bus.order_events.name}/*",
            ":rule/*",
            "EventsDeadLetterQueue",
            id="events-dead-letter-policy",
        ),
        pytest.param(
            "variables.tf",
            'default     = ""',
            'default     = "arn:aws:sns:eu-west-1:123456789012:app/GCM/orders"',
            "PushPlatformApplicationArn",
            id="parameter-default",
        ),
    ],
)
def test_a_module_difference_fails_and_names_the_resource(
    copy_of_estate: Path, sam: Sam, file: str, old: str, new: str, named: str
) -> None:
    problems = _problems_after(copy_of_estate, sam, old, new, file)
    assert any(named in p for p in problems), problems


@pytest.fixture
def copy_of_template(tmp_path: Path) -> Path:
    """infra/sam copied with what its relative paths name."""
    root = tmp_path / "infra" / "sam"
    shutil.copytree(SAM_TEMPLATE.parent, root, ignore=shutil.ignore_patterns(".aws-sam"))
    shutil.copytree(REPO / "state_machines", tmp_path / "state_machines")
    return root / SAM_TEMPLATE.name


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        pytest.param(
            "      - !Ref DependenciesLayer\n",
            "",
            "Layers",
            id="no-layer",
        ),
        pytest.param(
            "Resource: !Sub arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}"
            ":execution:${OrderProcessingStateMachine.Name}:*",
            'Resource: "*"',
            "ApiFunction",
            id="api-executions-on-star",
        ),
        pytest.param(
            "          PUSH_PLATFORM_APPLICATION_ARN: !Ref PushPlatformApplicationArn\n",
            "          PUSH_PLATFORM_APPLICATION_ARN: none\n",
            "SendPushFunction",
            id="push-environment",
        ),
        pytest.param(
            "            ScheduleExpressionTimezone: UTC\n"
            "            RetryPolicy:\n"
            "              MaximumRetryAttempts: 20\n"
            "              MaximumEventAgeInSeconds: 3600\n"
            "            DeadLetterConfig:\n"
            "              Arn: !GetAtt EventsDeadLetterQueue.Arn\n",
            "            ScheduleExpressionTimezone: UTC\n",
            "Nightly",
            id="schedule-without-retries",
        ),
        pytest.param(
            "      MetricName: ExecutionsTimedOut\n",
            "      MetricName: ExecutionsAborted\n",
            "OrderProcessingStateMachine",
            id="timed-out-alarm",
        ),
        pytest.param(
            "      Threshold: !Ref OrderFailedExecutionsThreshold\n",
            "      Threshold: 1\n",
            "OrderProcessing",
            id="order-alarm-threshold",
        ),
        pytest.param(
            "      AlarmActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]\n",
            "",
            "OrderProcessingExecutionsFailedAlarm",
            id="alarm-without-actions",
        ),
    ],
)
def test_a_template_difference_fails_and_names_the_resource(
    copy_of_template: Path, old: str, new: str, named: str
) -> None:
    text = copy_of_template.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in the template"
    copy_of_template.write_text(text.replace(old, new, 1), encoding="utf-8")
    sam = Sam.load(copy_of_template)
    tf = Estate.load(TERRAFORM, sam)
    problems = [p for check in CHECKS.values() for p in check(sam, tf)]
    assert any(named in p for p in problems), problems
