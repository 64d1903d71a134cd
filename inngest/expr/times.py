"""Parse the durations and dates that expressions hand to ``duration``, ``date``, ``now_plus``…

Durations follow Go's notation extended with days and weeks (``"1h30m"``, ``"2d"``, ``"1.5s"``,
``"-10m"``, ``"500ms"``), which is what Inngest accepts in ``now_plus``. Dates accept RFC 3339 /
ISO 8601 strings (a bare date is midnight UTC) and Unix epoch numbers whose unit is guessed from
their magnitude.
"""

from __future__ import annotations

import datetime as dt
import re
from email.utils import parsedate_to_datetime
from typing import Any

from inngest.expr.values import EvaluationError, is_number

_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}
_PART = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h|d|w)")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def parse_duration(text: str) -> dt.timedelta:
    """Parse ``"1h30m"``-style text; raise ``EvaluationError`` when it is not a duration."""
    body = text.strip()
    sign = -1.0 if body.startswith("-") else 1.0
    body = body.lstrip("+-")
    if body == "0":
        return dt.timedelta(0)
    seconds = 0.0
    pos = 0
    while pos < len(body):
        part = _PART.match(body, pos)
        if part is None:
            raise EvaluationError(f"invalid duration {text!r}")
        seconds += float(part.group(1)) * _UNIT_SECONDS[part.group(2)]
        pos = part.end()
    if pos == 0:
        raise EvaluationError(f"invalid duration {text!r}")
    try:
        return dt.timedelta(seconds=sign * seconds)
    except OverflowError:
        raise EvaluationError(f"duration out of range {text!r}") from None


def parse_timestamp(text: str) -> dt.datetime:
    """Parse an RFC 3339 / ISO 8601 timestamp; naive times are UTC."""
    candidate = text.strip()
    if candidate.endswith(("z", "Z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(candidate)
    except ValueError:
        try:
            # RFC 1123 ("Mon, 02 Jan 2006 15:04:05 GMT"), as HTTP headers carry dates.
            parsed = parsedate_to_datetime(candidate)
        except (TypeError, ValueError):
            raise EvaluationError(f"invalid timestamp {text!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def from_epoch(number: float) -> dt.datetime:
    """A Unix time whose unit is guessed: seconds, milliseconds, microseconds or nanoseconds.

    Below 1e11 it is seconds (until year 5138), below 1e14 milliseconds, and so on; event
    ``ts`` fields are milliseconds and land in the second band.
    """
    magnitude = abs(number)
    if magnitude < 1e11:
        seconds = number
    elif magnitude < 1e14:
        seconds = number / 1e3
    elif magnitude < 1e17:
        seconds = number / 1e6
    else:
        seconds = number / 1e9
    return from_epoch_seconds(seconds)


def from_epoch_seconds(seconds: float) -> dt.datetime:
    """A Unix time in seconds, as CEL's ``timestamp(int)`` reads it."""
    try:
        return _EPOCH + dt.timedelta(seconds=seconds)
    except OverflowError:
        raise EvaluationError(f"timestamp out of range {seconds!r}") from None


def to_date(value: Any) -> dt.datetime:
    """Inngest's ``date(x)``: a timestamp from a string, an epoch number or a timestamp."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        return parse_timestamp(value)
    if is_number(value):
        return from_epoch(value)
    raise EvaluationError(f"date() cannot convert {type(value).__name__}")
