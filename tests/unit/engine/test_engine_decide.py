"""decide(): SDK answers to commands, table-driven and without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from inngest.engine import decide as engine
from inngest.engine.retry import RetryPolicy
from inngest.engine.run import MAX_STEPS_PER_RUN, RunStatus
from inngest.protocol import outcome
from inngest.protocol.outcome import Opcode

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy()


def ctx(**overrides: Any) -> engine.CallContext:
    base: dict[str, Any] = {
        "run_id": "R",
        "target": "step",
        "attempt": 0,
        "max_attempts": 3,
        "memo_ids": frozenset(),
        "step_count": 0,
    }
    base.update(overrides)
    return engine.CallContext(**base)


def op(kind: Opcode, step_id: str = "h1", **fields: Any) -> outcome.Op:
    return outcome.Op(
        id=step_id,
        op=kind,
        name=fields.pop("name", step_id),
        display_name=fields.pop("display_name", step_id),
        opts=fields.pop("opts", None),
        data=fields.pop("data", None),
        error=fields.pop("error", None),
        userland_id=step_id,
        timing=None,
    )


def ops(*items: outcome.Op, no_retry: bool = False) -> outcome.Ops:
    return outcome.Ops(ops=items, no_retry=no_retry, retry_at=None)


def run(call: engine.CallContext, answer: outcome.Outcome) -> engine.Decision:
    return engine.decide(call, answer, NOW, POLICY, jitter=0.0)


def test_completed_finishes_the_run_with_its_output() -> None:
    decision = run(ctx(), outcome.Completed(output={"ok": 1}))
    assert decision.commands == (engine.Finish(RunStatus.COMPLETED, output={"ok": 1}),)


def test_step_run_is_memoized_then_discovery() -> None:
    decision = run(ctx(), ops(op(Opcode.STEP_RUN, "a", data={"x": 1})))
    assert decision.commands == (
        engine.SaveStep("a", "a", "StepRun", {"data": {"x": 1}}, 1),
        engine.Discover(coalesce=False),
    )


def test_already_memoized_step_is_not_saved_again() -> None:
    decision = run(ctx(memo_ids=frozenset({"a"})), ops(op(Opcode.STEP_RUN, "a", data=2)))
    assert decision.commands == (engine.Discover(coalesce=False),)


def test_planned_call_result_coalesces_discovery() -> None:
    decision = run(ctx(target="p1"), ops(op(Opcode.STEP_RUN, "p1", data=1)))
    assert decision.commands[-1] == engine.Discover(coalesce=True)


@pytest.mark.parametrize(
    ("attempt", "no_retry", "kind", "expect_retry"),
    [
        (0, False, Opcode.STEP_ERROR, True),  # retries left
        (2, False, Opcode.STEP_ERROR, False),  # last attempt: memoize the error
        (0, True, Opcode.STEP_ERROR, False),  # X-Inngest-No-Retry wins
        (0, False, Opcode.STEP_FAILED, False),  # SDK says final
    ],
)
def test_step_errors(attempt: int, no_retry: bool, kind: Opcode, expect_retry: bool) -> None:
    error = {"name": "Error", "message": "boom"}
    decision = run(ctx(attempt=attempt), ops(op(kind, "f", error=error), no_retry=no_retry))
    if expect_retry:
        assert decision.commands == (engine.Retry(NOW + timedelta(seconds=15)),)
        assert decision.label == "error"
    else:
        assert decision.commands == (
            engine.SaveStep("f", "f", kind.value, {"error": error}, attempt + 1),
            engine.Discover(coalesce=False),
        )


@pytest.mark.parametrize(
    ("attempt", "retriable", "expected"),
    [
        (0, True, "retry"),
        (1, True, "retry"),
        (2, True, "fail"),  # attempts exhausted (max 3)
        (0, False, "fail"),  # non-retriable
    ],
)
def test_function_level_errors(attempt: int, retriable: bool, expected: str) -> None:
    error = {"name": "Error", "message": "nope"}
    answer = outcome.Failed(error=error, retriable=retriable, retry_at=None, status=500)
    decision = run(ctx(attempt=attempt), answer)
    if expected == "retry":
        assert isinstance(decision.commands[0], engine.Retry)
    else:
        assert decision.commands == (engine.Finish(RunStatus.FAILED, error=error),)


def test_retry_after_overrides_backoff() -> None:
    at = NOW + timedelta(minutes=3)
    answer = outcome.Failed(
        error={"name": "E", "message": "m"}, retriable=True, retry_at=at, status=500
    )
    assert run(ctx(), answer).commands == (engine.Retry(at),)


def test_fixed_retry_interval() -> None:
    answer = outcome.Failed(
        error={"name": "E", "message": "m"}, retriable=True, retry_at=None, status=500
    )
    decision = engine.decide(ctx(), answer, NOW, RetryPolicy(fixed_interval_s=1.0), 0.5)
    assert decision.commands == (engine.Retry(NOW + timedelta(seconds=1)),)


def test_backoff_grows_with_attempts_and_adds_jitter() -> None:
    answer = outcome.Failed(
        error={"name": "E", "message": "m"}, retriable=True, retry_at=None, status=500
    )
    decision = engine.decide(ctx(attempt=1, max_attempts=5), answer, NOW, POLICY, 0.5)
    assert decision.commands == (engine.Retry(NOW + timedelta(seconds=30 + 15)),)


def test_parallel_plan() -> None:
    decision = run(ctx(), ops(op(Opcode.STEP_PLANNED, "p1"), op(Opcode.STEP_PLANNED, "p2")))
    assert decision.commands == (engine.PlanSteps((("p1", "p1"), ("p2", "p2")), race=False),)


def test_sleep_duration_and_instant() -> None:
    by_duration = run(ctx(), ops(op(Opcode.SLEEP, "s", name="1m30s")))
    assert by_duration.commands == (engine.Wake("s", "s", NOW + timedelta(seconds=90)),)
    instant = run(ctx(), ops(op(Opcode.SLEEP, "s", name="2026-11-30T12:05:00.000Z")))
    assert instant.commands == (engine.Wake("s", "s", NOW + timedelta(minutes=5)),)


def test_run_complete_op_finishes_and_keeps_lazy_results() -> None:
    decision = run(
        ctx(),
        ops(op(Opcode.STEP_RUN, "a", data=1), op(Opcode.RUN_COMPLETE, "c", data={"done": True})),
    )
    assert decision.commands == (
        engine.SaveStep("a", "a", "StepRun", {"data": 1}, 1),
        engine.Finish(RunStatus.COMPLETED, output={"done": True}),
    )


def test_unsupported_step_tool_fails_the_step_not_the_run() -> None:
    decision = run(ctx(), ops(op(Opcode.GATEWAY, "g")))
    save = decision.commands[0]
    assert isinstance(save, engine.SaveStep)
    assert save.memo["error"]["name"] == "UnsupportedOpcode"
    assert "Gateway" in save.memo["error"]["message"]
    assert decision.commands[1] == engine.Discover(coalesce=False)


def test_wait_for_event_becomes_a_wait() -> None:
    # The event sent in the same answer is found by the wait's lookback at commit time, so the
    # order of the commands does not matter for it.
    wait = op(
        Opcode.WAIT_FOR_EVENT,
        "w",
        name="demo/continue",
        opts={"timeout": "1m", "if": "async.data.id == event.data.id"},
    )
    decision = run(ctx(), ops(op(Opcode.STEP_RUN, "send", data={"ids": ["x"]}), wait))
    assert decision.commands == (
        engine.SaveStep("send", "send", "StepRun", {"data": {"ids": ["x"]}}, 1),
        engine.Wait(
            "w", "w", "demo/continue", "async.data.id == event.data.id", NOW + timedelta(minutes=1)
        ),
    )


@pytest.mark.parametrize(
    ("timeout", "expires"),
    [
        ("30s", NOW + timedelta(seconds=30)),
        ("", NOW),  # the SDKs' "already expired"
        (None, NOW + timedelta(days=366)),
    ],
)
def test_wait_timeouts(timeout: str | None, expires: datetime) -> None:
    opts = {} if timeout is None else {"timeout": timeout}
    decision = run(ctx(), ops(op(Opcode.WAIT_FOR_EVENT, "w", name="e", opts=opts)))
    assert decision.commands == (engine.Wait("w", "w", "e", None, expires),)


def test_invoke() -> None:
    invoke = op(
        Opcode.INVOKE_FUNCTION,
        "c",
        opts={"function_id": "app-child", "payload": {"data": {"n": 1}, "v": "2"}, "timeout": "1h"},
    )
    decision = run(ctx(), ops(invoke))
    assert decision.commands == (
        engine.Invoke("c", "c", "app-child", {"n": 1}, "2", NOW + timedelta(hours=1)),
    )


def test_invoke_without_function_fails_the_run() -> None:
    decision = run(ctx(), ops(op(Opcode.INVOKE_FUNCTION, "c", opts={"payload": {}})))
    assert decision.label == "failed"


def test_sleep_longer_than_a_year_fails_the_run() -> None:
    decision = run(ctx(), ops(op(Opcode.SLEEP, "s", name="400d")))
    assert decision.error is not None
    assert "longer than a year" in decision.error["message"]


def test_run_state_limit() -> None:
    decision = run(ctx(state_bytes=32 * 1024 * 1024), ops(op(Opcode.STEP_RUN, "a", data="x")))
    assert decision.error is not None
    assert decision.error["name"] == "RunStateTooLarge"


def test_step_limit() -> None:
    decision = run(ctx(step_count=MAX_STEPS_PER_RUN), ops(op(Opcode.STEP_RUN, "a", data=1)))
    assert decision.error is not None
    assert decision.error["name"] == "StepLimitExceeded"


def test_empty_206_is_a_retriable_error() -> None:
    decision = run(ctx(), ops())
    assert isinstance(decision.commands[0], engine.Retry)


def test_function_error_reported_as_complete_step_op() -> None:
    error = {"name": "Error", "message": "late failure"}
    decision = run(ctx(attempt=2), ops(op(Opcode.STEP_ERROR, engine.COMPLETE_ID, error=error)))
    assert decision.commands == (engine.Finish(RunStatus.FAILED, error=error),)


def test_wait_with_an_invalid_expression_fails_the_run_naming_it() -> None:
    wait = op(Opcode.WAIT_FOR_EVENT, "w", name="e", opts={"if": "async.data.id =="})
    decision = run(ctx(), ops(wait))
    assert decision.error is not None
    assert "async.data.id ==" in decision.error["message"]
