"""Arithmetic operators of the dialect: ``+ - * / %`` and unary minus.

Ints and doubles mix freely (``1 + 2.5`` is ``3.5``), which strict CEL forbids; int results
stay within 64 bits as in CEL. ``+`` also concatenates strings with numbers and treats an
absent operand as "nothing to add", both as Inngest does.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from inngest.expr.values import MISSING, EvaluationError, is_number, to_string, type_of

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def negate(value: Any) -> Any:
    """Unary minus on a number or a duration."""
    if is_number(value) or isinstance(value, dt.timedelta):
        return _checked(-value)
    raise EvaluationError(f"cannot negate {type_of(value).name}")


def _checked(result: Any) -> Any:
    # CEL ints are 64-bit and overflow is an error, not a silently growing Python int.
    if is_number(result) and isinstance(result, int) and not _INT64_MIN <= result <= _INT64_MAX:
        raise EvaluationError("integer overflow")
    return result


def arithmetic(op: str, left: Any, right: Any) -> Any:
    """``+ - * / %`` with ints and doubles mixing freely, as Inngest's dialect allows."""
    if is_number(left) and is_number(right):
        return _checked(_numeric(op, left, right))
    if op == "+":
        return _add(left, right)
    if op == "-" and isinstance(right, dt.timedelta) and isinstance(left, dt.timedelta):
        return left - right
    if op == "-" and isinstance(left, dt.datetime):
        if isinstance(right, dt.timedelta):
            return left - right
        if isinstance(right, dt.datetime):
            return left - right
    raise EvaluationError(
        f"operator '{op}' is not defined for {type_of(left).name} and {type_of(right).name}"
    )


def _numeric(op: str, left: float, right: float) -> float:
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    both_int = isinstance(left, int) and isinstance(right, int)
    if op == "/":
        if both_int:
            if right == 0:
                raise EvaluationError("division by zero")
            # CEL truncates toward zero; Python's // floors.
            quotient = abs(left) // abs(right)
            return quotient if (left >= 0) == (right > 0) else -quotient
        if right == 0:
            return math.nan if left == 0 or math.isnan(left) else math.copysign(math.inf, left)
        return left / right
    if right == 0:
        raise EvaluationError("modulus by zero")
    # CEL's remainder takes the sign of the dividend, like C and Go, unlike Python's %.
    return int(math.fmod(left, right)) if both_int else math.fmod(left, right)


def _add(left: Any, right: Any) -> Any:
    if left is MISSING:
        return right  # Inngest: adding to an absent value yields the other operand
    if right is MISSING:
        return left
    if isinstance(left, str) or isinstance(right, str):
        if isinstance(left, str) and isinstance(right, str):
            return left + right
        scalar = (str, int, float, bool)
        if isinstance(left, scalar) and isinstance(right, scalar):
            # Inngest concatenates a string with a number or bool ("id-" + 7 == "id-7").
            return to_string(left) + to_string(right)
    if isinstance(left, bytes) and isinstance(right, bytes):
        return left + right
    if isinstance(left, list) and isinstance(right, list):
        return left + right
    if isinstance(left, dt.timedelta) and isinstance(right, dt.timedelta):
        return left + right
    if isinstance(left, dt.datetime) and isinstance(right, dt.timedelta):
        return left + right
    if isinstance(left, dt.timedelta) and isinstance(right, dt.datetime):
        return right + left
    raise EvaluationError(
        f"operator '+' is not defined for {type_of(left).name} and {type_of(right).name}"
    )
