"""The dependencies layer holds what the deployed handlers import, at the tested versions.

``infra/sam/dependencies/requirements.txt`` is what ``sam build`` installs into
DependenciesLayer and what the Terraform layer (``dependency_layer_arns``) is built from
(docs/infrastructure.md). The tests run against the pins of ``pyproject.toml``, so the
layer must pin the same distributions, extras and versions, and it must cover every
third-party package a Lambda handler can import: everything under ``tasks/`` (the task
functions) and ``workflows/api/`` (the API function). Nothing else belongs there.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from tests.source_trees import parse_file

REPO = Path(__file__).resolve().parents[3]
REQUIREMENTS = REPO / "infra" / "sam" / "dependencies" / "requirements.txt"
PYPROJECT = REPO / "pyproject.toml"
# The code the functions run: CodeUri is the repository, handlers live here.
LAMBDA_CODE = (REPO / "tasks", REPO / "workflows" / "api")
FIRST_PARTY = {"tasks", "workflows"}

REQUIREMENT = re.compile(
    r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[(?P<extras>[^\]]*)\])?\s*(?P<spec>.*)"
)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _parse(line: str) -> tuple[str, frozenset[str], str]:
    """(normalised name, extras, version specifier) of one requirement."""
    match = REQUIREMENT.fullmatch(line.strip())
    assert match, f"cannot read requirement {line!r}"
    extras = frozenset(_normalise(e) for e in (match["extras"] or "").split(",") if e.strip())
    return _normalise(match["name"]), extras, match["spec"].replace(" ", "")


def _layer_requirements() -> dict[str, tuple[frozenset[str], str]]:
    found: dict[str, tuple[frozenset[str], str]] = {}
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        assert not line.startswith("-"), f"{REQUIREMENTS.name}: no pip options ({line!r})"
        name, extras, spec = _parse(line)
        assert name not in found, f"{REQUIREMENTS.name}: {name} is listed twice"
        found[name] = (extras, spec)
    return found


def _project_pins() -> dict[str, tuple[frozenset[str], str]]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    return {name: (extras, spec) for name, extras, spec in map(_parse, project["dependencies"])}


def _third_party_imports() -> dict[str, list[str]]:
    """Top-level module -> the files importing it (absolute imports, at any depth)."""
    stdlib = set(sys.stdlib_module_names)
    found: dict[str, list[str]] = {}
    for root in LAMBDA_CODE:
        for path in sorted(root.rglob("*.py")):
            tree = parse_file(path)
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top in stdlib or top in FIRST_PARTY or top == "__future__":
                        continue
                    found.setdefault(top, []).append(str(path.relative_to(REPO)))
    return found


def test_every_layer_pin_equals_the_pyproject_pin() -> None:
    layer, project = _layer_requirements(), _project_pins()
    assert layer, f"{REQUIREMENTS} lists nothing"
    problems = []
    for name, (extras, spec) in sorted(layer.items()):
        if not spec.startswith("==") or "," in spec:
            problems.append(f"{name}: {spec!r} is not an exact pin (==)")
        if name not in project:
            problems.append(f"{name}: not a dependency in pyproject.toml")
        elif (extras, spec) != project[name]:
            problems.append(
                f"{name}: layer pins {sorted(extras)} {spec}, "
                f"pyproject.toml {sorted(project[name][0])} {project[name][1]}"
            )
    assert not problems, "\n".join(problems)


def test_the_layer_covers_every_third_party_import_of_the_handlers() -> None:
    imports = _third_party_imports()
    assert {"aws_lambda_powertools", "pydantic", "jwt"} <= imports.keys(), imports
    layer = _layer_requirements()
    distributions = packages_distributions()
    problems = []
    for module, files in sorted(imports.items()):
        provided = {_normalise(d) for d in distributions.get(module, [])}
        if not provided:
            problems.append(f"{module} (imported by {files[0]}) is not installed: which package?")
        elif not provided & layer.keys():
            problems.append(
                f"{module} (imported by {files[0]}) comes from {sorted(provided)}, "
                f"which {REQUIREMENTS.name} does not list"
            )
    assert not problems, "\n".join(problems)


def test_the_layer_lists_only_what_the_handlers_import() -> None:
    distributions = packages_distributions()
    imported = {
        _normalise(d) for module in _third_party_imports() for d in distributions.get(module, [])
    }
    extra = sorted(_layer_requirements().keys() - imported)
    assert not extra, f"{REQUIREMENTS.name} lists {extra}, which no handler imports"


@pytest.mark.parametrize(
    ("line", "parsed"),
    [
        ("pyjwt[crypto]==2.15.1", ("pyjwt", frozenset({"crypto"}), "==2.15.1")),
        (
            "aws_lambda_powertools[tracer] == 3.37.0",
            ("aws-lambda-powertools", frozenset({"tracer"}), "==3.37.0"),
        ),
        ("PyYAML==6.0.3", ("pyyaml", frozenset(), "==6.0.3")),
    ],
)
def test_requirements_are_read_as_pip_does(line: str, parsed: tuple[object, ...]) -> None:
    assert _parse(line) == parsed
