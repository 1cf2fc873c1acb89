"""The state machine definitions a file holds, ready to validate, and where each field is.

``workflows validate`` takes what a project keeps on disk:

- an ASL file (JSON, or YAML as SAM's ``DefinitionUri`` allows), with the
  ``${Name}`` placeholders its infrastructure code fills;
- a SAM or CloudFormation template: every ``AWS::Serverless::StateMachine`` and
  ``AWS::StepFunctions::StateMachine``, its definition read from ``DefinitionUri``,
  ``Definition`` or ``DefinitionString`` and filled with the template's own
  ``DefinitionSubstitutions`` (``!Ref``, ``!GetAtt`` and ``!Sub`` resolved as the local
  template reader resolves them; what cannot be resolved here stays a placeholder);
- a Terraform module (a ``.tf`` file or its folder): every ``templatefile(...)`` call,
  filled with the literal values of its variables map;
- any other folder: its ``*.asl.json`` / ``*.asl.yaml`` files.

Each definition comes with a ``locate`` function from a JSON pointer to the line
and column of that field in the file a person edits, for editors and code scanning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import json_source_map
import yaml

from workflows.definitions import fill
from workflows.engine.diagnostics import Diagnostic
from workflows.engine.validation.placeholders import quote_bare_placeholders
from workflows.local.template import IntrinsicTag, Resolver, TemplateError, TemplateLoader

__all__ = ["DefinitionSource", "Position", "read_definitions"]

Position = tuple[int, int]  # 1-based line and column
Locate = Callable[[str], Position | None]

UNREADABLE = "DEFINITION_FILE_UNREADABLE"  # a definition file named but not readable
_STATE_MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
_ASL_FILE = re.compile(r"\.asl\.(json|ya?ml)$")  # a folder without .tf files: its ASL files
_TEMPLATE_SUFFIXES = (".yaml", ".yml", ".template", ".json")


@dataclass
class DefinitionSource:
    """One definition to validate: its text, its workflow type, and where it came from."""

    label: str  # what the report calls it: a path, or "template.yaml: Resources/Name"
    file: Path  # the file whose lines the locations refer to
    text: str | None  # the definition text (None when it could not be read)
    machine_type: str = "STANDARD"
    locate: Locate = field(default=lambda pointer: None)
    problems: list[Diagnostic] = field(default_factory=list)  # found while reading it


def read_definitions(
    path: Path, values: Mapping[str, str], machine_type: str | None = None
) -> list[DefinitionSource]:
    """Every definition ``path`` holds, placeholders filled from the file's own
    substitutions first and ``values`` (``--sub``) for the rest."""
    if path.is_dir() and not any(path.glob("*.tf")):
        files = sorted(p for p in path.iterdir() if _ASL_FILE.search(p.name))
        sources = [_asl_file(f, f.as_posix(), {}, values) for f in files]
    elif path.is_dir() or path.suffix == ".tf":
        sources = _terraform(path, values)
    elif _is_template(path):
        sources = _template(path, values)
    else:
        sources = [_asl_file(path, path.as_posix(), {}, values)]
    if machine_type is not None:
        for source in sources:
            source.machine_type = machine_type
    return sources


# ---------------------------------------------------------------------- ASL files


def _asl_file(
    path: Path, label: str, own: Mapping[str, str], values: Mapping[str, str]
) -> DefinitionSource:
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return _unreadable(label, path, f"cannot read {path}: {reason}", UNREADABLE)
    if path.suffix in (".yaml", ".yml"):
        try:
            node, loaded = _load_yaml(raw)
        except yaml.YAMLError as exc:
            return _unreadable(label, path, f"{path} is not valid YAML: {exc}")
        text = fill(json.dumps(_plain(loaded), default=str), {**values, **own})
        return DefinitionSource(label, path, text, locate=_yaml_locator(node, ()))
    return DefinitionSource(label, path, fill(raw, {**values, **own}), locate=_json_locator(raw))


_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


def _load_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """The node tree (for positions) and the values of a YAML document.

    Unquoted timestamps stay the text they are (as CloudFormation and SAM read them),
    not Python datetimes: ASL compares timestamps as RFC 3339 strings.
    """
    loader = TemplateLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _timestamps_as_text(node)
        return node, loader.construct_document(node)
    finally:
        loader.dispose()


def _timestamps_as_text(node: yaml.Node) -> None:
    if isinstance(node, yaml.ScalarNode) and node.tag == _TIMESTAMP_TAG:
        node.tag = "tag:yaml.org,2002:str"
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _timestamps_as_text(key)
            _timestamps_as_text(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _timestamps_as_text(item)


def _unreadable(
    label: str, path: Path, message: str, code: str = "INVALID_JSON_DESCRIPTION"
) -> DefinitionSource:
    return DefinitionSource(label, path, None, problems=[Diagnostic(code, message, "")])


def _json_locator(text: str, line_offset: int = 0, column_offset: int = 0) -> Locate:
    """Positions of JSON pointers in ``text`` (placeholders outside strings tolerated)."""
    try:
        entries = json_source_map.calculate(quote_bare_placeholders(text)[0])
    except Exception:  # not JSON: no positions, the validator says why
        return lambda pointer: None

    def locate(pointer: str) -> Position | None:
        parts = pointer.split("/")
        while parts:
            current = "/".join(parts)
            # json_source_map keys pointers by raw names ("/States/a/b" for "a/b")
            for key in (current, current.replace("~1", "/").replace("~0", "~")):
                entry = entries.get(key)
                if entry is not None:
                    start = entry.key_start or entry.value_start
                    line = start.line + 1 + line_offset
                    column = start.column + 1 + (column_offset if start.line == 0 else 0)
                    return line, column
            parts = parts[:-1]  # the nearest enclosing field that exists
        return None

    return locate


def _yaml_locator(root: yaml.Node | None, prefix: tuple[str, ...]) -> Locate:
    """Positions of JSON pointers in a YAML document, below the node at ``prefix``: a
    member's key (as for JSON), an item's own start."""

    def child(node: yaml.Node, part: str) -> tuple[yaml.Node, yaml.Mark] | None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == part:
                    return value, key.start_mark
        elif isinstance(node, yaml.SequenceNode) and part.isdigit():
            index = int(part)
            if index < len(node.value):
                item: yaml.Node = node.value[index]
                return item, item.start_mark
        return None

    def locate(pointer: str) -> Position | None:
        if root is None:
            return None
        parts = [
            *prefix,
            *(p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]),
        ]
        node: yaml.Node = root
        mark: yaml.Mark = root.start_mark
        for part in parts:
            found = child(node, part)
            if found is None:
                break  # the nearest enclosing field that exists
            node, mark = found
        return mark.line + 1, mark.column + 1

    return locate


# ---------------------------------------------------------- SAM and CloudFormation


def _is_template(path: Path) -> bool:
    if path.suffix not in _TEMPLATE_SUFFIXES:
        return False
    try:
        head = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return re.search(r"^\s*\"?Resources\"?\s*:", head, re.MULTILINE) is not None and (
        "AWSTemplateFormatVersion" in head or "AWS::" in head
    )


def _template(path: Path, values: Mapping[str, str]) -> list[DefinitionSource]:
    text = path.read_text(encoding="utf-8")
    try:
        root, raw = _load_yaml(text)
    except yaml.YAMLError as exc:
        return [_unreadable(path.as_posix(), path, f"{path} is not a readable template: {exc}")]
    if not isinstance(raw, dict):
        return [_unreadable(path.as_posix(), path, f"{path} is not a template (no Resources)")]
    resources = raw.get("Resources")
    if not isinstance(resources, dict):
        return [_unreadable(path.as_posix(), path, f"{path}: Resources is not a mapping")]
    declared = raw.get("Parameters")
    parameters = {
        str(name): str(spec.get("Default", "")) if isinstance(spec, dict) else ""
        for name, spec in (declared.items() if isinstance(declared, dict) else ())
    }
    resolver = Resolver(resources, parameters)
    sources = []
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict) or resource.get("Type") not in _STATE_MACHINE_TYPES:
            continue
        sources.append(_template_machine(path, root, resolver, logical_id, resource, values))
    return sources


def _template_machine(
    path: Path,
    root: yaml.Node | None,
    resolver: Resolver,
    logical_id: str,
    resource: dict[str, Any],
    values: Mapping[str, str],
) -> DefinitionSource:
    props = resource.get("Properties")
    if not isinstance(props, dict):
        props = {}
    label = f"{path.as_posix()}: Resources/{logical_id}"
    serverless = resource.get("Type") == "AWS::Serverless::StateMachine"
    machine_type = str(props.get("Type" if serverless else "StateMachineType") or "STANDARD")
    own = {
        str(name): str(value)
        for name, value in (
            (name, _resolve(resolver, node))
            for name, node in _mapping(props, "DefinitionSubstitutions")
        )
        if value is not None
    }
    at = ("Resources", logical_id, "Properties")
    uri = props.get("DefinitionUri")
    if isinstance(uri, str):
        source = _asl_file((path.parent / uri).resolve(), label, own, values)
        source.file = _display_path(path.parent / uri)
    elif isinstance(props.get("Definition"), dict):
        definition = _resolve_tree(resolver, props["Definition"])
        text = fill(json.dumps(definition, default=str), {**values, **own})
        source = DefinitionSource(
            label, path, text, locate=_yaml_locator(root, (*at, "Definition"))
        )
    elif "DefinitionString" in props:
        string = _definition_string(resolver, props["DefinitionString"])
        if string is None:
            source = _unreadable(label, path, "DefinitionString could not be read")
        else:
            source = DefinitionSource(
                label,
                path,
                fill(string, {**values, **own}),
                locate=_block_locator(root, (*at, "DefinitionString"), string),
            )
    else:
        source = DefinitionSource(
            label,
            path,
            None,
            problems=[
                Diagnostic(
                    "DEFINITION_NOT_LOCAL",
                    "the definition is not in the template or beside it (DefinitionUri or "
                    "DefinitionS3Location in S3); not checked",
                    "",
                    "NOTE",
                )
            ],
        )
    source.machine_type = machine_type if machine_type in ("STANDARD", "EXPRESS") else "STANDARD"
    return source


def _display_path(path: Path) -> Path:
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path.resolve()


def _mapping(props: dict[str, Any], key: str) -> list[tuple[Any, Any]]:
    value = props.get(key)
    return list(value.items()) if isinstance(value, dict) else []


_JSON_INTRINSICS = {"Ref": "Ref", "Fn::GetAtt": "GetAtt", "Fn::Sub": "Sub"}


def _resolve(resolver: Resolver, node: Any) -> Any:
    """A template value resolved as the local template reader resolves it, or None."""
    if isinstance(node, dict) and len(node) == 1:
        key, value = next(iter(node.items()))
        if key in _JSON_INTRINSICS:
            node = IntrinsicTag(_JSON_INTRINSICS[key], value)
    try:
        return resolver.value(node, "DefinitionSubstitutions")
    except (TemplateError, KeyError, IndexError, TypeError, AttributeError, ValueError):
        return None


def _resolve_tree(resolver: Resolver, node: Any) -> Any:
    """An inline Definition with its intrinsics resolved (unresolvable ones as ${...})."""
    if isinstance(node, IntrinsicTag) or (
        isinstance(node, dict) and len(node) == 1 and next(iter(node)) in _JSON_INTRINSICS
    ):
        value = _resolve(resolver, node)
        return value if value is not None else "${Unresolved}"
    if isinstance(node, dict):
        return {str(k): _resolve_tree(resolver, v) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve_tree(resolver, v) for v in node]
    return node


def _definition_string(resolver: Resolver, node: Any) -> str | None:
    """DefinitionString: text, !Sub text whose ${...} CloudFormation fills, or the
    Fn::Join of text and references that CDK synthesizes."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and len(node) == 1 and next(iter(node)) in ("Fn::Sub", "Fn::Join"):
        key = next(iter(node))
        node = IntrinsicTag(key.removeprefix("Fn::"), node[key])
    if isinstance(node, IntrinsicTag) and node.name == "Join":
        if not (isinstance(node.value, list) and len(node.value) == 2):
            return None
        separator, parts = node.value
        if not isinstance(separator, str) or not isinstance(parts, list):
            return None
        texts = []
        for part in parts:
            if isinstance(part, str):
                texts.append(part)
                continue
            value = _resolve(resolver, part)
            texts.append(str(value) if value is not None else "${" + _reference_name(part) + "}")
        return separator.join(texts)
    if isinstance(node, IntrinsicTag) and node.name == "Sub":
        template, variables = (
            (node.value, {}) if isinstance(node.value, str) else (node.value[0], node.value[1])
        )
        if not isinstance(template, str):
            return None

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                value = _resolve(resolver, variables[name])
            else:
                value = _resolve(resolver, IntrinsicTag("Sub", match.group(0)))
            return str(value) if value is not None else match.group(0)

        return re.sub(r"\$\{([^!}][^}]*)\}", sub, template)
    return None


def _reference_name(node: Any) -> str:
    """A placeholder name for a reference that cannot be resolved here (``Fn.Arn``)."""
    if isinstance(node, IntrinsicTag):
        node = {node.name: node.value}
    if isinstance(node, dict) and len(node) == 1:
        value = next(iter(node.values()))
        if isinstance(value, list):
            return ".".join(str(v) for v in value)
        return str(value)
    return "Unresolved"


def _block_locator(root: yaml.Node | None, at: tuple[str, ...], text: str) -> Locate:
    """A definition held as a YAML string (``DefinitionString: !Sub |``): JSON positions
    inside it, shifted to where the string starts in the template."""
    node_position = _yaml_locator(root, at)("")
    if node_position is None:
        return lambda pointer: None
    line = node_position[0]
    block = _find_node(root, at)
    literal = isinstance(block, yaml.ScalarNode) and block.style in ("|", ">")
    indent = _block_indent(block) if literal else 0
    inner = _json_locator(text, line_offset=line)

    def locate(pointer: str) -> Position | None:
        found = inner(pointer) if literal else None
        if found is None:
            return node_position
        found_line, found_column = found
        return found_line, found_column + indent

    return locate


def _block_indent(block: yaml.Node | None) -> int:
    """How far the lines of a YAML block scalar are indented in the file."""
    buffer = getattr(block.start_mark, "buffer", None) if block is not None else None
    if not isinstance(buffer, str):
        return 0
    lines = buffer.splitlines()
    for content in lines[block.start_mark.line + 1 :]:  # type: ignore[union-attr]
        if content.strip():
            return len(content) - len(content.lstrip(" "))
    return 0


def _find_node(root: yaml.Node | None, at: tuple[str, ...]) -> yaml.Node | None:
    node = root
    for part in at:
        if not isinstance(node, yaml.MappingNode):
            return None
        node = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
    return node


def _plain(value: Any) -> Any:
    """YAML with tags (an ASL file has none that matter) as plain JSON values."""
    if isinstance(value, IntrinsicTag):
        return "${" + str(value.value) + "}"
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# ---------------------------------------------------------------------- Terraform

_TEMPLATEFILE = re.compile(r'templatefile\(\s*"((?:[^"\\]|\\.)*)"\s*(?:,\s*\{(.*)\})?\s*\)', re.S)
_STRING_LITERAL = re.compile(r'"((?:[^"\\$]|\\.|\$(?!\{))*)"')


def _terraform(path: Path, values: Mapping[str, str]) -> list[DefinitionSource]:
    import hcl2

    files = sorted(path.glob("*.tf")) if path.is_dir() else [path]
    sources: list[DefinitionSource] = []
    for tf in files:
        try:
            parsed = hcl2.load(tf.open(encoding="utf-8"))
        except Exception as exc:  # the parser's own errors vary
            sources.append(_unreadable(tf.as_posix(), tf, f"{tf} is not readable HCL: {exc}"))
            continue
        for where, body in _blocks(parsed):
            machine_type = (
                _literal(body.get("type")) if where.startswith("resource.aws_sfn") else None
            )
            for key, value in body.items():
                if not isinstance(value, str) or "templatefile(" not in value:
                    continue
                for match in _TEMPLATEFILE.finditer(value):
                    sources.append(_templatefile(tf, f"{where}.{key}", match, values, machine_type))
    return sources


def _blocks(parsed: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(``module.name`` or ``resource.type.name``, body) for every module and resource."""
    found: list[tuple[str, dict[str, Any]]] = []
    for module in parsed.get("module") or []:
        for name, body in module.items():
            if isinstance(body, dict):
                found.append((f"module.{name.strip(chr(34))}", body))
    for resource in parsed.get("resource") or []:
        for kind, named in resource.items():
            for name, body in (named or {}).items():
                if isinstance(body, dict):
                    found.append((f"resource.{kind.strip(chr(34))}.{name.strip(chr(34))}", body))
    return found


def _templatefile(
    tf: Path,
    where: str,
    match: re.Match[str],
    values: Mapping[str, str],
    machine_type: str | None,
) -> DefinitionSource:
    folder = tf.parent
    # path.module/path.root/path.cwd: the module's folder when the module is validated
    file_ref = re.sub(r"\$\{path\.(?:module|root|cwd)\}", ".", match.group(1))
    target = Path(file_ref) if Path(file_ref).is_absolute() else folder / file_ref
    own = _hcl_literals(match.group(2) or "")
    label = f"{tf.as_posix()}: {where}"
    source = _asl_file(target.resolve(), label, own, values)
    source.file = _display_path(target)
    if machine_type in ("STANDARD", "EXPRESS"):
        source.machine_type = machine_type
    return source


def _hcl_literals(body: str) -> dict[str, str]:
    """``{A = "x", B = var.b}``: the members whose value is a plain string literal."""
    members: dict[str, str] = {}
    for item in _split_top_level(body):
        name, sep, expression = item.partition("=")
        literal = _literal(expression.strip()) if sep else None
        if literal is not None:
            members[name.strip().strip('"')] = literal
    return members


def _literal(expression: Any) -> str | None:
    if not isinstance(expression, str):
        return None
    match = _STRING_LITERAL.fullmatch(expression.strip())
    return match.group(1) if match else None


def _split_top_level(text: str) -> list[str]:
    items: list[str] = []
    current: list[str] = []
    depth, quote = 0, False
    for index, char in enumerate(text):
        if char == '"' and (index == 0 or text[index - 1] != "\\"):
            quote = not quote
        elif not quote and char in "([{":
            depth += 1
        elif not quote and char in ")]}":
            depth -= 1
        elif not quote and depth == 0 and char in ",\n":
            items.append("".join(current))
            current = []
            continue
        current.append(char)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]
