"""Turn a syntax tree into nested Python closures, checked once and evaluated many times.

Compiling to closures rather than walking the tree on every evaluation keeps the hot path to
one call per node; the variables are read in place, never converted. Names and function
arities are checked here, so a typo fails when a function is registered, not when it runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

from inngest.expr import nodes, operators, values
from inngest.expr.functions import BUILTINS
from inngest.expr.values import MISSING, EvaluationError

Env: TypeAlias = Mapping[str, Any]
Compiled: TypeAlias = Callable[[Env], Any]

VARIABLES = frozenset({"event", "async", "vars"})
# The evaluation's current time travels in the environment under a name no identifier can take.
NOW_KEY = "now()"
_MACROS = frozenset({"has", "all", "exists", "exists_one", "map", "filter"})


class CompileError(Exception):
    """The tree is well-formed but meaningless: an unknown name, function or arity."""

    def __init__(self, message: str, pos: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


def compile_tree(tree: nodes.Node, scope: frozenset[str] = frozenset()) -> Compiled:
    """Compile ``tree``; ``scope`` holds the loop variables of enclosing macros."""
    match tree:
        case nodes.Literal(value=value):
            return lambda env: value
        case nodes.Ident(name=name, pos=pos):
            return _ident(name, pos, scope)
        case nodes.Select(operand=operand, field=field):
            inner = compile_tree(operand, scope)
            return lambda env: values.select(inner(env), field)
        case nodes.Index(operand=operand, index=key):
            container, item = compile_tree(operand, scope), compile_tree(key, scope)
            return lambda env: values.index(container(env), item(env))
        case nodes.ListLit(items=items):
            parts = [compile_tree(item, scope) for item in items]
            return lambda env: [part(env) for part in parts]
        case nodes.MapLit(entries=entries):
            pairs = [(compile_tree(k, scope), compile_tree(v, scope)) for k, v in entries]
            return lambda env: {k(env): v(env) for k, v in pairs}
        case nodes.Unary(op=op, operand=operand):
            inner = compile_tree(operand, scope)
            if op == "!":
                return lambda env: not values.truthy(inner(env))
            return lambda env: operators.negate(inner(env))
        case nodes.Ternary(cond=cond, then=then, otherwise=otherwise):
            test, yes, no = (compile_tree(n, scope) for n in (cond, then, otherwise))
            return lambda env: yes(env) if values.truthy(test(env)) else no(env)
        case nodes.Binary(op=op, left=left, right=right):
            return _binary(op, compile_tree(left, scope), compile_tree(right, scope))
        case nodes.Call():
            return _call(tree, scope)
    raise CompileError(f"unsupported syntax {type(tree).__name__}")


def _ident(name: str, pos: int, scope: frozenset[str]) -> Compiled:
    if name in scope or name in VARIABLES:
        return lambda env: env.get(name, MISSING)
    if name in values.TYPE_NAMES:
        type_value = values.CelType(name)
        return lambda env: type_value
    raise CompileError(
        f"undeclared reference to '{name}' (expected one of: async, event, vars)", pos
    )


def _binary(op: str, left: Compiled, right: Compiled) -> Compiled:
    if op == "&&":
        return lambda env: _and(left, right, env)
    if op == "||":
        return lambda env: _or(left, right, env)
    if op == "==":
        return lambda env: values.equal(left(env), right(env))
    if op == "!=":
        return lambda env: not values.equal(left(env), right(env))
    if op in ("<", "<=", ">", ">="):
        return lambda env: values.compare(op, left(env), right(env))
    if op == "in":
        return lambda env: values.contains(right(env), left(env))
    return lambda env: operators.arithmetic(op, left(env), right(env))


def _or(left: Compiled, right: Compiled, env: Env) -> Any:
    # JavaScript-like: the first truthy operand wins. As in CEL, an error on one side is
    # forgiven when the other side decides the outcome ("err || true" is true).
    try:
        first = left(env)
    except Exception:
        second = right(env)
        if values.truthy(second):
            return second
        raise
    return first if values.truthy(first) else right(env)


def _and(left: Compiled, right: Compiled, env: Env) -> Any:
    try:
        first = left(env)
    except Exception:
        second = right(env)
        if not values.truthy(second):
            return second
        raise
    return right(env) if values.truthy(first) else first


def _call(call: nodes.Call, scope: frozenset[str]) -> Compiled:
    if call.function in _MACROS and _is_macro_shape(call):
        return _macro(call, scope)
    builtin = BUILTINS.get(call.function)
    if builtin is None:
        raise CompileError(f"undeclared function '{call.function}'", call.pos)
    arg_nodes = ((call.target,) if call.target is not None else ()) + call.args
    if not builtin.min_args <= len(arg_nodes) <= builtin.max_args:
        raise CompileError(
            f"function '{call.function}' takes {_arity(builtin.min_args, builtin.max_args)}, "
            f"got {len(arg_nodes)}",
            call.pos,
        )
    args = [compile_tree(arg, scope) for arg in arg_nodes]
    impl = builtin.impl
    if builtin.needs_now:
        return lambda env: impl(_now(env), *[arg(env) for arg in args])
    if len(args) == 1:
        only = args[0]
        return lambda env: impl(only(env))
    return lambda env: impl(*[arg(env) for arg in args])


def _is_macro_shape(call: nodes.Call) -> bool:
    if call.function == "has":
        return call.target is None
    return call.target is not None


def _arity(low: int, high: int) -> str:
    if low == high:
        return f"{low} argument{'s' if low != 1 else ''}"
    return f"{low} to {high} arguments"


def _now(env: Env) -> dt.datetime:
    now = env.get(NOW_KEY)
    return now if isinstance(now, dt.datetime) else dt.datetime.now(dt.UTC)


def _macro(call: nodes.Call, scope: frozenset[str]) -> Compiled:
    if call.function == "has":
        return _has(call, scope)
    assert call.target is not None  # guaranteed by _is_macro_shape
    arity = (2, 3) if call.function == "map" else (2,)
    if len(call.args) not in arity or not isinstance(call.args[0], nodes.Ident):
        raise CompileError(
            f"macro '{call.function}' expects a variable name and an expression", call.pos
        )
    var = call.args[0].name
    target = compile_tree(call.target, scope)
    inner = scope | {var}
    bodies = [compile_tree(arg, inner) for arg in call.args[1:]]
    run = _COMPREHENSIONS[call.function]
    return lambda env: run(var, _range(target(env)), bodies, env)


def _has(call: nodes.Call, scope: frozenset[str]) -> Compiled:
    if len(call.args) != 1 or not isinstance(call.args[0], nodes.Select):
        raise CompileError("has() expects a field selection such as has(event.data.x)", call.pos)
    field = call.args[0].field
    operand = compile_tree(call.args[0].operand, scope)
    return lambda env: values.select(operand(env), field) is not MISSING


def _range(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, dict):
        return list(value)
    raise EvaluationError(f"cannot iterate over {values.type_of(value).name}")


# Each comprehension gets the loop variable, the items, the compiled bodies and the outer
# environment. One copy of the environment per evaluation is enough: bodies run to completion
# before the loop variable is rebound, and nested macros copy again.
def _all(var: str, items: list[Any], bodies: list[Compiled], env: Env) -> bool:
    scope, failure = dict(env), None
    for item in items:
        scope[var] = item
        try:
            if not values.truthy(bodies[0](scope)):
                return False  # a false element decides, even if another one failed
        except Exception as exc:
            failure = exc
    if failure is not None:
        raise failure
    return True


def _exists(var: str, items: list[Any], bodies: list[Compiled], env: Env) -> bool:
    scope, failure = dict(env), None
    for item in items:
        scope[var] = item
        try:
            if values.truthy(bodies[0](scope)):
                return True
        except Exception as exc:
            failure = exc
    if failure is not None:
        raise failure
    return False


def _exists_one(var: str, items: list[Any], bodies: list[Compiled], env: Env) -> bool:
    scope, count = dict(env), 0
    for item in items:
        scope[var] = item
        count += values.truthy(bodies[0](scope))
    return count == 1


def _map(var: str, items: list[Any], bodies: list[Compiled], env: Env) -> list[Any]:
    scope, out = dict(env), []
    for item in items:
        scope[var] = item
        if len(bodies) == 2 and not values.truthy(bodies[0](scope)):
            continue
        out.append(bodies[-1](scope))
    return out


def _filter(var: str, items: list[Any], bodies: list[Compiled], env: Env) -> list[Any]:
    scope, out = dict(env), []
    for item in items:
        scope[var] = item
        if values.truthy(bodies[0](scope)):
            out.append(item)
    return out


_COMPREHENSIONS: dict[str, Callable[[str, list[Any], list[Compiled], Env], Any]] = {
    "all": _all,
    "exists": _exists,
    "exists_one": _exists_one,
    "map": _map,
    "filter": _filter,
}
