"""Values out of ``Expression.evaluate``: plain JSON-like Python, CEL arithmetic, functions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from inngest import expr

EVENT: dict[str, Any] = {
    "name": "shop/order",
    "ts": 1764500000000,
    "data": {"id": 7, "price": 2.5, "name": "Ada", "vip": True, "list": [3, 1, 2], "map": {"k": 1}},
}
NOW = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

CASES: list[tuple[str, Any]] = [
    ("event.data.vip ? 120 : 0", 120),
    ("event.data.id", 7),
    ("event.data.map", {"k": 1}),
    ("event.data.list", [3, 1, 2]),
    ("event.data.missing", None),
    ("event.data.id + 1", 8),
    ("event.data.id * event.data.price", 17.5),
    ("7 / 2", 3),
    ("-7 / 2", -3),
    ("7.0 / 2", 3.5),
    ("-7 % 3", -1),
    ("1.0 / 0", float("inf")),
    ("'a' + 'b'", "ab"),
    ("'id-' + event.data.id", "id-7"),
    ("event.data.missing + 'x'", "x"),
    ("[1] + [2]", [1, 2]),
    ("{'a': 1, 'b': [true, null]}", {"a": 1, "b": [True, None]}),
    ("event.data.list.map(x, x * 2)", [6, 2, 4]),
    ("event.data.list.map(x, x > 1, x)", [3, 2]),
    ("event.data.list.filter(x, x < 3)", [1, 2]),
    ("event.data.map.map(k, k)", ["k"]),
    ("size(event.data.name)", 3),
    ("event.data.name.size()", 3),
    ("size(event.data.list)", 3),
    ("size(event.data.missing)", 0),
    ("lowercase(event.data.name)", "ada"),
    ("uppercase(event.data.name)", "ADA"),
    ("string(event.data.id)", "7"),
    ("string(true)", "true"),
    ("int('42')", 42),
    ("int(2.9)", 2),
    ("double(1)", 1.0),
    ("uint(3)", 3),
    ("3u", 3),
    ("0x10", 16),
    ("1e3", 1000.0),
    ("type(event.data.name) == string", True),
    ("type(1.0)", "double"),
    ("b64decode('QWRh')", "Ada"),
    ("b64decode('QWRh-_8')", "Ada\ufffd\ufffd"),
    ("json_parse('[1, {\"a\": null}]')", [1, {"a": None}]),
    ("'a,b'.split(',')", ["a", "b"]),
    ("['a', 'b'].join('-')", "a-b"),
    ("' x '.trim()", "x"),
    ("'aXa'.replace('X', 'y')", "aya"),
    ("'abc'.indexOf('c')", 2),
    ("'\\x41\\u00e9\\n'", "A\u00e9\n"),
    ("r'\\n'", "\\n"),
    ("'''multi\nline'''", "multi\nline"),
    ("now()", "2025-01-02T03:04:05Z"),
    ("now_plus('1h30m')", "2025-01-02T04:34:05Z"),
    ("now_minus('1d')", "2025-01-01T03:04:05Z"),
    ("now_plus('1w') - now()", "604800s"),
    ("date(event.ts)", "2025-11-30T10:53:20Z"),
    ("date(1764500000)", "2025-11-30T10:53:20Z"),
    ("date('2024-03-01')", "2024-03-01T00:00:00Z"),
    ("date('2024-03-01T10:00:00+02:00').getHours()", 8),
    ("date('2024-03-01T10:00:00Z').getHours('Europe/Paris')", 11),
    ("timestamp('2024-03-01T00:00:00Z').getFullYear()", 2024),
    ("timestamp('2024-03-01T00:00:00Z').getMonth()", 2),
    ("duration('90m').getHours()", 1),
    ("duration('1.5s')", "1.5s"),
    ("b'ab'", "ab"),
    ("!true", False),
    ("-event.data.id", -7),
    ("event.data.missing || 'fallback'", "fallback"),
    ("event.data.name || 'fallback'", "Ada"),
    ("event.data.name && event.data.id", 7),
    ("true ? 'a' : 'b'", "a"),
    ("false ? 'a' : true ? 'b' : 'c'", "b"),
    ("event.data.list[0] // a comment", 3),
    ("event['data']['name']", "Ada"),
]


@pytest.mark.parametrize(("source", "expected"), CASES)
def test_evaluate(source: str, expected: Any) -> None:
    result = expr.compile_expression(source).evaluate({"event": EVENT}, now=NOW)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    "source",
    [
        "1 / 0",
        "1 % 0",
        "int('x')",
        "9223372036854775807 + 1",
        "event.data.list + 1",
        "-event.data.name",
        "duration('soon')",
        "now_plus('1 hour')",
        "b64decode('***')",
        "json_parse('{')",
        "event.data.id.exists(x, true)",
        "timestamp('yesterday')",
        "'x'.matches('(')",
        "date(true)",
        "getHours(now(), 'Mars/Olympus')",
    ],
)
def test_evaluate_raises_evaluation_error(source: str) -> None:
    with pytest.raises(expr.EvaluationError):
        expr.compile_expression(source).evaluate({"event": EVENT})
    assert expr.compile_expression(source).matches({"event": EVENT}) is False


def test_now_defaults_to_the_current_time() -> None:
    result = expr.compile_expression("now()").evaluate({})
    parsed = dt.datetime.fromisoformat(result.replace("Z", "+00:00"))
    assert abs(parsed - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
