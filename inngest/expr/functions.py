"""The functions an expression may call: CEL's standard set plus Inngest's additions.

Every function can be called globally or as a method (``size(s)`` or ``s.size()``); the
receiver becomes the first argument. Inngest's additions are ``lowercase``, ``uppercase``,
``b64decode``, ``json_parse``, ``date``, ``now``, ``now_plus`` and ``now_minus``. ``now()``
returns a timestamp, as in Inngest; compare it with ``date(event.ts)``, not with raw numbers.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from inngest.expr import times
from inngest.expr.values import (
    MISSING,
    EvaluationError,
    contains,
    is_number,
    to_string,
    type_of,
)

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True, slots=True)
class Builtin:
    """A callable with its accepted argument counts (a method's receiver counts as one)."""

    impl: Callable[..., Any]
    min_args: int
    max_args: int
    # Time functions receive the evaluation's "now" first, so that tests can pin the clock.
    needs_now: bool = False


def _strings(*args: Any) -> None:
    for arg in args:
        if not isinstance(arg, str):
            raise EvaluationError(f"expected a string, got {type_of(arg).name}")


def _size(value: Any) -> int:
    if value is None or value is MISSING:
        return 0  # Inngest: the size of something absent is zero, not an error
    if isinstance(value, str | bytes | list | tuple | dict):
        return len(value)
    raise EvaluationError(f"size() is not defined for {type_of(value).name}")


def _contains(haystack: Any, needle: Any) -> bool:
    if isinstance(haystack, list | tuple):
        return contains(haystack, needle)
    _strings(haystack, needle)
    return bool(needle in haystack)


def _starts_with(text: Any, prefix: Any) -> bool:
    _strings(text, prefix)
    return bool(text.startswith(prefix))


def _ends_with(text: Any, suffix: Any) -> bool:
    _strings(text, suffix)
    return bool(text.endswith(suffix))


def _matches(text: Any, pattern: Any) -> bool:
    _strings(text, pattern)
    try:
        # CEL's matches() is an unanchored RE2 search; Python's syntax covers the common subset.
        return re.search(pattern, text) is not None
    except re.error as exc:
        raise EvaluationError(f"invalid regular expression {pattern!r}: {exc}") from None


def _case(convert: Callable[[str], str]) -> Callable[[Any], str]:
    def apply(text: Any) -> str:
        # Inngest turns a non-string into "" rather than failing the whole expression.
        return convert(text) if isinstance(text, str) else ""

    return apply


def _b64decode(text: Any) -> str:
    _strings(text)
    padded = text.strip() + "=" * (-len(text.strip()) % 4)
    try:
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise EvaluationError("b64decode(): invalid base64 input") from None
    return raw.decode("utf-8", errors="replace")


def _json_parse(text: Any) -> Any:
    _strings(text)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise EvaluationError(f"json_parse(): {exc}") from None


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        result = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise EvaluationError("int(): value is not finite")
        result = math.trunc(value)
    elif isinstance(value, str):
        try:
            result = int(value.strip(), 10)
        except ValueError:
            raise EvaluationError(f"int(): cannot parse {value!r}") from None
    elif isinstance(value, dt.datetime):
        result = math.floor(value.timestamp())
    else:
        raise EvaluationError(f"int() is not defined for {type_of(value).name}")
    if not _INT64_MIN <= result <= _INT64_MAX:
        raise EvaluationError("int(): value out of range")
    return result


def _to_uint(value: Any) -> int:
    result = _to_int(value)
    if result < 0:
        raise EvaluationError("uint(): value is negative")
    return result


def _to_double(value: Any) -> float:
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise EvaluationError(f"double(): cannot parse {value!r}") from None
    raise EvaluationError(f"double() is not defined for {type_of(value).name}")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    words = {"true": True, "t": True, "1": True, "false": False, "f": False, "0": False}
    if isinstance(value, str) and value.lower() in words:
        return words[value.lower()]
    raise EvaluationError(f"bool() cannot convert {value!r}")


def _to_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    _strings(value)
    return bytes(value.encode())


def _timestamp(value: Any) -> dt.datetime:
    if isinstance(value, str):
        return times.parse_timestamp(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return times.from_epoch_seconds(value)
    if isinstance(value, dt.datetime):
        return value
    raise EvaluationError(f"timestamp() cannot convert {type_of(value).name}")


def _duration(value: Any) -> dt.timedelta:
    if isinstance(value, dt.timedelta):
        return value
    _strings(value)
    return times.parse_duration(value)


def _now(now: dt.datetime) -> dt.datetime:
    return now


def _now_plus(now: dt.datetime, text: Any) -> dt.datetime:
    _strings(text)
    return now + times.parse_duration(text)


def _now_minus(now: dt.datetime, text: Any) -> dt.datetime:
    _strings(text)
    return now - times.parse_duration(text)


def _in_zone(value: Any, zone: Any = None) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise EvaluationError(f"expected a timestamp, got {type_of(value).name}")
    if zone is None:
        return value.astimezone(dt.UTC)
    _strings(zone)
    try:
        return value.astimezone(zoneinfo.ZoneInfo(zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise EvaluationError(f"unknown time zone {zone!r}") from None


def _getter(
    on_timestamp: Callable[[dt.datetime], int],
    on_duration: Callable[[dt.timedelta], int] | None = None,
) -> Callable[..., int]:
    def get(value: Any, zone: Any = None) -> int:
        if on_duration is not None and isinstance(value, dt.timedelta) and zone is None:
            return on_duration(value)
        return on_timestamp(_in_zone(value, zone))

    return get


def _trim(text: Any) -> str:
    _strings(text)
    return str(text.strip())


def _split(text: Any, separator: Any) -> list[str]:
    _strings(text, separator)
    return list(text.split(separator)) if separator else list(text)


def _join(items: Any, separator: Any = "") -> str:
    if not isinstance(items, list | tuple):
        raise EvaluationError("join() expects a list")
    _strings(separator, *items)
    return str(separator.join(items))


def _replace(text: Any, old: Any, new: Any) -> str:
    _strings(text, old, new)
    return str(text.replace(old, new))


def _index_of(text: Any, sub: Any) -> int:
    _strings(text, sub)
    return int(text.find(sub))


def _seconds(value: dt.timedelta) -> int:
    return math.trunc(value.total_seconds())


BUILTINS: dict[str, Builtin] = {
    "size": Builtin(_size, 1, 1),
    "contains": Builtin(_contains, 2, 2),
    "startsWith": Builtin(_starts_with, 2, 2),
    "endsWith": Builtin(_ends_with, 2, 2),
    "matches": Builtin(_matches, 2, 2),
    "lowercase": Builtin(_case(str.lower), 1, 1),
    "uppercase": Builtin(_case(str.upper), 1, 1),
    "lowerAscii": Builtin(_case(str.lower), 1, 1),
    "upperAscii": Builtin(_case(str.upper), 1, 1),
    "trim": Builtin(_trim, 1, 1),
    "split": Builtin(_split, 2, 2),
    "join": Builtin(_join, 1, 2),
    "replace": Builtin(_replace, 3, 3),
    "indexOf": Builtin(_index_of, 2, 2),
    "b64decode": Builtin(_b64decode, 1, 1),
    "json_parse": Builtin(_json_parse, 1, 1),
    "int": Builtin(_to_int, 1, 1),
    "uint": Builtin(_to_uint, 1, 1),
    "double": Builtin(_to_double, 1, 1),
    "string": Builtin(to_string, 1, 1),
    "bool": Builtin(_to_bool, 1, 1),
    "bytes": Builtin(_to_bytes, 1, 1),
    "dyn": Builtin(lambda value: value, 1, 1),
    "type": Builtin(type_of, 1, 1),
    "timestamp": Builtin(_timestamp, 1, 1),
    "duration": Builtin(_duration, 1, 1),
    "date": Builtin(times.to_date, 1, 1),
    "now": Builtin(_now, 0, 0, needs_now=True),
    "now_plus": Builtin(_now_plus, 1, 1, needs_now=True),
    "now_minus": Builtin(_now_minus, 1, 1, needs_now=True),
    "getFullYear": Builtin(_getter(lambda t: t.year), 1, 2),
    "getMonth": Builtin(_getter(lambda t: t.month - 1), 1, 2),
    "getDate": Builtin(_getter(lambda t: t.day), 1, 2),
    "getDayOfMonth": Builtin(_getter(lambda t: t.day - 1), 1, 2),
    "getDayOfWeek": Builtin(_getter(lambda t: t.isoweekday() % 7), 1, 2),
    "getDayOfYear": Builtin(_getter(lambda t: t.timetuple().tm_yday - 1), 1, 2),
    "getHours": Builtin(_getter(lambda t: t.hour, lambda d: _seconds(d) // 3600), 1, 2),
    "getMinutes": Builtin(_getter(lambda t: t.minute, lambda d: _seconds(d) // 60), 1, 2),
    "getSeconds": Builtin(_getter(lambda t: t.second, _seconds), 1, 2),
    "getMilliseconds": Builtin(
        _getter(lambda t: t.microsecond // 1000, lambda d: d // dt.timedelta(milliseconds=1)),
        1,
        2,
    ),
}
