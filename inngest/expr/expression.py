"""Compiled expressions and the helpers the server calls with them.

``compile_expression`` parses and checks once, caching by source. An ``Expression`` then
evaluates against a mapping of variables (``event``, ``async``, ``vars``) holding plain JSON-like
values. ``matches`` is the forgiving boolean used for triggers, waits and cancellations: any
failure means "no match".
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from collections.abc import Mapping
from typing import Any, Final

from inngest.errors import ValidationError
from inngest.expr import compiler, parser, values
from inngest.expr.values import MISSING, EvaluationError

# Functions register a handful of expressions each; this bounds memory if sources churn.
_CACHE_SIZE: Final = 4096


class Expression:
    """A compiled expression; immutable and safe to share between threads and tasks."""

    __slots__ = ("_run", "source")

    def __init__(self, source: str, run: compiler.Compiled) -> None:
        self.source = source
        self._run = run

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def evaluate(self, variables: Mapping[str, Any], *, now: dt.datetime | None = None) -> Any:
        """Evaluate and return JSON-like Python; an absent result is ``None``.

        ``now`` pins what ``now()`` returns (default: the current UTC time). Raises
        ``EvaluationError`` when the expression fails (e.g. ``1 / 0``, ``int('x')``).
        """
        return values.to_plain(self._evaluate(variables, now))

    def matches(self, variables: Mapping[str, Any], *, now: dt.datetime | None = None) -> bool:
        """The result as a condition: truthy ⇒ True; any error ⇒ False. Never raises."""
        try:
            return values.truthy(self._evaluate(variables, now))
        except Exception:
            return False

    def _evaluate(self, variables: Mapping[str, Any], now: dt.datetime | None) -> Any:
        env = variables
        if now is not None:
            env = {**variables, compiler.NOW_KEY: now}
        try:
            return self._run(env)
        except EvaluationError:
            raise
        except (ArithmeticError, TypeError, ValueError, RecursionError) as exc:
            # Odd inputs (huge floats, unhashable map keys) surface as plain Python errors.
            raise EvaluationError(f"cannot evaluate {self.source!r}: {exc}") from exc


@functools.lru_cache(maxsize=_CACHE_SIZE)
def compile_expression(source: str) -> Expression:
    """Parse and check ``source`` once; the same source returns the same ``Expression``.

    Raises ``ValidationError`` naming the expression and the problem when it is not valid.
    """
    try:
        tree = parser.parse(source)
        run = compiler.compile_tree(tree)
    except parser.ParseError as exc:
        raise ValidationError(_describe(source, exc.message, exc.pos)) from None
    except compiler.CompileError as exc:
        raise ValidationError(_describe(source, exc.message, exc.pos)) from None
    except RecursionError:
        # Long operator chains ("1 + 1 + …") nest without parentheses.
        raise ValidationError(_describe(source, "expression nested too deeply", None)) from None
    return Expression(source, run)


def _describe(source: str, problem: str, pos: int | None) -> str:
    where = f" at column {pos + 1}" if pos is not None else ""
    return f"invalid expression {json.dumps(source)}: {problem}{where}"


def evaluate_bool(
    source: str,
    event: Mapping[str, Any],
    incoming: Mapping[str, Any] | None = None,
    *,
    now: dt.datetime | None = None,
) -> bool:
    """Does ``source`` hold for ``event`` (and ``async`` = ``incoming``, for waits and cancels)?

    An invalid expression or any evaluation failure counts as "no match".
    """
    variables: dict[str, Any] = {"event": event}
    if incoming is not None:
        variables["async"] = incoming
    try:
        expression = compile_expression(source)
    except ValidationError:
        return False
    return expression.matches(variables, now=now)


def evaluate_key(source: str, event: Mapping[str, Any]) -> str | None:
    """A partition key (concurrency, throttle, debounce…) as a stable string.

    Strings are returned as they are; anything else is compact JSON with sorted keys, and
    whole doubles print as ints so that ``7`` and ``7.0`` share a key, as they compare equal.
    ``None`` when the expression is invalid, fails, or names an absent field.
    """
    try:
        result = compile_expression(source)._evaluate({"event": event}, None)
    except (ValidationError, EvaluationError):
        return None
    if result is MISSING:
        return None
    if isinstance(result, str):
        return result
    return json.dumps(
        _normalise_numbers(values.to_plain(result)), separators=(",", ":"), sort_keys=True
    )


def _normalise_numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _normalise_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise_numbers(v) for v in value]
    return value


def evaluate_int(source: str, event: Mapping[str, Any]) -> int:
    """An integer such as ``priority.run``; non-integers, failures and invalid sources give 0.

    A double with no fractional part (``120.0``) counts as an integer; bools do not.
    """
    try:
        result = compile_expression(source)._evaluate({"event": event}, None)
    except (ValidationError, EvaluationError):
        return 0
    if isinstance(result, bool) or not values.is_number(result):
        return 0
    if isinstance(result, float) and not (math.isfinite(result) and result.is_integer()):
        return 0
    return int(result)
