"""The dependency direction of DESIGN.md, as failing checks.

``engine`` imports nothing of the project and no AWS SDK; ``integrations`` imports
``engine``; ``local`` imports both; application code never reaches into ``local``.
The import-linter contracts in pyproject.toml state the whole direction; the AST
check below pins the engine's rule independently, including imports hidden inside
functions and ``importlib`` calls, so a mistake in the contracts cannot hide it.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.source_trees import parse_file

REPO = Path(__file__).resolve().parents[2]
ENGINE = REPO / "workflows" / "engine"
SDK = ("boto3", "botocore", "aiobotocore", "aioboto3", "s3transfer")


def _lint_imports() -> str | None:
    local = Path(sys.executable).parent / "lint-imports"
    if local.exists():
        return str(local)
    venv = REPO / ".venv" / "bin" / "lint-imports"
    if venv.exists():
        return str(venv)
    return shutil.which("lint-imports")


def test_import_linter_contracts_hold() -> None:
    command = _lint_imports()
    if command is None:
        pytest.fail("lint-imports is not installed (it is a dev dependency: import-linter)")
    completed = subprocess.run(
        [command, "--no-cache"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "broken" not in completed.stdout.lower().replace("0 broken", "")


def _absolute(module: str, node: ast.ImportFrom) -> str:
    """The absolute name an ``from ... import`` refers to, from inside ``module``."""
    if node.level == 0:
        return node.module or ""
    package = module.split(".")
    base = package[: len(package) - node.level]
    return ".".join(base + ([node.module] if node.module else []))


def _engine_modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(ENGINE.rglob("*.py")):
        relative = path.relative_to(REPO).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found.append((".".join(parts), path))
    return found


def _imports(module: str, path: Path) -> list[tuple[int, str]]:
    tree = parse_file(path)
    names: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, node)
            names.append((node.lineno, target))
            # "from workflows import integrations" names a module too
            names.extend((node.lineno, f"{target}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Call):
            func = node.func
            dynamic = (isinstance(func, ast.Name) and func.id == "__import__") or (
                isinstance(func, ast.Attribute) and func.attr == "import_module"
            )
            if dynamic and node.args and isinstance(node.args[0], ast.Constant):
                names.append((node.lineno, str(node.args[0].value)))
    return names


def _violation(name: str) -> bool:
    top = name.split(".")[0]
    if top in SDK:
        return True
    if top == "tasks":
        return True
    if top == "workflows":
        # the engine itself (and the bare "workflows" package of a relative import) is fine
        return not (name == "workflows" or name.startswith("workflows.engine"))
    return False


def test_the_engine_imports_no_aws_sdk_and_nothing_else_of_the_project() -> None:
    modules = _engine_modules()
    assert modules, f"no engine modules under {ENGINE}"
    problems = [
        f"{path.relative_to(REPO)}:{line}: imports {name}"
        for module, path in modules
        for line, name in _imports(module, path)
        if _violation(name)
    ]
    assert problems == []


def test_importing_the_engine_loads_no_aws_sdk_and_no_other_project_package() -> None:
    code = (
        "import sys, pkgutil, importlib\n"
        "import workflows.engine as engine\n"
        "for info in pkgutil.walk_packages(engine.__path__, 'workflows.engine.'):\n"
        "    importlib.import_module(info.name)\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{SDK!r} + ('tasks',) or (m.startswith('workflows.') "
        "and not m.startswith('workflows.engine')))\n"
        "print('\\n'.join(loaded))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == ""


def test_the_check_sees_every_engine_module() -> None:
    engine = importlib.import_module("workflows.engine")
    listed = {name for name, _ in _engine_modules()}
    walked = {info.name for info in pkgutil.walk_packages(engine.__path__, "workflows.engine.")} | {
        "workflows.engine"
    }
    assert walked <= listed


@pytest.mark.parametrize(
    ("name", "forbidden"),
    [
        ("boto3", True),
        ("botocore.exceptions", True),
        ("tasks.orders", True),
        ("workflows.integrations.lambda_", True),
        ("workflows.local", True),
        ("workflows.engine.paths", False),
        ("workflows", False),
        ("orjson", False),
        ("asyncio", False),
    ],
)
def test_the_ast_check_tells_forbidden_imports_apart(name: str, forbidden: bool) -> None:
    assert _violation(name) is forbidden


def test_relative_imports_are_resolved_before_checking(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "from . import paths\nfrom ..integrations import sqs\n"
        "import importlib\nimportlib.import_module('boto3')\n",
        encoding="utf-8",
    )
    names = [name for _, name in _imports("workflows.engine.m", source)]
    assert "workflows.engine.paths" in names
    assert "workflows.integrations.sqs" in names
    assert "boto3" in names
    assert [n for n in names if _violation(n)] == [
        "workflows.integrations",
        "workflows.integrations.sqs",
        "boto3",
    ]
