"""``workflows``: run and validate state machines from the command line.

workflows run order_quote --input @examples/order_quote.json
workflows run state_machines/x.asl.json --input '{"a": 1}' --lambdas tasks.local
workflows validate state_machines/*.asl.json
workflows validate infra/sam/template.yaml --format sarif > validate.sarif
"""

from __future__ import annotations

import atexit
import gc
import importlib
import importlib.util
import inspect
import json
import os
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from workflows import definitions
from workflows.engine import DefinitionError, StateMachine, VirtualClock
from workflows.engine.diagnostics import Diagnostic
from workflows.engine.validation import validate_definition
from workflows.timeline import render_timeline

__all__ = ["main", "program"]


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
    # When the command has done its work the process ends, and Python's finalisation
    # collects garbage over everything still alive: for `workflows run` (boto3, moto,
    # the service models, the application) that was ~0.5 s of CPU after the last line
    # was printed. Freezing the heap at exit keeps those objects out of that collection;
    # output is flushed and every other exit handler runs as before. Registered once,
    # also when the CLI is invoked in-process (tests), where it runs at that process's end.
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


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
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the run as one self-contained HTML file (graph, events, state I/O).",
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
    report_path: Path | None,
) -> None:
    """Run DEFINITION (a path or a name in state_machines/) and print its timeline.

    A state machine declared in the SAM template runs as part of the application:
    its Lambdas are the template's functions, its service calls reach local
    stand-ins of DynamoDB, SQS, SNS, SES and EventBridge (moto, in this process),
    and the executions its events start (EventBridge rules) run too.
    """
    _quick_exit.add("run")  # everything it opens, it closes: see program()
    if lambdas_ref is None and not subs and template_path.is_file():
        # importing the runtime (boto3, the integrations) builds objects that live as
        # long as the process and no garbage: ~50 young collections for nothing. The
        # collector stays off until run_from_template has the services up and freezes
        # what start-up built (turned on in between, its first young collection would
        # traverse everything the imports built: 30 ms of CPU)
        enabled = gc.isenabled()
        gc.disable()
        try:
            ok = _run_from_template(
                template_path,
                definition,
                input_,
                name,
                virtual_time,
                show_history,
                show_logs,
                report_path,
            )
        finally:
            if enabled:
                gc.enable()
        if ok is not None:
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
    if report_path is not None:
        _write_report(report_path, [(text, result, "you")])
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
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--sub",
    "subs",
    multiple=True,
    help="Fill a ${Name} placeholder the files do not fill themselves: Name=value.",
)
@click.option(
    "--type",
    "machine_type",
    type=click.Choice(["STANDARD", "EXPRESS"]),
    help="Validate as this workflow type (default: the template's, else STANDARD).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "sarif"]),
    default="text",
    show_default=True,
    help="text for people, json for scripts, sarif for code scanning.",
)
def validate(
    paths: tuple[Path, ...], subs: tuple[str, ...], machine_type: str | None, output_format: str
) -> None:
    """Check definitions as AWS would; exit 1 if AWS would refuse any.

    PATHS are ASL files (or folders of *.asl.json), SAM/CloudFormation templates (each
    state machine, with the template's DefinitionSubstitutions) or Terraform modules
    (each templatefile()). Placeholders nothing fills are reported as notes, not errors.
    """
    from workflows.definition_files import read_definitions
    from workflows.validation_report import (
        Finding,
        render_json,
        render_sarif,
        render_text,
    )

    try:
        values = definitions.parse_substitutions(subs)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--sub") from None
    findings: list[Finding] = []
    checked: list[str] = []
    for path in paths:
        for source in read_definitions(path, values, machine_type):
            checked.append(source.label)
            diagnostics = list(source.problems)
            if source.text is not None:
                diagnostics += validate_definition(
                    source.text,
                    machine_type="EXPRESS" if source.machine_type == "EXPRESS" else "STANDARD",
                    placeholders=True,
                )
            for d in diagnostics:
                line, column = source.locate(d.location) or (None, None)
                findings.append(Finding(source.label, source.file, d, line, column))
            if output_format == "text" and not any(d.severity == "ERROR" for d in diagnostics):
                click.echo(f"{source.label}: valid")
    failed = any(f.diagnostic.severity == "ERROR" for f in findings)
    if output_format == "json":
        click.echo(render_json(findings, checked))
    elif output_format == "sarif":
        click.echo(render_sarif(findings, _version()))
    elif findings:
        click.echo(render_text(findings), err=True)
    if not checked and output_format == "text":
        click.echo("no state machine definitions found in " + ", ".join(map(str, paths)))
    if failed:
        raise SystemExit(1)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("workflows")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


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
@click.option("--console-port", default=8084, show_default=True, help="The web console.")
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
@click.option(
    "--function-concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Most sandboxes (worker processes) of one function at once [default: one per "
    "core, 2 to 4; a function's ReservedConcurrentExecutions lowers it].",
)
@click.option(
    "--sandboxes",
    type=click.Choice(["process", "in-process"]),
    default="process",
    show_default=True,
    help="What a function runs in: worker processes as Lambda runs them, or this process "
    "(one invocation at a time per function; a debugger's breakpoints in handlers work).",
)
def up(
    template_path: Path,
    host: str,
    api_port: int,
    stepfunctions_port: int,
    aws_port: int,
    console_port: int,
    state_dir: Path,
    fresh: bool,
    function_concurrency: int | None,
    sandboxes: str,
) -> None:
    """Bring the whole application up locally: API, Step Functions, AWS services, schedules,
    and the console to watch and act on executions.

    Ctrl-C or SIGTERM stops it gracefully (everything stored first); one instance per
    state directory.
    """
    import asyncio
    import gc
    import signal

    from workflows.local.memory_probe import install_from_environment, trim_when_grown

    install_from_environment()  # WORKFLOWS_MEMORY_PROFILE: tracemalloc, probes on SIGUSR1

    from workflows.console.server import serve_console
    from workflows.local.aws_services import AwsServicesStopped
    from workflows.local.instance_lock import StateDirInUse
    from workflows.local.run import FEWER_COLLECTIONS
    from workflows.local.runtime import LocalRuntime, PortInUse, Ports
    from workflows.local.service_data import ServiceDataError

    gc.set_threshold(*FEWER_COLLECTIONS)  # this process is the server: see FEWER_COLLECTIONS

    runtime = LocalRuntime(
        template_path,
        ports=Ports(host, api_port, stepfunctions_port, aws_port),
        state_dir=state_dir,
        servers=[serve_console(console_port)],
        fresh=fresh,
        sandboxes="in-process" if sandboxes == "in-process" else "process",
        function_concurrency=function_concurrency,
    )
    flags = {
        "api": "--api-port",
        "stepfunctions": "--stepfunctions-port",
        "aws": "--aws-port",
        "console": "--console-port",
    }

    async def serve() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stopping.set)
        await runtime.start()
        gc.freeze()  # what starting built (modules, services) lives as long as the server
        click.echo(runtime.banner())
        waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(stopping.wait())]
        if runtime.services_stopped is not None:
            waits.append(runtime.services_stopped)  # moto's process ended on its own
        trimming = asyncio.ensure_future(trim_when_grown())  # freed heap back to the system
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waits[0].cancel()
            trimming.cancel()
            await runtime.stop()
        if runtime.services_stopped is not None and runtime.services_stopped.done():
            raise click.ClickException(runtime.services_stopped.result())

    try:
        asyncio.run(serve())
    except (StateDirInUse, ServiceDataError, AwsServicesStopped) as error:
        raise click.ClickException(str(error)) from None
    except PortInUse as error:
        raise click.ClickException(
            f"port {error.port} on {error.host} is already in use ({error.role}); "
            f"stop what uses it or choose another port with {flags[error.role]}"
        ) from None
    click.echo("stopped")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--stepfunctions-port", default=8083, show_default=True)
@click.option("--aws-port", default=4566, show_default=True, help="Local AWS services (moto).")
def env(host: str, stepfunctions_port: int, aws_port: int) -> None:
    """Print the exports that point boto3 and the AWS CLI at `workflows up`:
    eval "$(workflows env)"."""
    import shlex

    from workflows.local.runtime import Ports, client_environment

    ports = Ports(host, stepfunctions=stepfunctions_port, aws=aws_port)
    for name, value in client_environment(ports).items():
        click.echo(f"export {name}={shlex.quote(value)}")


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
@click.option(
    "--api-port",
    default=3000,
    show_default=True,
    help="The --api-port of the `workflows up` that is to accept it (its issuer names it).",
)
def token(subject: str, roles: tuple[str, ...], minutes: int, api_port: int) -> None:
    """Print a JWT that the local API (`workflows up`) accepts, signed by the local key."""
    from workflows.local.local_auth import jwt_environment, mint_token

    issuer = jwt_environment(f"http://127.0.0.1:{api_port}")["JWT_ISSUER"]
    click.echo(mint_token(subject, roles=roles, minutes=minutes, issuer=issuer))


@main.command()
@click.argument("history", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--definition",
    "reference",
    required=True,
    help="The definition to replay: a path or a name in state_machines/.",
)
@click.option("--sub", "subs", multiple=True, help="Fill a ${Name} placeholder: Name=value.")
def replay(history: Path, reference: str, subs: tuple[str, ...]) -> None:
    """Replay HISTORY (aws stepfunctions get-execution-history --output json) against a
    definition: each Task answered as recorded; say where the local run leaves it."""
    from workflows.testing.replay import replay as replay_history

    values = dict(sub.split("=", 1) for sub in subs if "=" in sub)
    text = definitions.substitute(find_definition(reference).read_text(), values, stand_ins=True)
    try:
        replayed = replay_history(history, text)
    except (ValueError, KeyError) as error:
        raise click.BadParameter(f"{history} is not an execution history: {error}") from None
    click.echo(render_timeline(replayed.result.history))
    if replayed.divergence is None:
        click.echo(f"replayed: the local run matches the recorded one ({replayed.result.status})")
        return
    click.echo(f"diverged at {replayed.divergence}", err=True)
    raise SystemExit(1)


def _template_report(path: Path) -> Callable[[Any], None]:
    """Write the report of every execution a template run caused (the one started first)."""

    def write(app: Any) -> None:
        records = sorted(app.records, key=lambda r: r.result.start_date)
        _write_report(
            path,
            [
                (
                    app.template.state_machine(r.state_machine).definition_text(),
                    r.result,
                    r.started_by,
                )
                for r in records
            ],
        )

    return write


def _run_from_template(
    template_path: Path,
    definition: str,
    input_: str,
    name: str | None,
    virtual_time: bool,
    show_history: bool,
    show_logs: bool,
    report_path: Path | None,
) -> bool | None:
    """Run DEFINITION as a state machine of the template; None when it declares none such."""
    from workflows.local.run import run_from_template
    from workflows.local.template import TemplateError, load_template

    template = load_template(template_path)
    try:
        template.state_machine(definition)
    except TemplateError:
        return None
    data = read_json_option(input_, "--input")
    clock = VirtualClock(real_time_passes=True) if virtual_time else None
    return run_from_template(
        template,
        definition,
        data,
        name=name,
        clock=clock,
        show_history=show_history,
        show_logs=show_logs,
        echo=click.echo,
        after=None if report_path is None else _template_report(report_path),
    )


def _write_report(path: Path, runs: list[tuple[str, Any, str]]) -> None:
    from workflows.console.report import report_run, write_report

    write_report(
        path,
        [
            report_run(definition, result, started_by=started_by)
            for definition, result, started_by in runs
        ],
    )
    click.echo(f"Report: {path}")


def _print_diagnostics(path: Path, diagnostics: list[Diagnostic]) -> None:
    for d in diagnostics:
        click.echo(f"{path}:{d.location or '/'}: {d.severity} {d.code}: {d.message}", err=True)


# the commands that let program() end the process without tearing its heap down
_quick_exit: set[str] = set()


def program() -> None:
    """``workflows`` as a program of its own (the console script, ``python -m``).

    ``main``, then, after ``workflows run``, the process ends as Python ends it
    (threads joined, exit handlers run, output flushed, the same status) without
    tearing its heap down: that was ~25 ms of CPU deallocating boto3, moto, the service
    models and the application one object at a time, with nothing left to write (every
    file the command opens is closed by it). A run that leaves a thread running, and
    every other command (``up``'s servers, stores and child processes among them), end
    the ordinary way. In-process callers (tests, ``CliRunner``) call ``main``.
    """
    try:
        main()
    except SystemExit as stop:
        status = _exit_status(stop.code)
    else:  # pragma: no cover - click's standalone mode always raises SystemExit
        status = 0
    if not _quick_exit or threading.active_count() > 1:
        raise SystemExit(status)  # Python's own exit (it waits for the threads)
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        status = 120  # what Python exits with when it cannot flush the output
    os._exit(status)


def _exit_status(code: object) -> int:
    """The status Python gives a process that ends with ``SystemExit(code)``."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    program()
