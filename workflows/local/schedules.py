"""EventBridge schedule expressions: when does a schedule fire next?

``rate(5 minutes)``, ``cron(0 3 * * ? *)`` and ``at(2026-12-01T09:00:00)``, with
AWS's rules: six cron fields (minutes, hours, day-of-month, month, day-of-week,
year), exactly one of day-of-month and day-of-week is ``?``, day-of-week counts 1-7
from Sunday. Cron arithmetic (``L``, ``W``, ``#``, ranges, steps, names) is croniter's;
this module translates AWS's dialect into it and checks what AWS checks.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

__all__ = ["ScheduleError", "next_fire"]

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


class ScheduleError(ValueError):
    """An expression EventBridge Scheduler would refuse; the message says why."""


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown time zone {name!r}") from None


def _aws_day_of_week(field: str) -> str:
    """AWS numbers days 1-7 from Sunday; croniter 0-6 from Sunday. Names pass through."""

    def shift(match: re.Match[str]) -> str:
        day = int(match.group(0))
        if not 1 <= day <= 7:
            raise ScheduleError(f"day-of-week {day} is outside 1-7 (1 is Sunday)")
        return str(day - 1)

    head, hash_sign, nth = field.partition("#")  # 2#1: the first Monday
    return re.sub(r"\d+", shift, head) + hash_sign + nth


def _croniter_expression(fields: list[str]) -> tuple[str, str]:
    if len(fields) != 6:
        raise ScheduleError(
            f"a cron expression has 6 fields (minutes hours day-of-month month day-of-week "
            f"year), this one has {len(fields)}"
        )
    minutes, hours, day_of_month, month, day_of_week, year = fields
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ScheduleError("exactly one of day-of-month and day-of-week must be '?'")
    day_of_month = "*" if day_of_month == "?" else day_of_month
    day_of_week = "*" if day_of_week == "?" else _aws_day_of_week(day_of_week)
    return f"{minutes} {hours} {day_of_month} {month} {day_of_week}", year


def _year_matches(year_field: str, year: int) -> bool:
    if year_field == "*":
        return True
    for part in year_field.split(","):
        if "-" in part:
            low, high = part.split("-", 1)
            if int(low) <= year <= int(high):
                return True
        elif part.isdigit() and int(part) == year:
            return True
    return False


def next_fire(expression: str, after: datetime, timezone: str = "UTC") -> datetime | None:
    """The first moment strictly after ``after`` (aware) when the schedule fires; None if never."""
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        if value < 1:
            raise ScheduleError("a rate must be at least 1")
        if (value == 1) != (not rate.group(2).endswith("s")):
            raise ScheduleError(f"write 'rate(1 {unit})' for one and 'rate(N {unit}s)' for more")
        return after + timedelta(seconds=value * _UNIT_SECONDS[unit])
    at = _AT.match(text)
    if at:
        moment = datetime.fromisoformat(at.group(1)).replace(tzinfo=_zone(timezone))
        return moment if moment > after else None
    cron = _CRON.match(text)
    if not cron:
        raise ScheduleError(
            f"{expression!r} is not a schedule expression: use rate(...), cron(...) or at(...)"
        )
    spec, year_field = _croniter_expression(cron.group(1).split())
    zone = _zone(timezone)
    try:
        iterator = croniter(spec, after.astimezone(zone))
    except (ValueError, KeyError) as exc:
        raise ScheduleError(f"invalid cron expression {expression!r}: {exc}") from None
    for _ in range(10_000):  # a year field can skip years; stop looking eventually
        candidate: datetime = iterator.get_next(datetime)
        if _year_matches(year_field, candidate.year):
            return candidate.astimezone(UTC)
        if year_field != "*" and all(
            part.isdigit() and int(part) < candidate.year
            for part in year_field.replace("-", ",").split(",")
        ):
            return None
    return None
