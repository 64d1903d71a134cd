"""decide(): an SDK answer plus what we know of the run becomes a list of commands.

Pure: the worker applies the commands in one transaction fenced by the queue item's lease, so
everything here is testable table-driven without I/O (PROTOCOL.md §5.7, §6.1-§6.2).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from inngest.engine import retry
from inngest.engine.run import (
    DISCOVERY,
    MAX_RUN_STATE_BYTES,
    MAX_SLEEP_S,
    MAX_STEP_OUTPUT_BYTES,
    MAX_STEPS_PER_RUN,
    RunStatus,
)
from inngest.errors import ProtocolError, ValidationError
from inngest.expr import compile_expression
from inngest.protocol import durations, outcome
from inngest.protocol.outcome import Opcode

# TS reports a function-level error at the end of a run as a step op with this id (§5.6).
COMPLETE_ID = hashlib.sha1(b"complete").hexdigest()  # noqa: S324 - an id, not security

_RESULT_OPS = frozenset({Opcode.STEP_RUN, Opcode.STEP})
_ERROR_OPS = frozenset({Opcode.STEP_ERROR, Opcode.STEP_FAILED})
# Ops that ride along with others and that this server does not act on (TS experimental defer).
_IGNORED_OPS = frozenset({Opcode.DEFER_ADD, Opcode.DEFER_ABORT, Opcode.NONE})
# Step tools this server does not carry out: the step fails (user code may catch it), the run
# goes on (PROTOCOL.md §5.6 allows this for the gateways and signals).
_STEP_UNSUPPORTED = frozenset({Opcode.AI_GATEWAY, Opcode.GATEWAY, Opcode.WAIT_FOR_SIGNAL})
_NOT_YET = frozenset(
    {
        Opcode.SYNC_RUN_COMPLETE,
        Opcode.STEP_NOT_FOUND,
    }
)


@dataclass(frozen=True, slots=True)
class CallContext:
    """What decide() needs to know about the call that was made."""

    run_id: str
    target: str  # DISCOVERY or the hashed id of a planned step
    attempt: int  # 0-based attempt of this queue item
    max_attempts: int
    memo_ids: frozenset[str]  # steps already recorded for the run
    step_count: int
    state_bytes: int = 0  # size of the recorded memo so far


# --- commands -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SaveStep:
    """Record a step's memo value; a no-op when the step is already recorded."""

    step_id: str
    name: str
    op: str
    memo: Any
    attempts: int


@dataclass(frozen=True, slots=True)
class Discover:
    """Call the function again. ``coalesce``: only once no planned step of the run is pending."""

    coalesce: bool


@dataclass(frozen=True, slots=True)
class PlanSteps:
    """Call each planned step on its own; later discovery waits for the group unless ``race``."""

    steps: tuple[tuple[str, str], ...]  # (hashed id, display name)
    race: bool


@dataclass(frozen=True, slots=True)
class Wake:
    """Resume after a sleep: at ``at`` record ``step_id`` as null and call again."""

    step_id: str
    name: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Wait:
    """Pause until an event named ``event_name`` matching ``expression`` arrives, or null at
    ``expires_at``."""

    step_id: str
    name: str
    event_name: str
    expression: str | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Invoke:
    """Start ``function_slug`` with ``data``; its result (or a timeout error) resumes the step."""

    step_id: str
    name: str
    function_slug: str
    data: dict[str, Any]
    version: str | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Retry:
    """Run the same call again at ``at`` with attempt + 1."""

    at: datetime


@dataclass(frozen=True, slots=True)
class Finish:
    status: RunStatus
    output: Any = None
    error: dict[str, Any] | None = None
    cancelled_by: str | None = None


Command = SaveStep | Discover | PlanSteps | Wake | Wait | Invoke | Retry | Finish


@dataclass(frozen=True, slots=True)
class Decision:
    commands: tuple[Command, ...]
    # For the attempt's history row: "ops", "completed", "error" or "failed".
    label: str
    error: dict[str, Any] | None = None


def decide(
    call: CallContext,
    answer: outcome.Outcome,
    now: datetime,
    policy: retry.RetryPolicy,
    jitter: float,
) -> Decision:
    """Turn one SDK answer into commands."""
    if isinstance(answer, outcome.Completed):
        return _completed(call, answer)
    if isinstance(answer, outcome.Failed):
        return _failed(call, answer.error, answer.retriable, answer.retry_at, now, policy, jitter)
    return _ops(call, answer, now, policy, jitter)


def _completed(call: CallContext, answer: outcome.Completed) -> Decision:
    saves: list[Command] = []
    for op in getattr(answer, "ops", ()) or ():
        if op.op in _RESULT_OPS and op.id not in call.memo_ids:
            saves.append(SaveStep(op.id, op.display_name, op.op.value, {"data": op.data}, 1))
    return Decision((*saves, Finish(RunStatus.COMPLETED, output=answer.output)), "completed")


def _failed(
    call: CallContext,
    error: dict[str, Any],
    retriable: bool,
    retry_at: datetime | None,
    now: datetime,
    policy: retry.RetryPolicy,
    jitter: float,
) -> Decision:
    if retriable and call.attempt + 1 < call.max_attempts:
        at = policy.next_at(now, call.attempt, jitter, retry_at)
        return Decision((Retry(at),), "error", error)
    return Decision((Finish(RunStatus.FAILED, error=error),), "failed", error)


def _fatal(message: str, name: str = "InngestError") -> Decision:
    error = {"name": name, "message": message}
    return Decision((Finish(RunStatus.FAILED, error=error),), "failed", error)


def _ops(
    call: CallContext,
    answer: outcome.Ops,
    now: datetime,
    policy: retry.RetryPolicy,
    jitter: float,
) -> Decision:
    ops = [op for op in answer.ops if op.op not in _IGNORED_OPS]
    rejected = _reject(call, ops, now, policy, jitter)
    if rejected is not None:
        return rejected

    # Waits first (§5.7): a [WaitForEvent, StepRun(sendEvent)] answer must not lose the event
    # the run waits for. Stable sort keeps the SDK's order otherwise.
    ops.sort(key=lambda op: op.op is not Opcode.WAIT_FOR_EVENT)
    commands: list[Command] = []
    recorded = 0
    planned: list[tuple[str, str]] = []
    race = False
    sleeps: list[Wake | Wait | Invoke] = []
    finish: Finish | None = None
    progressed = False
    added_bytes = 0

    for op in ops:
        if op.op in _ERROR_OPS:
            error = _error_of(op)
            if op.id == COMPLETE_ID:
                return _failed(
                    call,
                    error,
                    op.op is Opcode.STEP_ERROR and not answer.no_retry,
                    answer.retry_at,
                    now,
                    policy,
                    jitter,
                )
            final = (
                op.op is Opcode.STEP_FAILED
                or answer.no_retry
                or call.attempt + 1 >= call.max_attempts
            )
            if not final:
                at = policy.next_at(now, call.attempt, jitter, answer.retry_at)
                return Decision((*commands, Retry(at)), "error", error)
            recorded += _record(commands, call, op, {"error": error})
            progressed = True
        elif op.op in _RESULT_OPS:
            size = _size(op.data)
            if size > MAX_STEP_OUTPUT_BYTES:
                return _fatal(
                    f"step {op.display_name!r} output exceeds {MAX_STEP_OUTPUT_BYTES} bytes",
                    "StepOutputTooLarge",
                )
            added_bytes += size
            recorded += _record(commands, call, op, {"data": op.data})
            progressed = True
        elif op.op in _STEP_UNSUPPORTED:
            error = {
                "name": "UnsupportedOpcode",
                "message": f"{op.op.value} (step {op.display_name!r}) is not supported by "
                "this server",
            }
            recorded += _record(commands, call, op, {"error": error})
            progressed = True
        elif op.op is Opcode.STEP_PLANNED:
            planned.append((op.id, op.display_name))
            race = race or (op.opts or {}).get("parallelMode") == "race"
        elif op.op in _ASYNC_PARSERS:
            try:
                sleeps.append(_ASYNC_PARSERS[op.op](op, now))
            except ProtocolError as exc:
                return _fatal(f"step {op.display_name!r}: {exc.message}", "InvalidStep")
        elif op.op is Opcode.RUN_COMPLETE:
            finish = Finish(RunStatus.COMPLETED, output=op.data)
        elif op.op is Opcode.DISCOVERY_REQUEST:
            progressed = True

    if call.step_count + recorded > MAX_STEPS_PER_RUN:
        return _fatal(f"run exceeds {MAX_STEPS_PER_RUN} steps", "StepLimitExceeded")
    if call.state_bytes + added_bytes > MAX_RUN_STATE_BYTES:
        return _fatal(f"run state exceeds {MAX_RUN_STATE_BYTES} bytes", "RunStateTooLarge")
    if finish is not None:
        return Decision((*commands, finish), "completed")
    if planned:
        commands.append(PlanSteps(tuple(planned), race))
    if sleeps:
        commands.extend(sleeps)
    if not planned and not sleeps and progressed:
        commands.append(Discover(coalesce=call.target != DISCOVERY))
    return Decision(tuple(commands), "ops")


def _record(commands: list[Command], call: CallContext, op: outcome.Op, memo: Any) -> int:
    """Queue a SaveStep unless the step is already memoized; 1 when queued."""
    if op.id in call.memo_ids:
        return 0
    commands.append(SaveStep(op.id, op.display_name, op.op.value, memo, call.attempt + 1))
    return 1


def _reject(
    call: CallContext,
    ops: list[outcome.Op],
    now: datetime,
    policy: retry.RetryPolicy,
    jitter: float,
) -> Decision | None:
    """An answer that cannot be acted on at all: empty, or with an op we never carry out."""
    if not ops:
        empty = {"name": "MalformedResponse", "message": "SDK answered 206 without any opcode"}
        return _failed(call, empty, True, None, now, policy, jitter)
    unsupported = sorted({op.op.value for op in ops if op.op in _NOT_YET})
    if unsupported:
        return _fatal(
            f"opcode {', '.join(unsupported)} is not supported by this server",
            "UnsupportedOpcode",
        )
    return None


def _error_of(op: outcome.Op) -> dict[str, Any]:
    raw = op.error if isinstance(op.error, dict) else None
    if raw is None and isinstance(op.data, dict):
        raw = op.data
    error = dict(raw or {})
    error.setdefault("name", "Error")
    error.setdefault("message", "step failed")
    return error


def _size(data: Any) -> int:
    """Bytes of the value as JSON, the measure of Inngest's output and state limits."""
    return len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())


def _sleep(op: outcome.Op, now: datetime) -> Wake:
    return Wake(op.id, op.display_name, _sleep_until(op, now))


def _sleep_until(op: outcome.Op, now: datetime) -> datetime:
    opts = op.opts or {}
    spec = opts.get("duration") or op.name
    if not isinstance(spec, str) or not spec:
        raise ProtocolError("sleep has no duration or instant")
    at = durations.parse_time_or_duration(spec, now)
    if at - now > timedelta(seconds=MAX_SLEEP_S):
        raise ProtocolError(f"sleep {spec!r} is longer than a year")
    return at


def _deadline(spec: Any, now: datetime, default_s: float) -> datetime:
    if spec is None:
        return now + timedelta(seconds=default_s)
    if not isinstance(spec, str):
        raise ProtocolError(f"timeout must be a string, got {type(spec).__name__}")
    if spec == "":
        return now  # the SDKs' way of saying "already expired"
    at = durations.parse_time_or_duration(spec, now)
    if at - now > timedelta(seconds=MAX_SLEEP_S):
        raise ProtocolError(f"timeout {spec!r} is longer than a year")
    return at


def _wait(op: outcome.Op, now: datetime) -> Wait:
    opts = op.opts or {}
    event_name = opts.get("event") or op.name
    if not isinstance(event_name, str) or not event_name:
        raise ProtocolError("waitForEvent names no event")
    expression = opts.get("if")
    if expression is not None and not isinstance(expression, str):
        raise ProtocolError("waitForEvent `if` must be a string")
    if expression:
        try:
            compile_expression(expression)
        except ValidationError as exc:
            # A wait that could never match would wait until its timeout for nothing.
            raise ProtocolError(f"waitForEvent `if`: {exc.message}") from exc
    expires_at = _deadline(opts.get("timeout"), now, MAX_SLEEP_S)
    return Wait(op.id, op.display_name, event_name, expression or None, expires_at)


def _invoke(op: outcome.Op, now: datetime) -> Invoke:
    opts = op.opts or {}
    slug = opts.get("function_id")
    if not isinstance(slug, str) or not slug:
        raise ProtocolError("invoke names no function_id")
    payload = opts.get("payload") or {}
    if not isinstance(payload, dict):
        raise ProtocolError("invoke payload must be an object")
    data = payload.get("data") or {}
    if not isinstance(data, dict):
        raise ProtocolError("invoke payload.data must be an object")
    version = payload.get("v")
    return Invoke(
        op.id,
        op.display_name,
        slug,
        data,
        version if isinstance(version, str) else None,
        _deadline(opts.get("timeout"), now, MAX_SLEEP_S),
    )


# Ops that make the run wait for something outside the SDK call.
_ASYNC_PARSERS: dict[Opcode, Callable[[outcome.Op, datetime], Wake | Wait | Invoke]] = {
    Opcode.SLEEP: _sleep,
    Opcode.WAIT_FOR_EVENT: _wait,
    Opcode.INVOKE_FUNCTION: _invoke,
}
