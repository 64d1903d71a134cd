"""The expression language of function configs: Inngest's CEL dialect, compiled once and cached.

Expressions appear in trigger ``expression``, ``waitForEvent`` / ``cancelOn`` ``if``, flow
control keys, ``idempotency`` and ``priority.run``. Variables: ``event``, ``async`` (the incoming
event of a wait or cancellation) and ``vars``.

The dialect is forgiving where strict CEL would fail: an absent field reads as null, ints and
doubles compare and add freely, comparisons between unrelated types are false, ``&&`` / ``||`` /
``!`` / ``?:`` use JavaScript-like truthiness, and ``Expression.matches`` turns any failure
into "no match".

    compile_expression(source) -> Expression           # raises errors.ValidationError
    Expression.evaluate(variables, now=None) -> Any     # raises EvaluationError
    Expression.matches(variables, now=None) -> bool     # never raises
    evaluate_bool(source, event, incoming=None) -> bool
    evaluate_key(source, event) -> str | None
    evaluate_int(source, event) -> int
"""

from __future__ import annotations

from inngest.expr.expression import (
    Expression,
    compile_expression,
    evaluate_bool,
    evaluate_int,
    evaluate_key,
)
from inngest.expr.values import EvaluationError

__all__ = [
    "EvaluationError",
    "Expression",
    "compile_expression",
    "evaluate_bool",
    "evaluate_int",
    "evaluate_key",
]
