"""The server-facing helpers: stable keys, integer priorities, and agreement with cel-rust."""

from __future__ import annotations

from typing import Any

import cel
import pytest

from inngest import expr

EVENT: dict[str, Any] = {
    "name": "demo/kitchen",
    "id": "01JEVT",
    "data": {
        "user": "u_1",
        "org": {"id": 42, "tier": "pro"},
        "n": 7,
        "whole": 7.0,
        "vip": True,
        "prio": 120.0,
        "frac": 1.5,
        "flag": True,
        "nothing": None,
        "tags": ["b", "a"],
    },
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("event.data.user", "u_1"),
        ("'shared'", "shared"),
        ('"shared"', "shared"),
        ("event.data.n", "7"),
        ("event.data.whole", "7"),
        ("event.data.frac", "1.5"),
        ("event.data.flag", "true"),
        ("event.data.nothing", "null"),
        ("event.data.org", '{"id":42,"tier":"pro"}'),
        ("event.data.tags", '["b","a"]'),
        ("event.data.org.id + '-' + event.data.user", "42-u_1"),
        ("event.data.user + '-' + string(event.data.org.id)", "u_1-42"),
        ("event.data.missing", None),
        ("event.data.org.missing", None),
        ("1 / 0", None),
        ("event.data.user ==", None),
    ],
)
def test_evaluate_key(source: str, expected: str | None) -> None:
    assert expr.evaluate_key(source, EVENT) == expected


def test_keys_of_equal_values_are_equal() -> None:
    assert expr.evaluate_key("{'b': 1.0, 'a': 2}", EVENT) == expr.evaluate_key(
        "{'a': 2, 'b': 1}", EVENT
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("event.data.vip ? 120 : 0", 120),
        ("event.data.missing ? 120 : 0", 0),
        ("!event.data.vip ? 120 : -60", -60),
        ("event.data.prio", 120),
        ("event.data.frac", 0),
        ("event.data.flag", 0),
        ("event.data.user", 0),
        ("event.data.missing", 0),
        ("'120'", 0),
        ("1 / 0", 0),
        ("event.data ==", 0),
    ],
)
def test_evaluate_int(source: str, expected: int) -> None:
    assert expr.evaluate_int(source, EVENT) == expected


# Where strict CEL succeeds, the dialect must give the same answer: compare with cel-rust.
AGREEMENT = [
    "event.data.user == 'u_1'",
    "event.data.org.id == 42 && event.data.org.tier != 'free'",
    "event.data.n == event.data.whole",
    "event.data.n < 10 || event.data.vip",
    "event.data.vip ? 120 : 0",
    "event.data.tags.exists(t, t == 'a')",
    "event.data.tags.all(t, size(t) == 1)",
    "event.data.tags.map(t, t + '!')",
    "event.data.tags.filter(t, t != 'a')",
    "[1, 2, 3].exists_one(x, x > 2)",
    "'a' in event.data.tags",
    "has(event.data.org.tier) && !has(event.data.org.name)",
    "size(event.data.user) + 1",
    "event.data.user.startsWith('u_') && event.data.user.endsWith('1')",
    "event.data.user.matches('^u_[0-9]+$')",
    "17 / 5 * 5 + 17 % 5",
    "-17 / 5",
    "-17 % 5",
    "2.5 * 4.0 - 1.0",
    "event.data.org.id > 41.5",
    "{'a': [1, 2]}.a[1]",
    "int('12') + int(3.7)",
    "string(12) + 'x'",
    "true ? event.data.org : {}",
    "1 == 1.0 && [1, 2] == [1.0, 2.0]",
]


@pytest.mark.parametrize("source", AGREEMENT)
def test_agrees_with_strict_cel(source: str) -> None:
    strict = cel.compile(source).execute({"event": EVENT})
    assert expr.compile_expression(source).evaluate({"event": EVENT}) == strict
