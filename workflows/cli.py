"""``workflows``: run and validate state machines from the command line.

workflows run order_quote --input @examples/order_quote.json
workflows run state_machines/x.asl.json --input '{"a": 1}' --lambdas tasks.local
workflows validate state_machines/*.asl.json
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from workflows import definitions
from workflows.engine import DefinitionError, StateMachine, VirtualClock
from workflows.engine.diagnostics import Diagnostic
from workflows.timeline import render_timeline

__all__ = ["main"]


def find_definition(reference: str) -> Path:
    try:
        return definitions.find_definition(reference)
    except definitions.DefinitionNotFound as error:
        raise click.BadParameter(str(error)) from None


def read_json_option(value: str, what: str) -> Any:
    """JSON text, or @path to a file holding JSON."""
    text = value
    if value.startswith("@"):
        file = Path(value[1:])
        if not file.is_file():
            raise click.BadParameter(f"{what} file {file} does not exist")
        text = file.read_text()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Fill ``${Name}`` placeholders as SAM DefinitionSubstitutions would."""
    try:
        return definitions.substitute(text, values)
    except definitions.MissingSubstitutions as error:
        raise click.UsageError(f"{error} (give them with --sub Name=value)") from None


def load_lambdas(reference: str) -> dict[str, Callable[..., Any]]:
    """Handlers from a module (dotted name or .py path), optionally ``module:ATTRIBUTE``.

    The attribute (default ``LAMBDAS``) maps function names to handlers; without it,
    every public function of the module taking (event, context) is a handler.
    """
    module_ref, _, attribute = reference.partition(":")
    if module_ref.endswith(".py"):
        spec = importlib.util.spec_from_file_location(Path(module_ref).stem, module_ref)
        if spec is None or spec.loader is None:
            raise click.BadParameter(f"cannot load {module_ref}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        sys.path.insert(0, str(Path.cwd()))
        try:
            module = importlib.import_module(module_ref)
        except ImportError as exc:
            raise click.BadParameter(f"cannot import {module_ref}: {exc}") from None
    table = getattr(module, attribute or "LAMBDAS", None)
    if table is not None:
        return dict(table)
    return {
        name: fn
        for name, fn in vars(module).items()
        if inspect.isfunction(fn)
        and not name.startswith("_")
        and fn.__module__ == module.__name__
        and len(inspect.signature(fn).parameters) == 2
    }


@click.group()
@click.version_option(package_name="workflows")
def main() -> None:
    """Run AWS Step Functions workflows locally, exactly as AWS runs them."""


DEFAULT_TEMPLATE = Path("infra/sam/template.yaml")


@main.command()
@click.argument("definition")
@click.option("--input", "input_", default="{}", help="Execution input: JSON text or @file.")
@click.option("--lambdas", "lambdas_ref", help="Module with the Lambda handlers (see docs).")
@click.option("--sub", "subs", multiple=True, help="Fill a ${Name} placeholder: Name=value.")
@click.option("--name", help="Execution name (default: a UUID).")
@click.option(
    "--virtual-time/--real-time",
    default=True,
    show_default=True,
    help="Skip waits, retries' back-off and timeouts instantly (virtual clock).",
)
@click.option("--history", "show_history", is_flag=True, help="Print every history event as JSON.")
@click.option(
    "--template",
    "template_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_TEMPLATE,
    show_default=True,
    help="SAM template whose state machines run with their functions and local AWS services.",
)
@click.option(
    "--logs/--no-logs",
    "show_logs",
    default=False,
    show_default=True,
    help="Show the functions' own log lines and metrics (Powertools JSON).",
)
def run(
    definition: str,
    input_: str,
    lambdas_ref: str | None,
    subs: tuple[str, ...],
    name: str | None,
    virtual_time: bool,
    show_history: bool,
    template_path: Path,
    show_logs: bool,
) -> None:
    """Run DEFINITION (a path or a name in state_machines/) and print its timeline.

    A state machine declared in the SAM template runs as part of the application:
    its Lambdas are the template's functions, its service calls reach local
    stand-ins of DynamoDB, SQS, SNS, SES and EventBridge (moto, in this process),
    and the executions its events start (EventBridge rules) run too.
    """
    if lambdas_ref is None and not subs and template_path.is_file():
        from workflows.local.run import run_from_template
        from workflows.local.template import TemplateError, load_template

        template = load_template(template_path)
        try:
            template.state_machine(definition)
        except TemplateError:
            pass
        else:
            data = read_json_option(input_, "--input")
            clock = VirtualClock(real_time_passes=True) if virtual_time else None
            ok = run_from_template(
                template,
                definition,
                data,
                name=name,
                clock=clock,
                show_history=show_history,
                show_logs=show_logs,
                echo=click.echo,
            )
            raise SystemExit(0 if ok else 1)
    path = find_definition(definition)
    values = dict(s.split("=", 1) for s in subs if "=" in s)
    text = substitute(path.read_text(), values)
    data = read_json_option(input_, "--input")
    lambdas = load_lambdas(lambdas_ref) if lambdas_ref else {}
    try:
        machine = StateMachine(text, name=path.name.split(".")[0])
    except DefinitionError as error:
        _print_diagnostics(path, error.diagnostics)
        raise SystemExit(2) from None
    clock = VirtualClock(real_time_passes=True) if virtual_time else None
    result = machine.run(data, lambdas=lambdas, clock=clock, name=name)
    events = result.history
    if show_history:
        click.echo(json.dumps(events, indent=2, default=str))
    click.echo(f"Execution {result.execution_arn}")
    click.echo(render_timeline(events))
    if result.status == "SUCCEEDED":
        click.echo("Output:")
        click.echo(json.dumps(result.output, indent=2, ensure_ascii=False))
    else:
        click.echo(f"{result.status}: {result.error}", err=True)
        if result.cause:
            click.echo(f"Cause: {result.cause}", err=True)
        raise SystemExit(1)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def validate(paths: tuple[str, ...]) -> None:
    """Check definitions as AWS would; print every problem with its JSON pointer."""
    failed = 0
    for raw in paths:
        path = Path(raw)
        text = definitions.substitute(path.read_text(), {}, stand_ins=True)
        try:
            StateMachine(text)
        except DefinitionError as error:
            failed += 1
            _print_diagnostics(path, error.diagnostics)
        else:
            click.echo(f"{path}: valid")
    if failed:
        raise SystemExit(1)


@main.command()
@click.option(
    "--template",
    "template_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEFAULT_TEMPLATE,
    show_default=True,
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--api-port", default=3000, show_default=True)
@click.option("--stepfunctions-port", default=8083, show_default=True)
@click.option("--aws-port", default=4566, show_default=True, help="Local AWS services (moto).")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".workflows"),
    show_default=True,
    help="Where executions, service data and the signing key are kept.",
)
@click.option(
    "--fresh",
    is_flag=True,
    help="Start clean: forget the executions and the services' data of earlier runs.",
)
def up(
    template_path: Path,
    host: str,
    api_port: int,
    stepfunctions_port: int,
    aws_port: int,
    state_dir: Path,
    fresh: bool,
) -> None:
    """Bring the whole application up locally: API, Step Functions, AWS services, schedules.

    Ctrl-C or SIGTERM stops it gracefully (everything stored first); one instance per
    state directory.
    """
    import asyncio
    import signal

    from workflows.local.instance_lock import StateDirInUse
    from workflows.local.runtime import LocalRuntime, PortInUse, Ports

    runtime = LocalRuntime(
        template_path,
        ports=Ports(host, api_port, stepfunctions_port, aws_port),
        state_dir=state_dir,
        fresh=fresh,
    )
    flags = {"api": "--api-port", "stepfunctions": "--stepfunctions-port", "aws": "--aws-port"}

    async def serve() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stopping.set)
        await runtime.start()
        click.echo(runtime.banner())
        try:
            await stopping.wait()
        finally:
            await runtime.stop()

    try:
        asyncio.run(serve())
    except StateDirInUse as error:
        raise click.ClickException(str(error)) from None
    except PortInUse as error:
        raise click.ClickException(
            f"port {error.port} on {error.host} is already in use ({error.role}); "
            f"stop what uses it or choose another port with {flags[error.role]}"
        ) from None
    click.echo("stopped")


@main.command()
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".workflows"),
    show_default=True,
)
def reset(state_dir: Path) -> None:
    """Forget the executions and the services' data that `workflows up` keeps.

    Refused while a `workflows up` uses the directory. The local signing key stays,
    so tokens from `workflows token` remain valid.
    """
    from workflows.local.instance_lock import InstanceLock, StateDirInUse
    from workflows.local.runtime import forget_state

    if not state_dir.is_dir():
        click.echo(f"{state_dir} does not exist: nothing to reset")
        return
    lock = InstanceLock(state_dir)
    try:
        lock.acquire()
    except StateDirInUse as error:
        raise click.ClickException(str(error)) from None
    try:
        removed = forget_state(state_dir)
    finally:
        lock.release()
    for path in removed:
        click.echo(f"removed {path}")
    click.echo(f"{state_dir} is clean" if removed else f"{state_dir} held nothing to reset")


@main.command()
@click.option("--sub", "subject", default="CUST-1001", show_default=True, help="The caller (sub).")
@click.option("--role", "roles", multiple=True, help="A role claim, e.g. approver (repeatable).")
@click.option("--minutes", default=60, show_default=True, help="How long the token is valid.")
def token(subject: str, roles: tuple[str, ...], minutes: int) -> None:
    """Print a JWT that the local API (`workflows up`) accepts, signed by the local key."""
    from workflows.local.local_auth import mint_token

    click.echo(mint_token(subject, roles=roles, minutes=minutes))


def _print_diagnostics(path: Path, diagnostics: list[Diagnostic]) -> None:
    for d in diagnostics:
        click.echo(f"{path}:{d.location or '/'}: {d.severity} {d.code}: {d.message}", err=True)


if __name__ == "__main__":
    main()
