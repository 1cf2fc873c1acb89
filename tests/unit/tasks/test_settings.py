"""``load_settings``: the environment's variables a model names, parsed once per value."""

from __future__ import annotations

import pytest

from tasks.common.settings import ConfigurationError, OrdersSettings, load_settings


def test_settings_come_from_the_model_s_variables_and_ignore_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORDERS_TABLE", "orders")
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "idempotency")
    monkeypatch.setenv("SWEEP_BATCH_LIMIT", "7")
    monkeypatch.setenv("SOMETHING_ELSE", "x")
    settings = load_settings(OrdersSettings)
    assert (settings.orders_table, settings.idempotency_table) == ("orders", "idempotency")
    assert settings.sweep_batch_limit == 7
    assert settings.stuck_pending_minutes == 60  # the default


def test_a_mapping_may_name_fields_as_well_as_variables() -> None:
    settings = load_settings(
        OrdersSettings, {"orders_table": "o", "IDEMPOTENCY_TABLE": "i", "other": "x"}
    )
    assert (settings.orders_table, settings.idempotency_table) == ("o", "i")


def test_a_changed_variable_is_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Warm invocations share the parsed settings, but only while the values are the same."""
    monkeypatch.setenv("ORDERS_TABLE", "first")
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "idempotency")
    first = load_settings(OrdersSettings)
    assert load_settings(OrdersSettings) is first
    monkeypatch.setenv("ORDERS_TABLE", "second")
    assert load_settings(OrdersSettings).orders_table == "second"
    monkeypatch.delenv("SWEEP_BATCH_LIMIT", raising=False)
    monkeypatch.setenv("SWEEP_BATCH_LIMIT", "5000")
    with pytest.raises(ConfigurationError, match="SWEEP_BATCH_LIMIT"):
        load_settings(OrdersSettings)
    with pytest.raises(ConfigurationError, match="SWEEP_BATCH_LIMIT"):
        load_settings(OrdersSettings)  # an invalid environment raises every time
