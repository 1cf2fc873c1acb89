"""What the routes do, free of HTTP: place an order, read it, decide an approval, page history.

Every function takes its collaborators (:class:`Services`) and the authenticated
:class:`~workflows.api.auth.Principal` explicitly and raises :mod:`workflows.api.errors`.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import jwt

from workflows.api.auth import JwtVerifier, Principal, SigningKeySource
from workflows.api.aws import (
    ExecutionAlreadyExists,
    ExecutionNotFound,
    InvalidNextToken,
    OrdersTable,
    OrderStore,
    StepFunctionsClient,
    TaskNotPending,
    Workflows,
    boto3_factories,
    to_plain,
)
from workflows.api.errors import ORDER_REJECTED, Conflict, Forbidden, NotFound, Unprocessable
from workflows.api.models import (
    ApprovalRequest,
    ApprovalResult,
    CreateOrderRequest,
    ExecutionStatus,
    HistoryEvent,
    HistoryPage,
    OrderAccepted,
    OrderView,
    OrderWorkflowInput,
    WorkflowView,
)
from workflows.api.settings import ApiSettings

MAX_EXECUTION_NAME = 80
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_ENDED_UNSUCCESSFULLY = frozenset({"FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"})
_EXECUTION_STATUSES = frozenset(
    {"RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"}
)
_ORDER_STATUSES = frozenset({"PENDING", "AWAITING_APPROVAL", "CONFIRMED", "REJECTED", "CANCELLED"})
# Secrets that can appear in execution history payloads; masked before they leave the API.
_SECRET_KEYS = ("paymentToken", "approvalTaskToken", "taskToken", "TaskToken", "token")
_SECRET_IN_JSON = re.compile(r'("(?:' + "|".join(_SECRET_KEYS) + r')"\s*:\s*)"(?:[^"\\]|\\.)*"')
REDACTED = "***"
STATE_LOOKBACK_EVENTS = 25


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_order_id() -> str:
    return f"ord-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Services:
    """The collaborators of the API, with production defaults built by :meth:`create`."""

    settings: ApiSettings
    workflows: Workflows
    orders: OrderStore
    verifier: JwtVerifier
    clock: Callable[[], datetime] = utc_now
    new_order_id: Callable[[], str] = new_order_id

    @classmethod
    def create(
        cls,
        settings: ApiSettings,
        *,
        sfn: StepFunctionsClient | None = None,
        table: OrdersTable | None = None,
        jwks: SigningKeySource | None = None,
        clock: Callable[[], datetime] | None = None,
        id_factory: Callable[[], str] | None = None,
    ) -> Services:
        """Services for ``settings``; any collaborator not passed gets its AWS default."""
        if sfn is None or table is None:
            make_sfn, make_table = boto3_factories()
            sfn = sfn if sfn is not None else make_sfn()
            table = table if table is not None else make_table(settings.orders_table)
        if jwks is None and settings.jwt_jwks_url:
            # The key set is cached for 5 minutes and refetched on an unknown kid (rotation);
            # keys are not cached one by one, so a key removed from the set stops working.
            jwks = jwt.PyJWKClient(settings.jwt_jwks_url, lifespan=300, timeout=5)
        secret = settings.jwt_hs256_secret
        verifier = JwtVerifier(
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            algorithms=settings.allowed_algorithms,
            jwks=jwks if settings.jwt_jwks_url else None,
            hs256_secret=secret.get_secret_value() if secret is not None else None,
            leeway=timedelta(seconds=settings.jwt_leeway_seconds),
        )
        return cls(
            settings=settings,
            workflows=Workflows(sfn),
            orders=OrderStore(table),
            verifier=verifier,
            clock=clock or utc_now,
            new_order_id=id_factory or new_order_id,
        )


# --- naming -------------------------------------------------------------------------------


def execution_name(order_id: str) -> str:
    """The execution name of an order: the id itself when it is a safe AWS name.

    Otherwise the unsafe characters become ``-`` and a digest of the original id is
    appended, so two different ids never share a name.
    """
    if order_id and len(order_id) <= MAX_EXECUTION_NAME and not _NAME_UNSAFE.search(order_id):
        return order_id
    digest = hashlib.sha256(order_id.encode()).hexdigest()[:16]
    return f"{_NAME_UNSAFE.sub('-', order_id)[: MAX_EXECUTION_NAME - 17]}-{digest}"


def order_id_from_idempotency_key(subject: str, key: str) -> str:
    """A stable order id for a client's ``Idempotency-Key``, scoped to the caller."""
    digest = hashlib.sha256(f"{subject}\x00{key}".encode()).hexdigest()[:32]
    return f"ord-{digest}"


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN an execution called ``name`` of ``state_machine_arn`` has."""
    parts = state_machine_arn.split(":")
    if len(parts) < 7 or parts[5] != "stateMachine":
        raise ValueError(f"not a state machine ARN: {state_machine_arn}")
    return ":".join([*parts[:5], "execution", parts[6], name])


def belongs_to(execution: str, state_machine_arn: str) -> bool:
    """Whether ``execution`` is an execution ARN of ``state_machine_arn``."""
    parts = execution.split(":")
    machine = state_machine_arn.split(":")
    return (
        len(parts) == 8
        and len(machine) >= 7
        and parts[5] == "execution"
        and parts[:5] == machine[:5]
        and parts[6] == machine[6]
        and bool(parts[7])
    )


def iso_utc(moment: datetime) -> str:
    """``2025-01-31T12:00:00.000Z``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- POST /orders -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    accepted: OrderAccepted
    replayed: bool


def place_order(
    services: Services,
    principal: Principal,
    body: CreateOrderRequest,
    idempotency_key: str | None = None,
) -> Placement:
    """Start the order workflow, once per order id (repeats return the same execution)."""
    if body.order_id:
        order_id = body.order_id
    elif idempotency_key:
        order_id = order_id_from_idempotency_key(principal.subject, idempotency_key)
    else:
        order_id = services.new_order_id()
    workflow_input = OrderWorkflowInput(
        order_id=order_id,
        customer_id=principal.subject,
        items=body.items,
        currency=body.currency,
        payment_token=body.payment_token.get_secret_value(),
        shipping_address=body.shipping_address,
        requested_at=iso_utc(services.clock()),
    )
    payload = json.dumps(
        workflow_input.model_dump(mode="json", by_alias=True), separators=(",", ":")
    )
    name = execution_name(order_id)
    machine = services.settings.order_state_machine_arn
    try:
        started = services.workflows.start(machine, name, payload)
    except ExecutionAlreadyExists:
        return _existing_placement(services, workflow_input, execution_arn(machine, name))
    accepted = OrderAccepted(
        order_id=order_id,
        execution_arn=started.execution_arn,
        status="RUNNING",
        start_date=_as_datetime(started.start_date),
    )
    return Placement(accepted=accepted, replayed=False)


def _existing_placement(
    services: Services, workflow_input: OrderWorkflowInput, arn: str
) -> Placement:
    conflict = Conflict(
        "An order with this id already exists with different content.",
        code="order_conflict",
        details={"orderId": workflow_input.order_id},
    )
    try:
        described = services.workflows.describe(arn)
    except ExecutionNotFound:
        raise conflict
    if not _same_order(described.get("input"), workflow_input):
        raise conflict
    accepted = OrderAccepted(
        order_id=workflow_input.order_id,
        execution_arn=arn,
        status=_execution_status(described.get("status")),
        start_date=_as_datetime(described.get("startDate")),
    )
    return Placement(accepted=accepted, replayed=True)


def _same_order(existing_input: Any, workflow_input: OrderWorkflowInput) -> bool:
    """Whether a stored execution input is the same order (``requestedAt`` aside)."""
    existing = _json_object(existing_input)
    if existing is None:
        return False
    ours = workflow_input.model_dump(mode="json", by_alias=True)
    existing.pop("requestedAt", None)
    ours.pop("requestedAt", None)
    return existing == ours


# --- GET /orders/{orderId} ----------------------------------------------------------------


def get_order(services: Services, principal: Principal, order_id: str) -> OrderView:
    """The stored order (or, before it is stored, the execution input) plus workflow status.

    Another customer's order is reported as not found, so order ids do not leak.
    """
    not_found = NotFound(f"Order {order_id} was not found.", code="order_not_found")
    arn = execution_arn(services.settings.order_state_machine_arn, execution_name(order_id))
    item = services.orders.get(order_id)
    if item is not None:
        if not _may_see(principal, item.get("customerId")):
            raise not_found
        return _view_from_item(order_id, item, _workflow_or_none(services, arn))
    described, started_with = _visible_execution(services, principal, arn, not_found)
    workflow = _workflow_view(services, arn, described)
    return OrderView(
        order_id=order_id,
        customer_id=str(started_with.get("customerId")),
        status="PENDING" if workflow.status == "RUNNING" else None,
        total=None,
        currency=_str_or_none(started_with.get("currency")),
        items=_list_of_objects(started_with.get("items")),
        shipping_address=_object_or_none(started_with.get("shippingAddress")),
        created_at=_str_or_none(started_with.get("requestedAt")),
        updated_at=None,
        source="execution",
        workflow=workflow,
    )


def _may_see(principal: Principal, owner: Any) -> bool:
    return principal.is_approver or (isinstance(owner, str) and owner == principal.subject)


def _visible_execution(
    services: Services, principal: Principal, arn: str, not_found: NotFound
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The described execution and its input, or ``not_found`` if ``principal`` may not see it."""
    try:
        described = services.workflows.describe(arn)
    except ExecutionNotFound:
        raise not_found
    started_with = _json_object(described.get("input")) or {}
    if not _may_see(principal, started_with.get("customerId")):
        raise not_found
    return described, started_with


def _view_from_item(
    order_id: str, item: dict[str, Any], workflow: WorkflowView | None
) -> OrderView:
    status = item.get("status")
    total = item.get("total")
    return OrderView(
        order_id=str(item.get("orderId") or order_id),
        customer_id=str(item.get("customerId")),
        status=cast(Any, status) if status in _ORDER_STATUSES else None,
        total=float(total)
        if isinstance(total, int | float) and not isinstance(total, bool)
        else None,
        currency=_str_or_none(item.get("currency")),
        items=_list_of_objects(item.get("items")),
        shipping_address=_object_or_none(item.get("shippingAddress")),
        created_at=_str_or_none(item.get("createdAt")),
        updated_at=_str_or_none(item.get("updatedAt")),
        source="store",
        workflow=workflow,
    )


def _workflow_or_none(services: Services, arn: str) -> WorkflowView | None:
    try:
        described = services.workflows.describe(arn)
    except ExecutionNotFound:
        return None
    return _workflow_view(services, arn, described)


def _workflow_view(services: Services, arn: str, described: dict[str, Any]) -> WorkflowView:
    status = _execution_status(described.get("status"))
    state: str | None = None
    if status == "RUNNING" or status in _ENDED_UNSUCCESSFULLY:
        state = _last_entered_state(services, arn)
    return WorkflowView(
        execution_arn=arn,
        status=status,
        current_state=state if status == "RUNNING" else None,
        failed_state=state if status in _ENDED_UNSUCCESSFULLY else None,
        error=_str_or_none(described.get("error")),
        cause=_str_or_none(described.get("cause")),
        start_date=_as_datetime(described.get("startDate")),
        stop_date=_as_datetime(described.get("stopDate")),
    )


def _last_entered_state(services: Services, arn: str) -> str | None:
    try:
        page = services.workflows.history(
            arn, limit=STATE_LOOKBACK_EVENTS, reverse=True, include_data=False
        )
    except ExecutionNotFound:
        return None
    for event in page.get("events", []):
        if str(event.get("type", "")).endswith("StateEntered"):
            details = event.get("stateEnteredEventDetails") or {}
            name = details.get("name")
            return name if isinstance(name, str) else None
    return None


# --- POST /orders/{orderId}/approval ------------------------------------------------------


def decide_approval(
    services: Services, principal: Principal, order_id: str, body: ApprovalRequest
) -> ApprovalResult:
    """Answer the order's waiting approval task with the approver's decision."""
    if not principal.is_approver:
        raise Forbidden("Only approvers may decide approvals.", code="approver_role_required")
    item = services.orders.get(order_id)
    if item is None:
        raise NotFound(f"Order {order_id} was not found.", code="order_not_found")
    status = item.get("status")
    token = item.get("approvalTaskToken")
    if status != "AWAITING_APPROVAL" or not isinstance(token, str) or not token:
        raise Conflict(
            f"Order {order_id} is not awaiting approval.",
            code="not_awaiting_approval",
            details={"status": status},
        )
    try:
        if body.decision == "APPROVE":
            services.workflows.succeed_task(
                token, {"approved": True, "approver": principal.subject, "reason": body.reason}
            )
        else:
            services.workflows.fail_task(
                token, ORDER_REJECTED, body.reason or f"Rejected by {principal.subject}"
            )
    except TaskNotPending:
        raise Conflict(
            f"The approval of order {order_id} is no longer pending.",
            code="not_awaiting_approval",
            details={"status": status},
        )
    return ApprovalResult(order_id=order_id, decision=body.decision, approver=principal.subject)


# --- GET /executions/{executionArn}/history -----------------------------------------------


def execution_history(
    services: Services,
    principal: Principal,
    arn: str,
    *,
    limit: int,
    next_token: str | None,
    reverse: bool = False,
) -> HistoryPage:
    """One page of an order execution's history, secrets masked.

    Approvers may read any order execution; customers only their own. Anything else,
    including executions of other state machines, is not found.
    """
    not_found = NotFound("Execution was not found.", code="execution_not_found")
    if not belongs_to(arn, services.settings.order_state_machine_arn):
        raise not_found
    if not principal.is_approver:
        _visible_execution(services, principal, arn, not_found)
    try:
        page = services.workflows.history(arn, limit=limit, next_token=next_token, reverse=reverse)
    except ExecutionNotFound:
        raise not_found
    except InvalidNextToken:
        raise Unprocessable(
            "nextToken is not valid for this execution.",
            details=[
                {"loc": ["query", "nextToken"], "type": "invalid", "message": "invalid token"}
            ],
        )
    events = [_history_event(event) for event in page.get("events", [])]
    token = page.get("nextToken")
    return HistoryPage(events=events, next_token=token if isinstance(token, str) else None)


def _history_event(event: dict[str, Any]) -> HistoryEvent:
    plain = {key: _masked(to_plain(value)) for key, value in event.items() if key != "timestamp"}
    stamp = event.get("timestamp")
    plain["timestamp"] = iso_utc(stamp) if isinstance(stamp, datetime) else str(stamp)
    return HistoryEvent.model_validate(plain)


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return _SECRET_IN_JSON.sub(rf'\1"{REDACTED}"', value)
    if isinstance(value, dict):
        return {
            key: REDACTED if key in _SECRET_KEYS else _masked(item) for key, item in value.items()
        }
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


# --- small helpers --------------------------------------------------------------------------


def _json_object(raw: Any) -> dict[str, Any] | None:
    if isinstance(raw, dict):
        return dict(raw)
    if not isinstance(raw, str):
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _execution_status(raw: Any) -> ExecutionStatus:
    if raw in _EXECUTION_STATUSES:
        return cast(ExecutionStatus, raw)
    return "RUNNING"


def _as_datetime(raw: Any) -> datetime | None:
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return datetime.fromtimestamp(raw, UTC)
    if isinstance(raw, str):
        try:
            return datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _str_or_none(raw: Any) -> str | None:
    return raw if isinstance(raw, str) else None


def _object_or_none(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    return {key: value for key, value in raw.items() if key != "paymentToken"}


def _list_of_objects(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        return []
    return [item for item in raw if isinstance(item, dict)]
