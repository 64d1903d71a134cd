"""Boolean matching with Inngest's forgiving semantics: SDK forms, loose types, missing fields."""

from __future__ import annotations

from typing import Any

import pytest

from inngest import expr

RUN_EVENT: dict[str, Any] = {
    "name": "demo/start",
    "id": "01JEVT",
    "ts": 1764500000000,
    "user": {},
    "data": {
        "id": 7,
        "ratio": 0.5,
        "function_id": "ts-app-kitchen",
        "ok": True,
        "vip": False,
        "plan": "Enterprise",
        "amount": 1500,
        "tags": ["a", "b"],
        "items": [{"sku": "x", "qty": 2}, {"sku": "y", "qty": 0}],
        "nothing": None,
        "empty": "",
        "nested": {"deep": {"value": 1}},
    },
}
INCOMING: dict[str, Any] = {"name": "demo/continue", "data": {"id": 7.0, "other": "7"}}
VARIABLES = {"event": RUN_EVENT, "async": INCOMING}

CASES = [
    # SDK-generated forms.
    ("event.data.function_id == 'ts-app-kitchen'", True),
    ('event.data.function_id == "ts-app-kitchen"', True),
    ("event.data.function_id == 'ts-app-other'", False),
    ("async.data.id == event.data.id", True),
    ("event.data.id == async.data.id", True),
    ("event.data.ok == true", True),
    ("event.data.vip == true", False),
    ("event.name == 'demo/start' && async.name == 'demo/continue'", True),
    # Loose numbers: int and double mix, int vs string is simply unequal.
    ("event.data.id == 7.0", True),
    ("event.data.id < 7.5 && event.data.id >= 7", True),
    ("event.data.ratio < 1", True),
    ("event.data.id == async.data.other", False),
    ("event.data.id != async.data.other", True),
    ("event.data.id < 'a'", False),
    ("event.data.id >= 'a'", False),
    ("event.data.amount > 1000", True),
    ("event.data.amount + 0.5 > 1500", True),
    # Missing fields read as null: comparisons are false, != is true, == null is true.
    ("event.data.missing == 1", False),
    ("event.data.missing.deeper == 'x'", False),
    ("event.data.missing != 1", True),
    ("event.data.missing == null", True),
    ("event.data.nothing == null", True),
    ("event.data.missing < 1", False),
    ("event.data.missing > 1", False),
    ("async.data.missing == event.data.missing", True),
    ("event.data.tags[5] == 'a'", False),
    ("event.data.id.field == 1", False),
    ("vars.x == 1", False),
    ("has(event.data.id)", True),
    ("has(event.data.missing)", False),
    ("has(event.data.missing.deeper)", False),
    ("!has(event.data.missing) || event.data.missing == 1", True),
    # Truthiness of non-booleans.
    ("event.data.plan", True),
    ("event.data.empty", False),
    ("event.data.missing", False),
    ("event.data.plan && event.data.amount", True),
    ("event.data.empty || event.data.id", True),
    ("event.data.missing || event.data.ok", True),
    ("!event.data.missing", True),
    ("!event.data.plan", False),
    ("event.data.tags", True),
    ("event.data.missing ? true : false", False),
    # CEL forgives an error on one side of && / || when the other side decides.
    ("1 / 0 == 1 || true", True),
    ("false && 1 / 0 == 1", False),
    ("1 / 0 == 1 && true", False),
    # Macros and membership.
    ("event.data.tags.exists(t, t == 'b')", True),
    ("event.data.tags.all(t, size(t) == 1)", True),
    ("event.data.items.exists_one(i, i.qty > 0)", True),
    ("event.data.items.filter(i, i.qty > 0).size() == 1", True),
    ("event.data.items.map(i, i.sku) == ['x', 'y']", True),
    ("event.data.missing.exists(t, t == 'b')", False),
    ("'a' in event.data.tags", True),
    ("'c' in event.data.tags", False),
    ("'plan' in event.data", True),
    ("7.0 in [1, 7]", True),
    # String functions.
    ("lowercase(event.data.plan) == 'enterprise'", True),
    ("uppercase(event.data.plan) == 'ENTERPRISE'", True),
    ("event.data.plan.startsWith('Ent') && event.data.plan.endsWith('prise')", True),
    ("event.data.plan.contains('terp')", True),
    ("event.data.plan.matches('^E.*e$')", True),
    ("lowercase(event.data.missing) == ''", True),
    ("b64decode('aGVsbG8=') == 'hello'", True),
    ("json_parse('{\"a\": [1, 2]}').a[1] == 2", True),
    # Time.
    ("date(event.ts) < now()", True),
    ("now_minus('1h') < now() && now() < now_plus('1d')", True),
    ("date('2024-01-02T03:04:05Z') == timestamp('2024-01-02T03:04:05Z')", True),
    ("date(event.ts) > date('2025-01-01')", True),
    # Non-bool results: JavaScript-like truthiness.
    ("event.data.vip ? 120 : 0", False),
    ("event.data.ok ? 120 : 0", True),
    # Failures are "no match", never exceptions.
    ("int('seven') == 7", False),
    ("1 / 0 == 1", False),
    ("event.data.tags + 1 == 2", False),
]


@pytest.mark.parametrize(("source", "expected"), CASES)
def test_matches(source: str, expected: bool) -> None:
    assert expr.compile_expression(source).matches(VARIABLES) is expected


@pytest.mark.parametrize(
    ("source", "incoming", "expected"),
    [
        ("async.data.id == event.data.id", {"data": {"id": 7}}, True),
        ("async.data.id == event.data.id", {"data": {"id": 8}}, False),
        ("async.data.id == event.data.id", {"data": {}}, False),
        ("async.data.id == event.data.id", None, False),
        ("event.data.ok", None, True),
    ],
)
def test_evaluate_bool_binds_event_and_async(
    source: str, incoming: dict[str, Any] | None, expected: bool
) -> None:
    assert expr.evaluate_bool(source, RUN_EVENT, incoming) is expected


def test_evaluate_bool_treats_an_invalid_expression_as_no_match() -> None:
    assert expr.evaluate_bool("event.data.id ==", RUN_EVENT) is False


def test_matches_never_raises_on_odd_variables() -> None:
    odd = {"event": {"data": {"k": {1, 2}, "n": float("nan")}}}
    assert expr.compile_expression("event.data.k == event.data.n").matches(odd) is False
    assert expr.compile_expression("event.data.n").matches(odd) is False
