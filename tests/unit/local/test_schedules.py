from __future__ import annotations

from datetime import UTC, datetime

import pytest

from workflows.local.schedules import ScheduleError, next_fire

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("rate(5 minutes)", datetime(2026, 11, 25, 12, 5, tzinfo=UTC)),
        ("rate(1 hour)", datetime(2026, 11, 25, 13, 0, tzinfo=UTC)),
        ("rate(2 days)", datetime(2026, 11, 27, 12, 0, tzinfo=UTC)),
        ("cron(0 3 * * ? *)", datetime(2026, 11, 26, 3, 0, tzinfo=UTC)),
        ("cron(15 10 ? * 6 *)", datetime(2026, 11, 27, 10, 15, tzinfo=UTC)),  # 6 = Friday
        ("cron(0 9 ? * MON-FRI *)", datetime(2026, 11, 26, 9, 0, tzinfo=UTC)),
        ("cron(0 0 1 * ? *)", datetime(2026, 12, 1, 0, 0, tzinfo=UTC)),
        ("cron(0 12 ? * 2#1 *)", datetime(2026, 12, 7, 12, 0, tzinfo=UTC)),  # first Monday
        ("cron(0 0 1 1 ? 2028)", datetime(2028, 1, 1, 0, 0, tzinfo=UTC)),
        ("at(2026-12-01T09:00:00)", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
    ],
)
def test_next_fire_as_eventbridge_computes_it(expression: str, expected: datetime) -> None:
    assert next_fire(expression, NOON) == expected


def test_time_zone_applies_to_cron() -> None:
    # 03:00 in Berlin is 02:00 UTC in winter
    assert next_fire("cron(0 3 * * ? *)", NOON, "Europe/Berlin") == datetime(
        2026, 11, 26, 2, 0, tzinfo=UTC
    )


def test_past_one_time_schedule_never_fires() -> None:
    assert next_fire("at(2020-01-01T00:00:00)", NOON) is None
    assert next_fire("cron(0 0 1 1 ? 2020)", NOON) is None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("cron(0 3 * * *)", "6 fields"),
        ("cron(0 3 * * * *)", "exactly one of day-of-month and day-of-week"),
        ("cron(0 3 ? * 8 *)", "outside 1-7"),
        ("rate(1 minutes)", "rate(1 minute)"),
        ("rate(0 minutes)", "at least 1"),
        ("every day", "not a schedule expression"),
    ],
)
def test_invalid_expressions_say_why(expression: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        next_fire(expression, NOON)


def test_unknown_zone() -> None:
    with pytest.raises(ScheduleError, match="Mars/Olympus"):
        next_fire("cron(0 3 * * ? *)", NOON, "Mars/Olympus")
