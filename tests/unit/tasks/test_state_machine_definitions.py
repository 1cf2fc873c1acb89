"""Static checks of the three application state machines (engine-level path tests
come with the engine): valid JSON, every ``${...}`` placeholder documented in
``tasks/substitutions.json``, every Lambda placeholder pointing at a real handler,
every custom error name in ``ErrorEquals`` defined in a domain ``errors.py``,
transitions that resolve, transient retries with back-off and full jitter, and a
duplicate still in progress retried for longer than the function's timeout."""

from __future__ import annotations

import importlib
import inspect
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tasks.common import errors as common_errors
from tasks.notifications import errors as notification_errors
from tasks.orders import errors as order_errors
from workflows.local.template import load_template

ROOT = Path(__file__).resolve().parents[3]
MACHINES = ("order_processing", "notification", "stuck_order_sweep", "order_export_sweep")
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
CATALOG = json.loads((ROOT / "tasks" / "substitutions.json").read_text(encoding="utf-8"))
DOCUMENTED = set(CATALOG["lambdas"]) | set(CATALOG["resources"])
TRANSIENT = {
    "Lambda.ServiceException",
    "Lambda.TooManyRequestsException",
    "InventoryUnavailable",
    "PaymentProviderUnavailable",
    "NotificationProviderUnavailable",
}
DOMAIN_ERRORS = {
    name
    for module in (order_errors, notification_errors, common_errors)
    for name, value in vars(module).items()
    if isinstance(value, type) and issubclass(value, Exception)
}


def _text(name: str) -> str:
    return (ROOT / "state_machines" / f"{name}.asl.json").read_text(encoding="utf-8")


def _definition(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_text(name))
    return data


def _state_maps(definition: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The top-level States and those of every Map/Parallel, recursively."""
    yield definition["States"]
    for state in definition["States"].values():
        if "ItemProcessor" in state:
            yield from _state_maps(state["ItemProcessor"])
        for branch in state.get("Branches", []):
            yield from _state_maps(branch)


def _all_states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for states in _state_maps(definition):
        yield from states.items()


@pytest.mark.parametrize("name", MACHINES)
def test_definition_is_json_with_a_comment(name: str) -> None:
    definition = _definition(name)
    assert definition["Comment"]
    assert definition["StartAt"] in definition["States"]


@pytest.mark.parametrize("name", MACHINES)
def test_every_placeholder_is_documented(name: str) -> None:
    used = set(PLACEHOLDER.findall(_text(name)))
    assert used, "a definition without substitutions is suspicious"
    assert used <= DOCUMENTED, f"undocumented placeholders: {sorted(used - DOCUMENTED)}"


def test_every_documented_placeholder_is_used() -> None:
    used = {p for name in MACHINES for p in PLACEHOLDER.findall(_text(name))}
    assert used == DOCUMENTED


@pytest.mark.parametrize(("placeholder", "target"), sorted(CATALOG["lambdas"].items()))
def test_every_lambda_placeholder_names_a_handler(placeholder: str, target: str) -> None:
    module_name, _, attribute = target.rpartition(".")
    assert callable(getattr(importlib.import_module(module_name), attribute))


@pytest.mark.parametrize("name", MACHINES)
def test_lambda_tasks_use_the_recommended_invoke_pattern(name: str) -> None:
    for state_name, state in _all_states(_definition(name)):
        if state.get("Resource") != "arn:aws:states:::lambda:invoke":
            continue
        params = state["Parameters"]
        assert PLACEHOLDER.fullmatch(params["FunctionName"]), state_name
        assert params["Payload.$"] == "$", state_name
        for path in state["ResultSelector"].values():
            assert path.startswith("$.Payload"), state_name


@pytest.mark.parametrize("name", MACHINES)
def test_transitions_resolve_and_every_state_ends_somewhere(name: str) -> None:
    for states in _state_maps(_definition(name)):
        for state_name, state in states.items():
            targets = [state.get("Next"), state.get("Default")]
            targets += [c["Next"] for c in state.get("Choices", [])]
            targets += [c["Next"] for c in state.get("Catch", [])]
            for target in filter(None, targets):
                assert target in states, f"{state_name} -> {target}"
            terminal = state["Type"] in {"Succeed", "Fail", "Choice"} or state.get("End")
            assert terminal or "Next" in state, state_name


@pytest.mark.parametrize("name", MACHINES)
def test_error_names_are_aws_names_or_domain_errors(name: str) -> None:
    for state_name, state in _all_states(_definition(name)):
        for rule in state.get("Retry", []) + state.get("Catch", []):
            for error in rule["ErrorEquals"]:
                aws_name = "." in error
                assert aws_name or error in DOMAIN_ERRORS, f"{state_name}: {error}"


@pytest.mark.parametrize("name", MACHINES)
def test_transient_errors_retry_with_backoff_and_full_jitter(name: str) -> None:
    for state_name, state in _all_states(_definition(name)):
        for rule in state.get("Retry", []):
            if TRANSIENT & set(rule["ErrorEquals"]):
                assert rule["BackoffRate"] > 1, state_name
                assert rule["MaxDelaySeconds"] >= rule["IntervalSeconds"], state_name
                assert rule["JitterStrategy"] == "FULL", state_name


def test_every_order_failure_compensates_before_the_fail_state() -> None:
    states = _definition("order_processing")["States"]
    assert states["ChargePayment"]["Catch"][0] == {
        "ErrorEquals": ["PaymentDeclined"],
        "ResultPath": "$.error",
        "Next": "ReleaseInventory",
    }
    assert states["ConfirmOrder"]["Catch"][0]["Next"] == "RefundPayment"
    chain = ["RefundPayment", "ReleaseInventory", "RejectOrder", "PublishOrderRejected"]
    for here, there in zip(chain, [*chain[1:], "OrderRejected"], strict=True):
        assert states[here]["Next"] == there
    assert states["PublishOrderRejected"]["Parameters"]["Entries"][0]["DetailType"] == (
        "OrderRejected"
    )
    approval = states["RequestApproval"]
    assert approval["TimeoutSeconds"] == 86400
    assert approval["Catch"][0]["ErrorEquals"] == ["States.Timeout"]
    assert approval["Parameters"]["MessageBody"]["TaskToken.$"] == "$$.Task.Token"


def test_notification_channels_fail_independently() -> None:
    fan_out = _definition("notification")["States"]["SendOnEachChannel"]
    assert fan_out["MaxConcurrency"] == 2
    inner = fan_out["ItemProcessor"]["States"]
    for sender in ("SendEmail", "SendSms", "SendPush"):
        assert inner[sender]["Catch"][-1]["ErrorEquals"] == ["States.ALL"]
        assert inner[sender]["Catch"][-1]["Next"] == "RecordFailedDelivery"


def test_json_paths_compile_with_the_engine() -> None:
    paths = pytest.importorskip("workflows.engine.paths")
    for name in MACHINES:
        for state_name, state in _all_states(_definition(name)):
            for key in ("InputPath", "OutputPath", "ResultPath", "ItemsPath"):
                if isinstance(state.get(key), str):
                    paths.compile_path(state[key])
            for choice in state.get("Choices", []):
                for rule in choice.get("And", [choice]):
                    paths.compile_path(rule["Variable"])
            for template in (state.get("Parameters"), state.get("ResultSelector")):
                for key, value in _dollar_fields(template):
                    if not value.startswith("States."):
                        paths.compile_path(value), (state_name, key)


def _dollar_fields(template: Any) -> Iterator[tuple[str, str]]:
    if isinstance(template, dict):
        for key, value in template.items():
            if key.endswith(".$") and isinstance(value, str):
                yield key, value
            else:
                yield from _dollar_fields(value)
    elif isinstance(template, list):
        for value in template:
            yield from _dollar_fields(value)


# ------------------------------------------------------------ duplicates in progress

IN_PROGRESS = "DuplicateRequestInProgress"


def _uses_run_idempotently(handler: str) -> bool:
    """Whether the handler's module, or a ``tasks`` module it imports, calls it."""
    module = importlib.import_module(handler.rpartition(".")[0])
    sources = [module] + [
        value
        for value in (inspect.getmodule(v) for v in vars(module).values())
        if value is not None and value.__name__.startswith("tasks.")
    ]
    return any("run_idempotently(" in inspect.getsource(source) for source in sources)


def _function_timeouts() -> dict[str, int]:
    """Each Lambda placeholder's function ``Timeout`` in the SAM template (Terraform's
    equals it: tests/unit/infra/test_terraform_parity.py)."""
    template = load_template(ROOT / "infra" / "sam" / "template.yaml")
    by_handler = {f.handler: f.timeout for f in template.functions.values()}
    return {placeholder: by_handler[h] for placeholder, h in CATALOG["lambdas"].items()}


def _idempotent_tasks() -> Iterator[tuple[str, str, dict[str, Any], int]]:
    timeouts = _function_timeouts()
    for name in MACHINES:
        for state_name, state in _all_states(_definition(name)):
            if state.get("Resource") != "arn:aws:states:::lambda:invoke":
                continue
            [placeholder] = PLACEHOLDER.findall(state["Parameters"]["FunctionName"])
            if _uses_run_idempotently(CATALOG["lambdas"][placeholder]):
                yield name, state_name, state, timeouts[placeholder]


def _backoff_without_jitter(retrier: dict[str, Any]) -> float:
    """Seconds from the first failed attempt to the last retry (ASL's defaults)."""
    interval = retrier.get("IntervalSeconds", 1)
    rate = retrier.get("BackoffRate", 2.0)
    cap = retrier.get("MaxDelaySeconds", float("inf"))
    return sum(min(interval * rate**n, cap) for n in range(retrier.get("MaxAttempts", 3)))


def test_the_tasks_that_use_run_idempotently_are_found() -> None:
    found = {(name, state) for name, state, _, _ in _idempotent_tasks()}
    # ReserveInventory's transaction is its own guard (tasks/orders/reserve_inventory.py,
    # docs/decisions/0012)
    assert found == {
        ("order_processing", "ChargePayment"),
        ("notification", "SendEmail"),
        ("notification", "SendSms"),
        ("notification", "SendPush"),
    }


def test_a_duplicate_in_progress_is_retried_until_the_function_s_timeout_has_passed() -> None:
    """A crashed invocation's record stays IN_PROGRESS until its deadline, at most the
    function's Timeout after the crashed invocation started, which was before the
    retried execution's first attempt. Retries whose back-off (jitter would make it a
    random fraction, so none) adds up to more than that Timeout reach a free key."""
    for name, state_name, state, timeout in _idempotent_tasks():
        where = f"{name}.{state_name}"
        retriers = state["Retry"]
        matching = [i for i, r in enumerate(retriers) if IN_PROGRESS in r["ErrorEquals"]]
        assert matching, f"{where} does not retry {IN_PROGRESS}"
        first = retriers[matching[0]]
        # ASL takes the first Retrier whose ErrorEquals matches: no catch-all before it
        for earlier in retriers[: matching[0]]:
            assert not {"States.ALL", "States.TaskFailed"} & set(earlier["ErrorEquals"]), where
        assert first.get("JitterStrategy", "NONE") == "NONE", where
        waited = _backoff_without_jitter(first)
        assert waited > timeout, (
            f"{where}: {waited} s of retries, the function times out at {timeout} s"
        )


def test_only_the_tasks_that_take_a_record_retry_a_duplicate_in_progress() -> None:
    """A Retrier on an error the function cannot raise is dead weight that a reader
    would take for a promise: ReserveInventory lost its with its Powertools record."""
    idempotent = {(name, state) for name, state, _, _ in _idempotent_tasks()}
    for name in MACHINES:
        for state_name, state in _all_states(_definition(name)):
            retried = {e for r in state.get("Retry", []) for e in r["ErrorEquals"]}
            if IN_PROGRESS in retried:
                assert (name, state_name) in idempotent, f"{name}.{state_name}"
