"""Ports (small Protocols) for what the tasks need from storage, and DynamoDB adapters.

Everything lives in one table (``ORDERS_TABLE``); the key design and access
patterns are written down in ``docs/data-model.md``. Adapters translate throttling
and transaction conflicts into ``StoreUnavailable`` (transient) and stock
shortages into ``InsufficientStock``; the task logic maps those to the domain
errors the state machines match on.

The adapters talk to DynamoDB through the sandbox's low-level client (the one
Powertools Idempotency uses too), with attribute values converted by boto3's own
``TypeSerializer`` and ``TypeDeserializer``: the values they send and return are those
a boto3 ``Table`` resource would (numbers as ``Decimal``), without the resource's
per-call walks over the operation's model (``TransformationInjector``, tens of
microseconds per call) nor a second DynamoDB client per sandbox for the resource.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, Self

from tasks.common.aws import ClientError, client, error_code
from tasks.common.models import (
    CustomerPreferences,
    Delivery,
    OrderRecord,
    OrderStatus,
    PaymentRecord,
    PaymentStatus,
    Product,
    Reservation,
    ReservationStatus,
)

__all__ = [
    "ACTIVE_STATUSES",
    "GSI1_NAME",
    "CatalogRepository",
    "DeliveryRepository",
    "DynamoCatalogRepository",
    "DynamoDeliveryRepository",
    "DynamoInventoryRepository",
    "DynamoOrderRepository",
    "DynamoPaymentRepository",
    "DynamoPreferencesRepository",
    "InsufficientStock",
    "InventoryRepository",
    "OrderAlreadyExists",
    "OrderRepository",
    "PaymentRepository",
    "PreferencesRepository",
    "StoreUnavailable",
    "customer_key",
    "order_key",
    "preferences_item",
    "product_item",
    "product_key",
    "unavailable_as",
]

GSI1_NAME = "GSI1"
ACTIVE_STATUSES: tuple[OrderStatus, ...] = (OrderStatus.PENDING, OrderStatus.AWAITING_APPROVAL)

_TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
        "TransactionInProgressException",
    }
)


class StoreUnavailable(RuntimeError):
    """DynamoDB throttled, conflicted or failed internally: try again later."""


@contextmanager
def unavailable_as(error: Callable[[str], Exception]) -> Iterator[None]:
    """Re-raise ``StoreUnavailable`` as ``error``, the task's transient domain error."""
    try:
        yield
    except StoreUnavailable as err:
        raise error(str(err)) from err


class InsufficientStock(Exception):
    def __init__(self, product_id: str, requested: int) -> None:
        super().__init__(f"not enough stock of {product_id!r} for {requested}")
        self.product_id = product_id
        self.requested = requested


class OrderAlreadyExists(Exception):
    def __init__(self, existing: OrderRecord) -> None:
        super().__init__(f"order {existing.order_id!r} already exists")
        self.existing = existing


# ---------------------------------------------------------------------------- keys


def order_key(order_id: str) -> dict[str, str]:
    return {"PK": f"ORDER#{order_id}", "SK": "ORDER"}


def product_key(product_id: str) -> dict[str, str]:
    return {"PK": f"PRODUCT#{product_id}", "SK": "PRODUCT"}


def customer_key(customer_id: str) -> dict[str, str]:
    return {"PK": f"CUSTOMER#{customer_id}", "SK": "PREFERENCES"}


def _reservation_key(order_id: str, product_id: str) -> dict[str, str]:
    return {"PK": f"ORDER#{order_id}", "SK": f"RESERVATION#{product_id}"}


def _payment_key(order_id: str) -> dict[str, str]:
    return {"PK": f"ORDER#{order_id}", "SK": "PAYMENT"}


def _delivery_key(order_id: str, event_type: str, channel: str) -> dict[str, str]:
    return {"PK": f"ORDER#{order_id}", "SK": f"NOTIFICATION#{event_type}#{channel}"}


def _to_item(model: Any, key: Mapping[str, str], **extra: str) -> dict[str, Any]:
    body: dict[str, Any] = model.model_dump(mode="python", exclude_none=True)
    return {**body, **extra, **key}


def product_item(product: Product) -> dict[str, Any]:
    """A product as the catalog stores it (Python values, as a ``Table`` takes them)."""
    return _to_item(product, product_key(product.product_id))


def preferences_item(preferences: CustomerPreferences) -> dict[str, Any]:
    """A customer's preferences as stored (Python values, as a ``Table`` takes them)."""
    return _to_item(preferences, customer_key(preferences.customer_id))


_types: tuple[Any, Any] | None = None


def _converters() -> tuple[Any, Any]:
    """boto3's ``TypeSerializer`` and ``TypeDeserializer``, what a ``Table`` resource
    converts with (imported with the first request: boto3 comes with the first client)."""
    global _types
    if _types is None:
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        _types = (TypeSerializer().serialize, TypeDeserializer().deserialize)
    return _types


def _to_dynamodb(values: Mapping[str, Any]) -> dict[str, Any]:
    """Python values as DynamoDB attribute values (``{"S": ...}``, ``{"N": ...}``...)."""
    serialize = _converters()[0]
    return {name: serialize(value) for name, value in values.items()}


def _from_dynamodb(item: Mapping[str, Any]) -> dict[str, Any]:
    """Attribute values as Python values (numbers as ``Decimal``), as a ``Table`` gives."""
    deserialize = _converters()[1]
    return {name: deserialize(value) for name, value in item.items()}


def _strip_keys(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in {"PK", "SK", "GSI1PK", "GSI1SK"}}


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except ClientError as err:
        if error_code(err) in _TRANSIENT_CODES:
            raise StoreUnavailable(f"DynamoDB is unavailable: {error_code(err)}") from err
        raise


def _is_condition_failure(err: ClientError) -> bool:
    return error_code(err) == "ConditionalCheckFailedException"


# ------------------------------------------------------------------------- ports


class OrderRepository(Protocol):
    def get(self, order_id: str) -> OrderRecord | None: ...

    def create(self, order: OrderRecord) -> OrderRecord:
        """Store a new order; ``OrderAlreadyExists`` (with the stored one) if the id is taken."""
        ...

    def mark_awaiting_approval(
        self, order_id: str, task_token: str, now: str
    ) -> OrderRecord | None:
        """PENDING/AWAITING_APPROVAL -> AWAITING_APPROVAL with the token; None otherwise."""
        ...

    def mark_rejected(
        self, order_id: str, reason: str, now: str, *, execution_arn: str | None = None
    ) -> OrderRecord | None:
        """An active order -> REJECTED; None if the order is missing or already settled.

        With ``execution_arn``, only an order created by that execution is touched, so
        a duplicate submission's rejection never rejects the original order.
        """
        ...

    def mark_cancelled(self, order_id: str, reason: str, now: str) -> OrderRecord | None:
        """An active order -> CANCELLED; None if the order is missing or already settled."""
        ...

    def find_by_status(
        self, status: OrderStatus, created_before: str, limit: int
    ) -> list[OrderRecord]: ...


class CatalogRepository(Protocol):
    def get_products(self, product_ids: Sequence[str]) -> dict[str, Product]: ...

    def put_product(self, product: Product) -> None: ...


class InventoryRepository(Protocol):
    def reserve(
        self, order_id: str, lines: Sequence[tuple[str, int]], now: str
    ) -> list[Reservation]:
        """Reserve every line atomically, or none (``InsufficientStock``).

        Idempotent: if the order's reservations already exist, returns them.
        """
        ...

    def release(self, order_id: str, now: str) -> list[Reservation]:
        """Return reserved stock; only reservations still RESERVED. Idempotent."""
        ...

    def reservations(self, order_id: str) -> list[Reservation]: ...


class PaymentRepository(Protocol):
    def get(self, order_id: str) -> PaymentRecord | None: ...

    def get_with_order(self, order_id: str) -> tuple[OrderRecord | None, PaymentRecord | None]:
        """The order and its payment (either may be missing), read together."""
        ...

    def save_captured(self, record: PaymentRecord) -> PaymentRecord:
        """Store a captured payment unless one exists; returns the stored one."""
        ...

    def mark_refunded(self, order_id: str, refund_id: str, now: str) -> PaymentRecord | None:
        """CAPTURED -> REFUNDED; None if it was not CAPTURED."""
        ...


class PreferencesRepository(Protocol):
    def get(self, customer_id: str) -> CustomerPreferences | None: ...

    def put(self, preferences: CustomerPreferences) -> None: ...


class DeliveryRepository(Protocol):
    def record(self, deliveries: Sequence[Delivery]) -> None: ...


# ----------------------------------------------------------------------- adapters


class _DynamoRepository:
    """An adapter over the one table (``ORDERS_TABLE``): its name, or a boto3 ``Table``
    resource naming it (tests). Requests go through ``dynamodb``, by default the
    sandbox's DynamoDB client (looked up at the first request)."""

    def __init__(self, table: Any, dynamodb: Any | None = None) -> None:
        self._name: str = table if isinstance(table, str) else str(table.name)
        self._client = dynamodb

    @classmethod
    def for_table(cls, table_name: str) -> Self:
        return cls(table_name)

    @property
    def _dynamodb(self) -> Any:
        if self._client is None:
            self._client = client("dynamodb")
        return self._client

    def _get(self, key: Mapping[str, str], *, consistent: bool) -> dict[str, Any] | None:
        """The item at ``key`` without its key attributes, or None."""
        request: dict[str, Any] = {"TableName": self._name, "Key": _to_dynamodb(key)}
        if consistent:
            request["ConsistentRead"] = True
        with _translated():
            response = self._dynamodb.get_item(**request)
        item = response.get("Item")
        return None if item is None else _strip_keys(_from_dynamodb(item))

    def _put(self, item: Mapping[str, Any], condition: str | None = None) -> None:
        request: dict[str, Any] = {"TableName": self._name, "Item": _to_dynamodb(item)}
        if condition is not None:
            request["ConditionExpression"] = condition
        with _translated():
            self._dynamodb.put_item(**request)

    def _query(self, request: dict[str, Any], limit: int | None = None) -> list[dict[str, Any]]:
        """Every item of a query (pages followed), keys stripped; at most ``limit``."""
        request = {"TableName": self._name, **request}
        items: list[dict[str, Any]] = []
        while limit is None or len(items) < limit:
            if limit is not None:
                request["Limit"] = limit - len(items)
            with _translated():
                page = self._dynamodb.query(**request)
            items.extend(_strip_keys(_from_dynamodb(i)) for i in page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return items if limit is None else items[:limit]

    def _batch_get(self, keys: list[dict[str, str]]) -> list[dict[str, Any]]:
        """The items at ``keys`` (at most 100), consistent, unprocessed keys asked again."""
        request: dict[str, Any] = {
            self._name: {"Keys": [_to_dynamodb(k) for k in keys], "ConsistentRead": True}
        }
        items: list[dict[str, Any]] = []
        while request:
            with _translated():
                response = self._dynamodb.batch_get_item(RequestItems=request)
            items.extend(_from_dynamodb(i) for i in response["Responses"].get(self._name, []))
            request = response.get("UnprocessedKeys") or {}
        return items


class DynamoOrderRepository(_DynamoRepository):
    def get(self, order_id: str) -> OrderRecord | None:
        item = self._get(order_key(order_id), consistent=True)
        return None if item is None else OrderRecord.model_validate(item)

    def create(self, order: OrderRecord) -> OrderRecord:
        item = _to_item(
            order,
            order_key(order.order_id),
            GSI1PK=f"STATUS#{order.status}",
            GSI1SK=order.created_at,
        )
        try:
            self._put(item, "attribute_not_exists(PK)")
        except ClientError as err:
            if not _is_condition_failure(err):
                raise
            existing = self.get(order.order_id)
            if existing is None:  # deleted in between: extremely unlikely, retryable
                raise StoreUnavailable("order vanished while being created") from err
            raise OrderAlreadyExists(existing) from err
        return order

    def _transition(
        self,
        order_id: str,
        to: OrderStatus,
        now: str,
        *,
        allowed_from: Sequence[OrderStatus],
        set_fields: Mapping[str, str] | None = None,
        remove_fields: Sequence[str] = (),
        execution_arn: str | None = None,
    ) -> OrderRecord | None:
        names = {"#status": "status"}
        values: dict[str, Any] = {
            ":to": str(to),
            ":gsi1pk": f"STATUS#{to}",
            ":now": now,
        }
        sets = ["#status = :to", "GSI1PK = :gsi1pk", "updatedAt = :now"]
        for i, (field, value) in enumerate((set_fields or {}).items()):
            names[f"#f{i}"] = field
            values[f":f{i}"] = value
            sets.append(f"#f{i} = :f{i}")
        allowed = []
        for i, status in enumerate(allowed_from):
            values[f":from{i}"] = str(status)
            allowed.append(f":from{i}")
        condition = f"attribute_exists(PK) AND #status IN ({', '.join(allowed)})"
        if execution_arn is not None:
            values[":arn"] = execution_arn
            condition += " AND (attribute_not_exists(executionArn) OR executionArn = :arn)"
        expression = "SET " + ", ".join(sets)
        if remove_fields:
            expression += " REMOVE " + ", ".join(remove_fields)
        try:
            with _translated():
                response = self._dynamodb.update_item(
                    TableName=self._name,
                    Key=_to_dynamodb(order_key(order_id)),
                    UpdateExpression=expression,
                    ConditionExpression=condition,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=_to_dynamodb(values),
                    ReturnValues="ALL_NEW",
                )
        except ClientError as err:
            if _is_condition_failure(err):
                return None
            raise
        return OrderRecord.model_validate(_strip_keys(_from_dynamodb(response["Attributes"])))

    def mark_awaiting_approval(
        self, order_id: str, task_token: str, now: str
    ) -> OrderRecord | None:
        return self._transition(
            order_id,
            OrderStatus.AWAITING_APPROVAL,
            now,
            allowed_from=ACTIVE_STATUSES,
            set_fields={"approvalTaskToken": task_token},
        )

    def mark_rejected(
        self, order_id: str, reason: str, now: str, *, execution_arn: str | None = None
    ) -> OrderRecord | None:
        return self._transition(
            order_id,
            OrderStatus.REJECTED,
            now,
            allowed_from=ACTIVE_STATUSES,
            execution_arn=execution_arn,
            set_fields={"rejectionReason": reason},
            remove_fields=("approvalTaskToken",),
        )

    def mark_cancelled(self, order_id: str, reason: str, now: str) -> OrderRecord | None:
        return self._transition(
            order_id,
            OrderStatus.CANCELLED,
            now,
            allowed_from=ACTIVE_STATUSES,
            set_fields={"rejectionReason": reason},
            remove_fields=("approvalTaskToken",),
        )

    def find_by_status(
        self, status: OrderStatus, created_before: str, limit: int
    ) -> list[OrderRecord]:
        items = self._query(
            {
                "IndexName": GSI1_NAME,
                "KeyConditionExpression": "GSI1PK = :status AND GSI1SK < :before",
                "ExpressionAttributeValues": _to_dynamodb(
                    {":status": f"STATUS#{status}", ":before": created_before}
                ),
            },
            limit,
        )
        return [OrderRecord.model_validate(i) for i in items]


class DynamoCatalogRepository(_DynamoRepository):
    def get_products(self, product_ids: Sequence[str]) -> dict[str, Product]:
        wanted = list(dict.fromkeys(product_ids))
        products: dict[str, Product] = {}
        for start in range(0, len(wanted), 100):
            keys = [product_key(p) for p in wanted[start : start + 100]]
            for item in self._batch_get(keys):
                product = Product.model_validate(_strip_keys(item))
                products[product.product_id] = product
        return products

    def put_product(self, product: Product) -> None:
        self._put(product_item(product))


class DynamoInventoryRepository(_DynamoRepository):
    """Stock lives on the product item (``available``); a reservation item per line."""

    def reserve(
        self, order_id: str, lines: Sequence[tuple[str, int]], now: str
    ) -> list[Reservation]:
        reservations = [
            Reservation(
                order_id=order_id,
                product_id=product_id,
                quantity=quantity,
                status=ReservationStatus.RESERVED,
                reserved_at=now,
            )
            for product_id, quantity in lines
        ]
        actions: list[dict[str, Any]] = []
        for reservation in reservations:
            # Two actions per line: take the stock, write the reservation. One
            # transaction (<= 100 actions; orders have <= 50 lines) so that an order
            # reserves everything or nothing.
            actions.append(
                {
                    "Update": {
                        "TableName": self._name,
                        "Key": _to_dynamodb(product_key(reservation.product_id)),
                        "UpdateExpression": "SET available = available - :q",
                        "ConditionExpression": "attribute_exists(PK) AND available >= :q",
                        "ExpressionAttributeValues": _to_dynamodb({":q": reservation.quantity}),
                    }
                }
            )
            actions.append(
                {
                    "Put": {
                        "TableName": self._name,
                        "Item": _to_dynamodb(
                            _to_item(
                                reservation,
                                _reservation_key(order_id, reservation.product_id),
                            )
                        ),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                }
            )
        try:
            with _translated():
                self._dynamodb.transact_write_items(TransactItems=actions)
        except ClientError as err:
            if error_code(err) != "TransactionCanceledException":
                raise
            reasons = [r.get("Code", "None") for r in err.response.get("CancellationReasons", [])]
            if any(code == "TransactionConflict" for code in reasons):
                raise StoreUnavailable("inventory transaction conflicted") from err
            failed = [
                index for index, code in enumerate(reasons) if code == "ConditionalCheckFailed"
            ]
            # a reservation exists: an earlier attempt committed. That answers a repeated
            # call even when the stock has run out since (its line's check fails too)
            if any(index % 2 == 1 for index in failed):
                stored = {r.product_id: r for r in self.reservations(order_id)}
                return [stored[r.product_id] for r in reservations if r.product_id in stored]
            if failed:
                line = reservations[failed[0] // 2]
                raise InsufficientStock(line.product_id, line.quantity) from err
            raise StoreUnavailable(f"inventory transaction cancelled: {reasons}") from err
        return reservations

    def reservations(self, order_id: str) -> list[Reservation]:
        items = self._query(
            {
                "KeyConditionExpression": "PK = :pk AND begins_with(SK, :sk)",
                "ExpressionAttributeValues": _to_dynamodb(
                    {":pk": f"ORDER#{order_id}", ":sk": "RESERVATION#"}
                ),
                "ConsistentRead": True,
            }
        )
        return [Reservation.model_validate(i) for i in items]

    def release(self, order_id: str, now: str) -> list[Reservation]:
        released: list[Reservation] = []
        for reservation in self.reservations(order_id):
            if reservation.status is not ReservationStatus.RESERVED:
                continue
            try:
                with _translated():
                    self._dynamodb.transact_write_items(
                        TransactItems=[
                            {
                                "Update": {
                                    "TableName": self._name,
                                    "Key": _to_dynamodb(
                                        _reservation_key(order_id, reservation.product_id)
                                    ),
                                    "UpdateExpression": "SET #s = :released, releasedAt = :now",
                                    "ConditionExpression": "#s = :reserved",
                                    "ExpressionAttributeNames": {"#s": "status"},
                                    "ExpressionAttributeValues": _to_dynamodb(
                                        {
                                            ":released": str(ReservationStatus.RELEASED),
                                            ":reserved": str(ReservationStatus.RESERVED),
                                            ":now": now,
                                        }
                                    ),
                                }
                            },
                            {
                                "Update": {
                                    "TableName": self._name,
                                    "Key": _to_dynamodb(product_key(reservation.product_id)),
                                    "UpdateExpression": "ADD available :q",
                                    "ExpressionAttributeValues": _to_dynamodb(
                                        {":q": reservation.quantity}
                                    ),
                                }
                            },
                        ]
                    )
            except ClientError as err:
                if error_code(err) != "TransactionCanceledException":
                    raise
                reasons = [
                    r.get("Code", "None") for r in err.response.get("CancellationReasons", [])
                ]
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    continue  # released concurrently: nothing to give back
                raise StoreUnavailable(f"release transaction cancelled: {reasons}") from err
            released.append(
                reservation.model_copy(
                    update={"status": ReservationStatus.RELEASED, "released_at": now}
                )
            )
        return released


class DynamoPaymentRepository(_DynamoRepository):
    def get(self, order_id: str) -> PaymentRecord | None:
        item = self._get(_payment_key(order_id), consistent=True)
        return None if item is None else PaymentRecord.model_validate(item)

    def get_with_order(self, order_id: str) -> tuple[OrderRecord | None, PaymentRecord | None]:
        # one consistent BatchGetItem of both keys (same partition) instead of two GetItems
        items = self._batch_get([order_key(order_id), _payment_key(order_id)])
        by_sort_key = {item["SK"]: item for item in items}
        order = by_sort_key.get("ORDER")
        payment = by_sort_key.get("PAYMENT")
        return (
            None if order is None else OrderRecord.model_validate(_strip_keys(order)),
            None if payment is None else PaymentRecord.model_validate(_strip_keys(payment)),
        )

    def save_captured(self, record: PaymentRecord) -> PaymentRecord:
        try:
            self._put(_to_item(record, _payment_key(record.order_id)), "attribute_not_exists(PK)")
        except ClientError as err:
            if not _is_condition_failure(err):
                raise
            existing = self.get(record.order_id)
            if existing is None:
                raise StoreUnavailable("payment vanished while being saved") from err
            return existing
        return record

    def mark_refunded(self, order_id: str, refund_id: str, now: str) -> PaymentRecord | None:
        try:
            with _translated():
                response = self._dynamodb.update_item(
                    TableName=self._name,
                    Key=_to_dynamodb(_payment_key(order_id)),
                    UpdateExpression="SET #s = :refunded, refundId = :rid, refundedAt = :now",
                    ConditionExpression="#s = :captured",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues=_to_dynamodb(
                        {
                            ":refunded": str(PaymentStatus.REFUNDED),
                            ":captured": str(PaymentStatus.CAPTURED),
                            ":rid": refund_id,
                            ":now": now,
                        }
                    ),
                    ReturnValues="ALL_NEW",
                )
        except ClientError as err:
            if _is_condition_failure(err):
                return None
            raise
        return PaymentRecord.model_validate(_strip_keys(_from_dynamodb(response["Attributes"])))


class DynamoPreferencesRepository(_DynamoRepository):
    def get(self, customer_id: str) -> CustomerPreferences | None:
        item = self._get(customer_key(customer_id), consistent=False)
        return None if item is None else CustomerPreferences.model_validate(item)

    def put(self, preferences: CustomerPreferences) -> None:
        self._put(preferences_item(preferences))


class DynamoDeliveryRepository(_DynamoRepository):
    def record(self, deliveries: Sequence[Delivery]) -> None:
        """One item per delivery (BatchWriteItem, 25 at a time, unprocessed items sent
        again). A key given twice keeps the last delivery, as a ``Table``'s batch writer
        with ``overwrite_by_pkeys`` did (a batch refuses duplicate keys)."""
        items: dict[tuple[str, str], dict[str, Any]] = {}
        for delivery in deliveries:
            key = _delivery_key(delivery.order_id, delivery.event_type, delivery.channel)
            items.pop((key["PK"], key["SK"]), None)
            items[(key["PK"], key["SK"])] = _to_dynamodb(_to_item(delivery, key))
        writes = [{"PutRequest": {"Item": item}} for item in items.values()]
        for start in range(0, len(writes), 25):
            request: dict[str, Any] = {self._name: writes[start : start + 25]}
            while request:
                with _translated():
                    response = self._dynamodb.batch_write_item(RequestItems=request)
                request = response.get("UnprocessedItems") or {}
