"""``workflows run NAME`` for a state machine of the SAM template.

Runs the execution inside moto's in-process AWS (no account, no network), with the
template's tables, queues and buses created and seeded, and prints the timeline of
every execution it caused (rules can start more) and what landed in the services.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import os
import threading
import warnings
from collections.abc import Callable
from typing import Any

from botocore.config import Config

from workflows.engine.clock import Clock
from workflows.integrations import new_session
from workflows.local.app import LocalApp
from workflows.local.template import ACCOUNT, REGION, Template
from workflows.timeline import render_timeline

__all__ = [
    "FEWER_COLLECTIONS",
    "fake_aws_environment",
    "granted_services",
    "run_from_template",
    "run_may_start",
]

# The garbage collector's thresholds while the runtime works. With Python's (700, 10,
# 10), importing boto3, moto and the task modules and serving the run triggered about
# 320 young and 2 full collections in one ``make demo``: 0.2-0.5 s of its CPU, for a
# heap that is almost all long-lived modules. Collections still run, just less often;
# what the imports built is frozen out of them once the services are provisioned.
FEWER_COLLECTIONS = (20_000, 50, 100)

# the settings the service integrations build their clients with (_boto.ClientPool)
_STANDARD_RETRIES = Config(retries={"mode": "standard"})

Echo = Callable[..., None]


def fake_aws_environment() -> dict[str, str]:
    """Credentials and region for the local stand-ins; never a real account's."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }


def run_from_template(
    template: Template,
    reference: str,
    data: Any,
    *,
    name: str | None,
    clock: Clock | None,
    show_history: bool,
    show_logs: bool = False,
    echo: Echo,
    after: Callable[[LocalApp], None] | None = None,
) -> bool:
    """Run one execution with everything it causes; ``after`` sees the app before moto stops."""
    thresholds = gc.get_threshold()
    enabled = gc.isenabled()
    gc.set_threshold(*FEWER_COLLECTIONS)
    # No collection until the services are up. Start-up (importing moto, moto's first
    # request to each service, the clients, the seed) allocates hundreds of thousands
    # of objects that live as long as the run and almost no garbage cycles: even at
    # FEWER_COLLECTIONS its young collections (each traversing the ~20,000 objects just
    # built, 6-11 ms of CPU apiece) found 0-141 objects each, ~70 ms of CPU in one
    # ``make demo``. ``_run_in_moto`` freezes what start-up built (cycles it left would
    # have been frozen with it, collected or not) and turns the collector back on for
    # the executions, which do make garbage.
    gc.disable()
    try:
        return _run_with_services(
            template, reference, data, name, clock, show_history, show_logs, echo, after
        )
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        if enabled:
            gc.enable()
        else:
            gc.disable()


def _run_with_services(
    template: Template,
    reference: str,
    data: Any,
    name: str | None,
    clock: Clock | None,
    show_history: bool,
    show_logs: bool,
    echo: Echo,
    after: Callable[[LocalApp], None] | None,
) -> bool:
    from moto import mock_aws

    from workflows.local.moto_patches import patch_transactions
    from workflows.local.shared_loader import share_botocore_loader

    share_botocore_loader()
    patch_transactions()
    os.environ.update(fake_aws_environment())
    if not show_logs:
        # on AWS these lines go to CloudWatch; here they would bury the timeline
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        warnings.filterwarnings("ignore", module="aws_lambda_powertools")
    for key in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
        del os.environ[key]  # moto answers in-process; no endpoint may lead elsewhere
    with mock_aws():
        return _run_in_moto(template, reference, data, name, clock, show_history, echo, after)


def _run_in_moto(
    template: Template,
    reference: str,
    data: Any,
    name: str | None,
    clock: Clock | None,
    show_history: bool,
    echo: Echo,
    after: Callable[[LocalApp], None] | None,
) -> bool:
    from workflows.local.moto_patches import bring_up_services, bucket_maker

    # one boto3 session for the runtime's own calls (provisioning, the service
    # integrations, the summary): a run uses them one after the other, and a botocore
    # session costs ~10 ms of CPU to build (each function's sandbox keeps its own)
    session = functools.cache(lambda: _RunSession(new_session(region_name=REGION)))
    app = LocalApp(
        template, clock=clock, session_factory=session, make_bucket=bucket_maker(ACCOUNT, REGION)
    )
    os.environ.update(app.environment())
    app.provision()
    # moto's stand-ins of the services the executions may call, up before they start
    # (as on AWS), so that an execution's timeline does not hold moto building one
    bring_up_services(
        granted_services(template, run_may_start(template, reference)), ACCOUNT, REGION
    )
    gc.freeze()  # the modules and services built so far live as long as the run
    gc.enable()  # start-up is over (see run_from_template): executions make garbage
    result = asyncio.run(_run(app, reference, data, name))
    for record in app.records:
        title = f"{record.state_machine} (started by {record.started_by})"
        echo(f"\n== {title}: {record.result.status}")
        echo(f"   {record.result.execution_arn}")
        events = record.result.history
        if show_history:
            echo(json.dumps(events, indent=2, default=str))
        echo(render_timeline(events))
    echo("\n== What the local services hold now")
    for line in _service_summary(app):
        echo(f"   {line}")
    if after is not None:
        after(app)
    if result.status == "SUCCEEDED":
        echo("\nOutput:")
        echo(json.dumps(result.output, indent=2, ensure_ascii=False))
        return True
    echo(f"\n{result.status}: {result.error}", err=True)
    if result.cause:
        echo(f"Cause: {result.cause}", err=True)
    return False


# SAM's policy templates by the service they grant (DynamoDBCrudPolicy, SESCrudPolicy, ...)
_POLICY_TEMPLATE_SERVICES = {
    "DynamoDB": "dynamodb",
    "EventBridge": "events",
    "S3": "s3",
    "SES": "ses",
    "SNS": "sns",
    "SQS": "sqs",
}
# what the runtime answers itself (executions, in-process functions), never moto
_RUNTIME_SERVED = frozenset({"lambda", "states", "stepfunctions"})


def run_may_start(template: Template, reference: str) -> set[str]:
    """The state machines (logical ids) a run of ``reference`` starts, or may: that one
    and those the template's EventBridge rules start (schedules do not fire in a run)."""
    return {template.state_machine(reference).logical_id} | {
        spec.logical_id for spec in template.state_machines.values() if spec.rules
    }


def granted_services(template: Template, machines: set[str] | None = None) -> set[str]:
    """The services the template's functions and state machines are granted, by
    botocore's name: those their executions may call. ``machines``, given, counts only
    those state machines (logical ids); every function counts."""
    services = set()
    for kind in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
        for logical_id, resource in template.of_type(kind).items():
            if (
                machines is not None
                and kind.endswith("StateMachine")
                and logical_id not in machines
            ):
                continue  # a state machine this run does not start
            policies = (resource.get("Properties") or {}).get("Policies") or []
            for policy in policies if isinstance(policies, list) else [policies]:
                if not isinstance(policy, dict):
                    continue  # a managed policy's name or ARN: what it grants is not here
                for key, value in policy.items():
                    if key == "Statement":
                        services.update(_statement_services(value))
                    else:
                        services.update(
                            service
                            for prefix, service in _POLICY_TEMPLATE_SERVICES.items()
                            if key.startswith(prefix)
                        )
    return services - _RUNTIME_SERVED


def _statement_services(statements: Any) -> set[str]:
    found = set()
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", []) if isinstance(statement, dict) else []
        for action in actions if isinstance(actions, list) else [actions]:
            if isinstance(action, str) and ":" in action:
                found.add(action.split(":", 1)[0].lower())
    return found


class _RunSession:
    """The run's boto3 session: one client per service for provisioning, the service
    integrations and the summary.

    The integrations ask for their clients with the run's region and botocore's
    ``standard`` retries; a client asked for with no options is built with those same
    settings, so the DynamoDB and EventBridge clients provisioning builds are the ones
    the order's Tasks call (two clients fewer, ~15 ms of CPU, in the order's timeline
    before). Retries never happen against moto in-process, so the settings change
    nothing a user sees. A client asked for with other options is one of its own.
    """

    def __init__(self, session: Any) -> None:
        self._session = session
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service_name: str, **options: Any) -> Any:
        if not _shared_settings(options):
            return self._session.client(service_name, **options)
        with self._lock:
            found = self._clients.get(service_name)
            if found is None:
                found = self._clients[service_name] = self._session.client(
                    service_name, region_name=REGION, config=_STANDARD_RETRIES
                )
            return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def _shared_settings(options: dict[str, Any]) -> bool:
    """Whether a client with these options may be the run's shared one of its service."""
    if not options:
        return True
    if set(options) - {"region_name", "config"}:
        return False
    if options.get("region_name", REGION) != REGION:
        return False
    config = options.get("config")
    # botocore keeps what a Config was given apart from its defaults
    given = getattr(config, "_user_provided_options", None)
    return config is None or given == {"retries": {"mode": "standard"}}


async def _run(app: LocalApp, reference: str, data: Any, name: str | None) -> Any:
    result = await app.execute(reference, data, name=name)
    await app.drain()
    return result


def _service_summary(app: LocalApp) -> list[str]:
    session = app.session()
    lines = []
    dynamodb = session.client("dynamodb")
    for logical_id in app.template.of_type("AWS::DynamoDB::Table"):
        count = dynamodb.scan(TableName=logical_id, Select="COUNT")["Count"]
        lines.append(f"DynamoDB {logical_id}: {count} items")
    sqs = session.client("sqs")
    for logical_id in app.template.of_type("AWS::SQS::Queue"):
        url = sqs.get_queue_url(QueueName=logical_id)["QueueUrl"]
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        lines.append(
            f"SQS {logical_id}: {attributes['ApproximateNumberOfMessages']} messages waiting"
        )
    sent = session.client("ses").get_send_quota().get("SentLast24Hours", 0)
    lines.append(f"SES: {int(sent)} emails sent")
    return lines
