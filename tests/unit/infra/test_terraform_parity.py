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
- a parameter is its SAM name (``param:SenderEmail`` <-> ``var.sender_email``).

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

# Terraform resource type -> (CloudFormation type, suffix the Terraform label drops).
KINDS = {
    "aws_dynamodb_table": ("AWS::DynamoDB::Table", "Table"),
    "aws_sqs_queue": ("AWS::SQS::Queue", "Queue"),
    "aws_cloudwatch_event_bus": ("AWS::Events::EventBus", "Bus"),
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
        "IdentityName",
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
        found: set[str] = set()
        for ref in REFERENCE.finditer(value):
            if ref["call"]:
                found.add(self._module_target(ref["call"], ref["key"], ref["output"], where))
            elif ref["var"]:
                found.add(f"param:{_camel(ref['var'])}")
            elif ref["kind"] in KINDS:
                found.add(self.sam.resource_for(ref["kind"], ref["label"]))
        return found

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


class _TagIgnoringLoader(yaml.SafeLoader):
    """Reads the template's Globals, where no CloudFormation function matters."""


_TagIgnoringLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


@dataclass
class Sam:
    """The SAM template, resolved with a sentinel value for every parameter."""

    template: Template
    globals: dict[str, Any]
    names: dict[str, str]  # resolved value -> target

    @classmethod
    def load(cls, path: Path) -> Sam:
        parameters = load_template(path).parameters
        template = load_template(path, overrides={p: f"<param:{p}>" for p in parameters})
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_TagIgnoringLoader)
        sam = cls(template, (raw.get("Globals") or {}).get("Function") or {}, {})
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
        return "*" if node == "*" else f"literal:{node}"

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
                            for resource in [resources] if resources == "*" else resources:
                                pairs.add((action, self.reference(resource)))
                    continue
                assert name in SAM_POLICY_TEMPLATES, (
                    f"{logical_id}: SAM policy template {name} is not translated by this test"
                )
                parameter, actions = SAM_POLICY_TEMPLATES[name]
                pairs |= {(a, self.reference(args[parameter])) for a in actions}
        function = self.template.functions.get(logical_id)
        for source in function.sqs_sources if function else []:
            pairs |= {(a, f"res:{source.queue}") for a in SQS_POLLER_ACTIONS}
        return pairs


def _grant_problems(owner: str, sam: set[Grant], terraform: set[Grant]) -> list[str]:
    """Terraform must grant what SAM grants, and may only narrow a ``*`` resource."""

    def covered(action: str, target: str, by: set[Grant], wildcard_side: bool) -> bool:
        for other_action, other_target in by:
            pattern, concrete = (other_action, action) if wildcard_side else (action, other_action)
            same_target = target == other_target or (
                other_target == "*" if wildcard_side else target == "*"
            )
            if fnmatch.fnmatchcase(concrete, pattern) and same_target:
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
        address, call, _ = terraform[handler]
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
            for k, v in _environment(tf, call["environment"]).items()
        }
        for name in sorted(sam_env.keys() | tf_env.keys()):
            if sam_env.get(name) != tf_env.get(name):
                problems.append(
                    f"{spec.logical_id} / {address}: environment {name} is "
                    f"{sam_env.get(name, 'unset')} in SAM, {tf_env.get(name, 'unset')} in Terraform"
                )
    return problems


def _environment(tf: Estate, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    merged = _call(value, "merge")
    if merged is not None:
        env: dict[str, Any] = {}
        for part in merged:
            env.update(_environment(tf, part))
        return env
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


def _rule_problems(sam: Sam, tf: Estate) -> list[str]:
    problems: list[str] = []
    sam_rules = {
        (stem, rule.name): (sam.target(rule.bus), rule.pattern)
        for stem, spec, _, _ in _machines(sam, tf)
        for rule in spec.rules
    }
    tf_rules = {
        (stem, rule_name): (
            tf.target(rule["event_bus_name"], f"module.{name} event_rules.{rule_name}"),
            rule["event_pattern"],
        )
        for stem, _, name, call in _machines(sam, tf)
        for rule_name, rule in (call.get("event_rules") or {}).items()
    }
    for key in sorted(sam_rules.keys() | tf_rules.keys()):
        if sam_rules.get(key) != tf_rules.get(key):
            problems.append(
                f"{key[0]}: rule {key[1]} (bus, pattern) is {sam_rules.get(key)} in SAM, "
                f"{tf_rules.get(key)} in Terraform"
            )
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
        (stem, s.name): (s.expression, s.timezone)
        for stem, spec, _, _ in _machines(sam, tf)
        for s in spec.schedules
    }
    tf_schedules = {
        (stem, key): (s["expression"], s["timezone"])
        for stem, _, _, call in _machines(sam, tf)
        for key, s in (call.get("schedules") or {}).items()
    }
    for key in sorted(sam_schedules.keys() | tf_schedules.keys()):
        if sam_schedules.get(key) != tf_schedules.get(key):
            problems.append(
                f"{key[0]}: schedule {key[1]} (expression, time zone) is "
                f"{sam_schedules.get(key)} in SAM, {tf_schedules.get(key)} in Terraform"
            )
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
    }
    problems += [
        f"{module.path.name}: aws_scheduler_schedule {what} is {found!r}, expected {expected!r}"
        for what, (found, expected) in wiring.items()
        if found != expected
    ]
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


def _alarm_problems(sam: Sam, tf: Estate) -> list[str]:
    problems: list[str] = []
    module = tf.modules[next(iter(tf.calls_of(STATE_MACHINE_MODULE)))]
    failed = [
        a
        for a in module.resources("aws_cloudwatch_metric_alarm").values()
        if a.get("namespace") == "AWS/States"
        and a.get("metric_name") == "ExecutionsFailed"
        and (a.get("dimensions") or {}).get("StateMachineArn")
        == "${aws_sfn_state_machine.this.arn}"
    ]
    if not failed or failed[0].get("alarm_actions") != "${var.alarm_actions}":
        problems.append(
            f"{module.path.name}: no ExecutionsFailed alarm that notifies alarm_actions"
        )
    if "default" in module.variables.get("alarm_actions", {}):
        problems.append(f"{module.path.name}: alarm_actions must be required, not defaulted")
    for name, call in tf.calls_of(STATE_MACHINE_MODULE).items():
        if "alarm_actions" not in call:
            problems.append(f"module.{name}: passes no alarm_actions")

    queues = tf.all_resources("aws_sqs_queue")
    alarms = tf.all_resources("aws_cloudwatch_metric_alarm")
    for lid, props in sam.template.of_type("AWS::SQS::Queue").items():
        redrive = (props.get("Properties") or {}).get("RedrivePolicy")
        if not redrive:
            continue
        dead_letter = sam.reference(redrive["deadLetterTargetArn"]).removeprefix("res:")
        label = sam.label_for(dead_letter, "Queue")
        expected = f"${{aws_sqs_queue.{label}.name}}"
        if label in queues and not any(
            a.get("namespace") == "AWS/SQS"
            and a.get("metric_name") == "ApproximateNumberOfMessagesVisible"
            and (a.get("dimensions") or {}).get("QueueName") == expected
            and a.get("alarm_actions")
            for _, a in alarms.values()
        ):
            problems.append(
                f"{dead_letter} (DLQ of {lid}): no alarm on messages in aws_sqs_queue.{label}"
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
    "rules": _rule_problems,
    "schedules": _schedule_problems,
    "event sources": _event_source_problems,
    "api": _api_problems,
    "iam": _iam_problems,
    "alarms": _alarm_problems,
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
    assert len(estate.calls_of(STATE_MACHINE_MODULE)) == len(sam.template.state_machines) == 3


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
