"""The loose value semantics of Inngest's CEL dialect.

Values are plain Python: ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool``, ``None``, plus
``bytes``, aware ``datetime`` (CEL timestamp), ``timedelta`` (CEL duration) and ``CelType``.
A field that does not exist reads as ``MISSING`` instead of raising, and the operators treat
it like ``null``: equal only to ``null``, falsy, never ordered. Comparisons between types that
cannot be compared (``1 < 'a'``) are false rather than errors; ints and doubles mix freely.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import Any, Final

from inngest.errors import InngestError


class EvaluationError(InngestError):
    """An expression could not be evaluated against the given variables."""


class _Missing:
    """The value of a field that does not exist (Inngest's "unknown")."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


@dataclass(frozen=True, slots=True)
class CelType:
    """A type value, as returned by ``type(x)`` and named by ``int``, ``string``…"""

    name: str


TYPE_NAMES: Final = frozenset(
    {"int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type"}
    | {"google.protobuf.Timestamp", "google.protobuf.Duration"}
)


def type_of(value: Any) -> CelType:
    """The CEL type of ``value``; ``MISSING`` reports as ``null_type``."""
    if value is None or value is MISSING:
        return CelType("null_type")
    if isinstance(value, bool):
        return CelType("bool")
    if isinstance(value, int):
        return CelType("int")
    if isinstance(value, float):
        return CelType("double")
    if isinstance(value, str):
        return CelType("string")
    if isinstance(value, bytes):
        return CelType("bytes")
    if isinstance(value, list | tuple):
        return CelType("list")
    if isinstance(value, dict):
        return CelType("map")
    if isinstance(value, dt.datetime):
        return CelType("google.protobuf.Timestamp")
    if isinstance(value, dt.timedelta):
        return CelType("google.protobuf.Duration")
    if isinstance(value, CelType):
        return CelType("type")
    raise EvaluationError(f"unsupported value of type {type(value).__name__}")


def is_number(value: Any) -> bool:
    """True for ints and floats; bools are not numbers here."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def truthy(value: Any) -> bool:
    """JavaScript-like truthiness: null, missing, false, 0, NaN and "" are falsy."""
    if value is None or value is MISSING or value is False:
        return False
    if is_number(value):
        return bool(value) and not (isinstance(value, float) and math.isnan(value))
    if isinstance(value, str | bytes):
        return len(value) > 0
    return True


def equal(left: Any, right: Any) -> bool:
    """Loose equality: numbers by value across int/double, containers deeply, else same type."""
    if left is MISSING:
        left = None
    if right is MISSING:
        right = None
    if is_number(left) and is_number(right):
        return bool(left == right)
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(map(equal, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        if len(left) != len(right):
            return False
        return all(_has_key(right, k) and equal(v, _get_key(right, k)) for k, v in left.items())
    if type_of(left) != type_of(right):
        return False
    return bool(left == right)


def compare(op: str, left: Any, right: Any) -> bool:
    """``< <= > >=`` between comparable values; anything else (null, mixed types) is false."""
    if is_number(left) and is_number(right):
        pass
    elif not (_orderable(left) and type(left) is type(right)):
        return False
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)


def _orderable(value: Any) -> bool:
    return isinstance(value, str | bytes | bool | dt.datetime | dt.timedelta)


def contains(container: Any, item: Any) -> bool:
    """The ``in`` operator: list membership by loose equality, map key presence."""
    if isinstance(container, list | tuple):
        return any(equal(item, element) for element in container)
    if isinstance(container, dict):
        return _has_key(container, item)
    return False


def _has_key(mapping: dict[Any, Any], key: Any) -> bool:
    return _get_key(mapping, key) is not MISSING


def _get_key(mapping: dict[Any, Any], key: Any) -> Any:
    try:
        if key in mapping:
            return mapping[key]
    except TypeError:  # an unhashable key (a list or map) names nothing
        return MISSING
    # 1 and 1.0 are the same key under loose equality.
    if isinstance(key, float) and key.is_integer() and int(key) in mapping:
        return mapping[int(key)]
    return MISSING


def select(operand: Any, field: str) -> Any:
    """``operand.field``; ``MISSING`` when the operand is not a map or has no such key."""
    if isinstance(operand, dict):
        return operand.get(field, MISSING)
    return MISSING


def index(operand: Any, key: Any) -> Any:
    """``operand[key]``; ``MISSING`` when out of range or absent."""
    if isinstance(operand, dict):
        return _get_key(operand, key)
    if isinstance(operand, list | tuple) and is_number(key):
        position = int(key)
        if position == key and 0 <= position < len(operand):
            return operand[position]
    return MISSING


def to_plain(value: Any) -> Any:
    """Convert an evaluation result to JSON-like Python (``MISSING`` becomes ``None``)."""
    if value is MISSING:
        return None
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, dt.datetime | dt.timedelta | bytes | CelType):
        return to_string(value)
    return value


def to_string(value: Any) -> str:
    """CEL's ``string(x)``, extended to every value (containers become JSON)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or value is MISSING:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return (
            repr(value)
            if math.isfinite(value)
            else {"inf": "+Inf", "-inf": "-Inf"}.get(repr(value), "NaN")
        )
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.timedelta):
        return f"{value.total_seconds():g}s"
    if isinstance(value, CelType):
        return value.name
    return json.dumps(to_plain(value), separators=(",", ":"), sort_keys=True)
