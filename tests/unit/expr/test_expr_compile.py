"""Compilation: clear errors for invalid expressions, and one cached object per source."""

from __future__ import annotations

import pytest

from inngest import expr
from inngest.errors import ValidationError


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("event.data.id ==", "expected a value, found end of input at column 17"),
        ("event.data.id = 1", "unexpected character '=' at column 15"),
        ("event.data.id == 'open", "unterminated string literal at column 18"),
        ("(event.data.id == 1", "expected ')', found end of input"),
        ("event.data.id == 1)", "unexpected trailing input, found ')'"),
        ("", "expected a value, found end of input at column 1"),
        ("event.", "expected a field name after '.'"),
        ("events[0].data.id == 1", "undeclared reference to 'events'"),
        ("foo(event)", "undeclared function 'foo'"),
        ("size(1, 2)", "function 'size' takes 1 argument, got 2"),
        ("lowercase()", "function 'lowercase' takes 1 argument, got 0"),
        ("has(event)", "has() expects a field selection"),
        ("event.data.l.all(1, true)", "macro 'all' expects a variable name"),
        ("event.data.if == 1", "'if' is a reserved word"),
        ("Msg{a: 1}", "message construction is not supported"),
        ("'\\q'", "invalid escape sequence \\q"),
        ("(" * 300 + "1" + ")" * 300, "nested too deeply"),
        ("!" * 300 + "true", "nested too deeply"),
        (" + ".join(["1"] * 5000), "nested too deeply"),
    ],
)
def test_invalid_expressions_raise_validation_error(source: str, problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        expr.compile_expression(source)
    message = caught.value.message
    assert message.startswith("invalid expression ")
    assert problem in message
    assert caught.value.field is None


def test_error_message_quotes_the_expression() -> None:
    with pytest.raises(ValidationError, match=r'invalid expression "event\.data\.id ==": '):
        expr.compile_expression("event.data.id ==")


def test_same_source_returns_the_same_object() -> None:
    first = expr.compile_expression("event.data.cache_test == 1")
    assert expr.compile_expression("event.data.cache_test == 1") is first
    assert expr.compile_expression("event.data.cache_test == 2") is not first
    assert first.source == "event.data.cache_test == 1"


@pytest.mark.parametrize(
    "source",
    [
        "async.data.id == event.data.id",
        "vars.limit > 1",
        "event.data.list.exists(x, x.all(y, y == x))",
        "event.data.x.map(v, v + 1)",
        "[1, 2, 3,].size() == 3",
        "{'a': 1,}.a == 1",
        "type(1) == int && type('') == string",
        "!!true",
        "--1 == 1",
    ],
)
def test_valid_expressions_compile(source: str) -> None:
    assert isinstance(expr.compile_expression(source), expr.Expression)


def test_loop_variable_is_not_visible_outside_its_macro() -> None:
    with pytest.raises(ValidationError, match="undeclared reference to 'x'"):
        expr.compile_expression("[1].exists(x, true) && x == 1")
