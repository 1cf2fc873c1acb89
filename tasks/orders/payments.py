"""The payment provider port and its deterministic in-memory fake.

Every charge and refund carries an idempotency key: the provider returns the
first result for a repeated key instead of charging again (as real providers do),
so a retried or duplicated ``ChargePayment`` never charges twice.

The fake, used locally and in tests:
- token ``tok_decline`` is declined (``PaymentDeclined``);
- token ``tok_flaky`` fails with ``PaymentProviderUnavailable`` for the first
  ``flaky_failures`` attempts of a key, then succeeds;
- any other token succeeds.
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from decimal import Decimal
from typing import Protocol

from tasks.common.models import Amount, CamelModel, Currency
from tasks.orders.errors import PaymentDeclined, PaymentProviderUnavailable

__all__ = [
    "DECLINE_TOKEN",
    "FLAKY_TOKEN",
    "Charge",
    "InMemoryPaymentGateway",
    "PaymentGateway",
    "Refund",
    "shared_fake_gateway",
]

DECLINE_TOKEN = "tok_decline"
FLAKY_TOKEN = "tok_flaky"


class Charge(CamelModel):
    charge_id: str
    amount: Amount
    currency: Currency
    idempotency_key: str


class Refund(CamelModel):
    refund_id: str
    charge_id: str
    amount: Amount
    idempotency_key: str


class PaymentGateway(Protocol):
    def charge(
        self, *, token: str, amount: Decimal, currency: Currency, idempotency_key: str
    ) -> Charge:
        """Capture ``amount``; raises ``PaymentDeclined`` or ``PaymentProviderUnavailable``."""
        ...

    def refund(self, *, charge_id: str, amount: Decimal, idempotency_key: str) -> Refund:
        """Refund a capture; raises ``PaymentProviderUnavailable`` when transiently down."""
        ...


class InMemoryPaymentGateway:
    """A provider in a dict. Thread-safe: Map iterations may call it concurrently."""

    def __init__(self, flaky_failures: int = 2) -> None:
        self.flaky_failures = flaky_failures
        self.charges: dict[str, Charge] = {}
        self.refunds: dict[str, Refund] = {}
        self.charge_attempts: Counter[str] = Counter()
        self._lock = threading.Lock()

    @property
    def captured_count(self) -> int:
        """Distinct charges actually captured (a duplicate key does not add one)."""
        return len(self.charges)

    def charge(
        self, *, token: str, amount: Decimal, currency: Currency, idempotency_key: str
    ) -> Charge:
        with self._lock:
            self.charge_attempts[idempotency_key] += 1
            existing = self.charges.get(idempotency_key)
            if existing is not None:
                return existing
            if token == DECLINE_TOKEN:
                raise PaymentDeclined("the card was declined by the issuer (tok_decline)")
            if (
                token == FLAKY_TOKEN
                and self.charge_attempts[idempotency_key] <= self.flaky_failures
            ):
                attempt = self.charge_attempts[idempotency_key]
                raise PaymentProviderUnavailable(
                    f"payment provider timed out (attempt {attempt} of a flaky token)"
                )
            charge = Charge(
                charge_id=f"ch_{len(self.charges) + 1:06d}",
                amount=amount,
                currency=currency,
                idempotency_key=idempotency_key,
            )
            self.charges[idempotency_key] = charge
            return charge

    def refund(self, *, charge_id: str, amount: Decimal, idempotency_key: str) -> Refund:
        with self._lock:
            existing = self.refunds.get(idempotency_key)
            if existing is not None:
                return existing
            refund = Refund(
                refund_id=f"re_{len(self.refunds) + 1:06d}",
                charge_id=charge_id,
                amount=amount,
                idempotency_key=idempotency_key,
            )
            self.refunds[idempotency_key] = refund
            return refund


@functools.cache
def shared_fake_gateway(flaky_failures: int) -> InMemoryPaymentGateway:
    """The process-wide fake, so that state (and flakiness) spans invocations locally."""
    return InMemoryPaymentGateway(flaky_failures=flaky_failures)
