"""SDK answers into outcomes: captured op arrays and error bodies, headers, streaming, garbage."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from inngest.protocol import outcome
from inngest.protocol.outcome import Completed, Failed, Opcode, Ops

NOW = datetime(2026, 11, 30, 11, 43, 40, 728000, tzinfo=UTC)
TS = {"x-inngest-sdk": "inngest-js:v4.24.0", "x-inngest-req-version": "2"}
PY = {"x-inngest-sdk": "inngest-py:v0.5.19", "x-inngest-req-version": "2"}


def _parse(status: int, headers: dict[str, str], body: bytes | str) -> outcome.Outcome:
    raw = body.encode() if isinstance(body, str) else body
    result, _ = outcome.parse_response(status, headers, raw, NOW)
    return result


def test_opcode_values_are_the_wire_strings() -> None:
    assert [op.value for op in Opcode] == [
        "StepRun",
        "Step",
        "StepError",
        "StepFailed",
        "StepPlanned",
        "Sleep",
        "WaitForEvent",
        "InvokeFunction",
        "AIGateway",
        "Gateway",
        "WaitForSignal",
        "RunComplete",
        "SyncRunComplete",
        "DiscoveryRequest",
        "DeferAdd",
        "DeferAbort",
        "None",
        "StepNotFound",
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"a":{"hello":"Ada"},"got":{"id":7,"ok":true}}',
            {"a": {"hello": "Ada"}, "got": {"id": 7, "ok": True}},
        ),
        (b"3", 3),
        (b"null", None),
        (b"", None),  # TS returning undefined
        (b'"text"', "text"),
    ],
)
def test_completed(body: bytes, expected: Any) -> None:
    result, version = outcome.parse_response(200, TS, body, NOW)
    assert result == Completed(expected)
    assert version == 2


def test_step_run_ts_and_py() -> None:
    ts = _parse(
        206,
        TS,
        '[{"id":"86f7e437faa5a7fce15d1ddcb9eaeaea377667b8","op":"StepRun","name":"a","opts":{},"displayName":"a","userland":{"id":"a"},"data":{"hello":"Ada"},"timing":{"a":1796039020513000000,"b":0}}]',
    )
    py = _parse(
        206,
        PY,
        '[{"displayName":"a","id":"86f7e437faa5a7fce15d1ddcb9eaeaea377667b8","name":"a","op":"StepRun","opts":null,"userland":{"id":"a","index":null},"data":{"hello":"Ada"}}]',
    )
    assert isinstance(ts, Ops)
    assert isinstance(py, Ops)
    (t,), (p,) = ts.ops, py.ops
    assert t == outcome.Op(
        id="86f7e437faa5a7fce15d1ddcb9eaeaea377667b8",
        op=Opcode.STEP_RUN,
        name="a",
        display_name="a",
        opts={},
        data={"hello": "Ada"},
        error=None,
        userland_id="a",
        timing={"a": 1796039020513000000, "b": 0},
    )
    assert (p.op, p.opts, p.data, p.userland_id, p.timing) == (
        Opcode.STEP_RUN,
        None,
        {"hello": "Ada"},
        "a",
        None,
    )
    assert (ts.no_retry, ts.retry_at) == (False, None)


def test_send_event_step_runs() -> None:
    ts = _parse(
        206,
        TS,
        '[{"id":"x","op":"StepRun","name":"sendEvent","opts":{"type":"step.sendEvent"},"displayName":"send","data":{"ids":["01A"]}}]',
    )
    py = _parse(206, PY, '[{"id":"x","op":"StepRun","name":"send","opts":null,"data":["01A"]}]')
    assert isinstance(ts, Ops)
    assert isinstance(py, Ops)
    assert (ts.ops[0].display_name, ts.ops[0].data) == ("send", {"ids": ["01A"]})
    assert (py.ops[0].display_name, py.ops[0].data) == ("send", ["01A"])


def test_parallel_plan() -> None:
    ts = _parse(
        206,
        TS,
        '[{"displayName":"p1","op":"StepPlanned","id":"b78f576611ec06f96af3ca654c22172a5d746c40","name":"p1","opts":{},"userland":{"id":"p1"},"data":null},{"displayName":"p2","op":"StepPlanned","id":"c5fd961c9f737a955a308050062e7a2c34ee67c3","name":"p2","opts":{},"userland":{"id":"p2"},"data":null}]',
    )
    assert isinstance(ts, Ops)
    assert [(o.op, o.id[:4]) for o in ts.ops] == [
        (Opcode.STEP_PLANNED, "b78f"),
        (Opcode.STEP_PLANNED, "c5fd"),
    ]


def test_step_error_and_failed() -> None:
    attempt0 = _parse(
        206,
        {**TS, "x-inngest-no-retry": "false"},
        '[{"id":"0612bcf5","op":"StepError","name":"flaky","opts":{},"displayName":"flaky","userland":{"id":"flaky"},"error":{"name":"Error","message":"boom","stack":"at x","__serialized":true},"timing":{},"data":null}]',  # noqa: E501
    )
    assert isinstance(attempt0, Ops)
    assert attempt0.no_retry is False
    assert attempt0.ops[0].error == {"name": "Error", "message": "boom", "stack": "at x"}
    attempt1 = _parse(
        206,
        {**TS, "X-Inngest-No-Retry": "true"},
        '[{"id":"0612bcf5","op":"StepFailed","name":"flaky","error":{"name":"Error","message":"boom","stack":"","__serialized":true},"data":{"__serialized":true,"name":"Error","message":"boom","stack":""}}]',
    )
    assert isinstance(attempt1, Ops)
    assert attempt1.no_retry is True
    assert attempt1.ops[0].op is Opcode.STEP_FAILED
    py = _parse(
        206,
        PY,
        '[{"displayName":"flaky","id":"0612bcf5","name":"flaky","op":"StepError","opts":null,"userland":{"id":"flaky","index":null},"error":{"code":"unknown","message":"boom","name":"ValueError","stack":"Traceback"},"data":null}]',
    )
    assert isinstance(py, Ops)
    assert py.ops[0].error == {
        "name": "ValueError",
        "message": "boom",
        "stack": "Traceback",
        "code": "unknown",
    }
    bare = _parse(206, TS, '[{"id":"e","op":"StepError"}]')
    assert isinstance(bare, Ops)
    assert bare.ops[0].error == {"name": "Error", "message": "step failed without an error message"}


def test_step_error_with_retry_after() -> None:
    result = _parse(
        206,
        {**TS, "Retry-After": "30"},
        '[{"id":"e","op":"StepError","error":{"name":"RetryAfterError","message":"later"}}]',
    )
    assert isinstance(result, Ops)
    assert result.retry_at == NOW + timedelta(seconds=30)


def test_sleep_wait_invoke() -> None:
    ts_sleep = _parse(
        206,
        TS,
        '[{"displayName":"s","op":"Sleep","id":"a0f1490a","name":"1s","opts":{},"userland":{"id":"s"},"data":null}]',
    )
    py_sleep = _parse(
        206,
        PY,
        '[{"displayName":"s","id":"a0f1490a","name":"2026-11-30T11:43:41.728Z","op":"Sleep","opts":null,"userland":{"id":"s","index":null},"data":null}]',
    )
    wait = _parse(
        206,
        TS,
        '[{"displayName":"w","op":"WaitForEvent","id":"aff024fe","name":"demo/continue","opts":{"timeout":"1m","if":"async.data.id == event.data.id"},"userland":{"id":"w"},"data":null}]',  # noqa: E501
    )
    invoke = _parse(
        206,
        PY,
        '[{"displayName":"call","id":"bc8d8647","name":"call","op":"InvokeFunction","opts":{"function_id":"py-app-demo","payload":{"data":{"name":"inv","id":2},"v":null},"timeout":"1h"},"userland":{"id":"call","index":null},"data":null}]',
    )
    ts_invoke = _parse(
        206,
        TS,
        '[{"displayName":"call","op":"InvokeFunction","id":"bc8d8647","opts":{"payload":{"data":{"name":"inv","id":2}},"function_id":"ts-app-demo","timeout":"1h"},"userland":{"id":"call"},"data":null}]',
    )
    for result in (ts_sleep, py_sleep, wait, invoke, ts_invoke):
        assert isinstance(result, Ops)
    assert isinstance(ts_sleep, Ops)
    assert ts_sleep.ops[0].name == "1s"
    assert isinstance(py_sleep, Ops)
    assert py_sleep.ops[0].name == "2026-11-30T11:43:41.728Z"
    assert isinstance(wait, Ops)
    assert wait.ops[0].opts == {
        "timeout": "1m",
        "if": "async.data.id == event.data.id",
    }
    assert isinstance(invoke, Ops)
    assert invoke.ops[0].opts is not None
    assert invoke.ops[0].opts["function_id"] == "py-app-demo"
    assert isinstance(ts_invoke, Ops)
    assert (ts_invoke.ops[0].name, ts_invoke.ops[0].display_name) == (None, "call")


def test_single_object_206_is_legal() -> None:
    result = _parse(206, TS, '{"id":"x","op":"Sleep","name":"1s"}')
    assert isinstance(result, Ops)
    assert result.ops[0].op is Opcode.SLEEP


def test_run_complete_is_completion() -> None:
    result = _parse(
        206,
        TS,
        '[{"op":"RunComplete","id":"0737c22d3bfae812339732d14d8c7dbd6dc4e09c","data":{"a":{"hello":"Ada"},"got":{"id":7,"ok":true}}}]',
    )
    assert result == Completed({"a": {"hello": "Ada"}, "got": {"id": 7, "ok": True}})
    lazy = _parse(
        206,
        TS,
        '[{"id":"86f7","op":"StepRun","data":1},{"op":"RunComplete","id":"0737c22d3bfae812339732d14d8c7dbd6dc4e09c","data":3}]',
    )
    assert isinstance(lazy, Completed)
    assert lazy.output == 3
    assert [o.id for o in lazy.ops] == ["86f7"]


def test_function_error_as_complete_step_error() -> None:
    body = '[{"id":"0737c22d3bfae812339732d14d8c7dbd6dc4e09c","op":"StepFailed","error":{"name":"Error","message":"kaput"}},{"id":"d","op":"DeferAdd","opts":{"fn_slug":"x"}}]'  # noqa: E501
    result = _parse(206, {**TS, "x-inngest-no-retry": "true"}, body)
    assert result == Failed({"name": "Error", "message": "kaput"}, False, None, 206)
    retriable = _parse(206, TS, body.replace("StepFailed", "StepError"))
    assert isinstance(retriable, Failed)
    assert retriable.retriable


def test_other_ops_parse() -> None:
    body = json.dumps(
        [
            {"id": f"i{n}", "op": op}
            for n, op in enumerate(
                [
                    "Step",
                    "AIGateway",
                    "Gateway",
                    "WaitForSignal",
                    "SyncRunComplete",
                    "DiscoveryRequest",
                    "DeferAdd",
                    "DeferAbort",
                    "None",
                    "StepNotFound",
                ]
            )
        ]
    )
    result = _parse(206, TS, body)
    assert isinstance(result, Ops)
    assert len(result.ops) == 10


@pytest.mark.parametrize(
    ("status", "headers", "body", "error", "retriable", "retry_at"),
    [
        # Captured: TS NonRetriableError.
        (
            400,
            {**TS, "x-inngest-no-retry": "true"},
            '{"name":"NonRetriableError","message":"fatal!","stack":"s","__serialized":true}',
            {"name": "NonRetriableError", "message": "fatal!", "stack": "s"},
            False,
            None,
        ),
        # Captured: TS RetryAfterError with seconds.
        (
            500,
            {**TS, "x-inngest-no-retry": "false", "retry-after": "30"},
            '{"name":"RetryAfterError","message":"later","stack":"s","__serialized":true}',
            {"name": "RetryAfterError", "message": "later", "stack": "s"},
            True,
            NOW + timedelta(seconds=30),
        ),
        # Captured: PY NonRetriableError.
        (
            500,
            {**PY, "x-inngest-no-retry": "true"},
            '{"code":"non_retriable_error","message":"fatal!","name":"NonRetriableError","stack":"t"}',
            {
                "name": "NonRetriableError",
                "message": "fatal!",
                "stack": "t",
                "code": "non_retriable_error",
            },
            False,
            None,
        ),
        # Captured: PY RetryAfterError with an ISO instant, no no-retry header.
        (
            500,
            {**PY, "Retry-After": "2026-11-30T11:45:24.949Z"},
            '{"code":"retry_after_error","message":"later","name":"RetryAfterError","stack":"t"}',
            {
                "name": "RetryAfterError",
                "message": "later",
                "stack": "t",
                "code": "retry_after_error",
            },
            True,
            datetime(2026, 11, 30, 11, 45, 24, 949000, tzinfo=UTC),
        ),
        # TS targeted step that never showed up.
        (
            500,
            {**TS, "x-inngest-no-retry": "false"},
            '{"error":"Could not find step \\"x\\" to run; timed out.","requestedStep":"x","foundSteps":[],"totalFoundSteps":0}',  # noqa: E501
            {"name": "Error", "message": 'Could not find step "x" to run; timed out.'},
            True,
            None,
        ),
        (
            401,
            TS,
            '{"message":"Unauthorized"}',
            {"name": "Error", "message": "Unauthorized"},
            True,
            None,
        ),
        (
            500,
            TS,
            '{"name":"E","message":"m","cause":{"name":"C"}}',
            {"name": "E", "message": "m", "cause": {"name": "C"}},
            True,
            None,
        ),
        (500, TS, '"just text"', {"name": "Error", "message": "just text"}, True, None),
        (
            500,
            TS,
            "[1]",
            {"name": "Error", "message": "SDK answered 500 without an error message"},
            True,
            None,
        ),
        (
            500,
            {**TS, "x-inngest-no-retry": "TRUE"},
            "{}",
            {"name": "Error", "message": "SDK answered 500 without an error message"},
            False,
            None,
        ),
        (
            502,
            TS,
            "",
            {"name": "MalformedResponse", "message": "SDK answered 502 with no body"},
            True,
            None,
        ),
        (
            500,
            {**TS, "retry-after": "soon-ish-maybe"},
            '{"name":"E","message":"m"}',
            {"name": "E", "message": "m"},
            True,
            None,
        ),  # garbled Retry-After: backoff table
    ],
)
def test_error_answers(
    status: int,
    headers: dict[str, str],
    body: str,
    error: dict[str, Any],
    retriable: bool,
    retry_at: datetime | None,
) -> None:
    assert _parse(status, headers, body) == Failed(error, retriable, retry_at, status)


def test_non_json_error_body() -> None:
    result = _parse(500, TS, b"<html>Internal Server Error</html>")
    assert isinstance(result, Failed)
    assert result.error["name"] == "MalformedResponse"
    assert "<html>Internal Server Error</html>" in result.error["message"]
    assert result.retriable


@pytest.mark.parametrize(
    ("status", "body"), [(200, b'{"ok":1}'), (206, b"[]"), (500, b"{}"), (404, b"nope")]
)
def test_missing_sdk_header_is_retriable(status: int, body: bytes) -> None:
    result, version = outcome.parse_response(status, {"Content-Type": "text/html"}, body, NOW)
    assert result == Failed(
        {
            "name": "NonSDKResponse",
            "message": f"response did not come from an Inngest SDK: status {status}",
        },
        True,
        None,
        status,
    )
    assert version is None


def test_header_names_are_case_insensitive() -> None:
    result, version = outcome.parse_response(
        500,
        {
            "X-Inngest-SDK": "inngest-py:v0.5.19",
            "X-INNGEST-NO-RETRY": "true",
            "X-Inngest-Req-Version": "1",
        },
        b'{"name":"E","message":"m"}',
        NOW,
    )
    assert isinstance(result, Failed)
    assert not result.retriable
    assert version == 1


@pytest.mark.parametrize(
    ("value", "version"),
    [("2", 2), ("1", 1), (" 2 ", 2), ("abc", None), ("", None), ("99999999999", None)],
)
def test_request_version(value: str, version: int | None) -> None:
    assert (
        outcome.parse_response(200, {**TS, "x-inngest-req-version": value}, b"1", NOW)[1] == version
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[", "206 body: invalid JSON"),
        (b"[]", "206 body holds no ops"),
        (b"[1]", "ops[0]: must be an object"),
        (b'[{"id":"x"}]', "ops[0].op: missing"),
        (b'[{"op":"StepRun"}]', "ops[0].id: missing"),
        (b'[{"op":"StepRun","id":""}]', "ops[0].id: missing"),
        (b'[{"op":"Sleep","id":"a"},{"op":7,"id":"b"}]', "ops[1].op: missing"),
    ],
)
def test_malformed_206_is_retriable(body: bytes, message: str) -> None:
    result = _parse(206, TS, body)
    assert isinstance(result, Failed)
    assert (result.error["name"], result.retriable, result.status) == (
        "MalformedResponse",
        True,
        206,
    )
    assert message in result.error["message"]


def test_unknown_opcode_is_final() -> None:
    result = _parse(206, TS, b'[{"op":"Sleep","id":"a"},{"op":"Teleport","id":"b"}]')
    assert result == Failed(
        {"name": "UnknownOpcode", "message": "ops[1].op: unknown opcode 'Teleport'"},
        False,
        None,
        206,
    )


def test_malformed_200_is_retriable() -> None:
    result = _parse(200, TS, b"{oops")
    assert isinstance(result, Failed)
    assert result.retriable
    assert result.error["name"] == "MalformedResponse"


def test_streamed_answers() -> None:
    inner = '[{"id":"86f7","op":"StepRun","data":1}]'
    ts_body = "   " + json.dumps(
        {"status": 206, "headers": {"X-Inngest-No-Retry": "true"}, "body": inner, "version": 2}
    )
    result, version = outcome.parse_response(201, TS, ts_body.encode(), NOW)
    assert isinstance(result, Ops)
    assert result.no_retry
    assert result.ops[0].data == 1
    assert version == 2
    py_body = "\n  " + json.dumps(
        {"body": '{"done":true}', "headers": {"x-inngest-req-version": "1"}, "status": 200}
    )
    result, version = outcome.parse_response(201, PY, py_body.encode(), NOW)
    assert result == Completed({"done": True})
    assert version == 1
    failed = " " + json.dumps(
        {
            "status": 500,
            "headers": {"x-inngest-no-retry": ["true"]},
            "body": '{"name":"E","message":"m"}',
        }
    )
    assert _parse(201, PY, failed) == Failed({"name": "E", "message": "m"}, False, None, 500)
    assert _parse(201, PY, ' {"status":200,"body":{"already":"decoded"}}') == Completed(
        {"already": "decoded"}
    )
    assert _parse(201, PY, ' {"status":200,"body":null}') == Completed(None)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"    ",
        b"  {",
        b" []",
        b' {"status":"200"}',
        b' {"status":201,"body":""}',
        b' {"status":true}',
    ],
)
def test_broken_stream_is_retriable(body: bytes) -> None:
    result = _parse(201, TS, body)
    assert isinstance(result, Failed)
    assert result.retriable
    assert result.status == 201


def test_transport_failure() -> None:
    assert outcome.transport_failure("connect timeout") == Failed(
        {"name": "TransportError", "message": "connect timeout"}, True, None, None
    )


def test_normalize_error() -> None:
    assert outcome.normalize_error({"name": 1, "message": None}, "fallback") == {
        "name": "Error",
        "message": "fallback",
    }
    assert outcome.normalize_error(None, "fb") == {"name": "Error", "message": "fb"}


def _random_body(rng: random.Random) -> bytes:
    choice = rng.randrange(6)
    if choice == 0:
        return rng.randbytes(rng.randrange(64))
    if choice == 1:
        return b"[" * rng.randrange(1, 5000)  # deep nesting
    if choice == 2:
        ops = ["StepRun", "Sleep", "RunComplete", "StepError", "x", None, 3]
        items: list[Any] = [
            {
                "id": rng.choice(["a", "", None, 5]),
                "op": rng.choice(ops),
                "error": rng.choice([None, "s", {}, []]),
                "opts": rng.choice([None, {}, [], "x"]),
                "userland": rng.choice([None, {"id": 3}, "u"]),
                "name": rng.choice([None, 1, "n"]),
                "displayName": rng.choice([None, 2, "d"]),
            }
            for _ in range(rng.randrange(4))
        ]
        return json.dumps(rng.choice([items, items[:1] or {}, {"op": "StepRun"}])).encode()
    if choice == 3:
        return (
            b" " * rng.randrange(5)
            + json.dumps(
                {
                    "status": rng.choice([200, 206, 500, "x", None, 201, 10**30]),
                    "headers": rng.choice([None, {"a": 1}, [], {"x-inngest-req-version": None}]),
                    "body": rng.choice(["[", "{}", None, 5, "[{}]"]),
                }
            ).encode()
        )
    if choice == 4:
        return rng.choice([b"1e999", b"NaN", b'{"a":Infinity}', b"\xff\xfe{", b'"\\ud800"'])
    return json.dumps(rng.choice([None, 1, "s", [], {}, [[]]])).encode()


def test_never_raises_on_garbage() -> None:
    rng = random.Random(20261130)
    header_sets = [
        {},
        TS,
        {**TS, "retry-after": "x" * 50},
        {**PY, "retry-after": "-99999"},
        {**TS, "x-inngest-req-version": "-"},
        {"X-INNGEST-SDK": "", "Retry-After": "2026-99-99T00:00:00Z"},
        {**TS, "retry-after": "9" * 7},
    ]
    for _ in range(3000):
        status = rng.choice([200, 201, 204, 206, 301, 400, 401, 404, 500, 502, 0, -1, 999])
        result, version = outcome.parse_response(
            status, rng.choice(header_sets), _random_body(rng), NOW
        )
        assert isinstance(result, Completed | Ops | Failed)
        assert version is None or isinstance(version, int)
