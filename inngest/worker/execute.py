"""Run one claimed queue item: call the SDK (or resolve a sleep), decide, commit."""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from inngest.clock import Clock
from inngest.coord.limits import Limits
from inngest.coord.wakeup import Wakeups
from inngest.db.pool import Pool, reading, writing
from inngest.engine import decide as engine
from inngest.engine.retry import RetryPolicy
from inngest.engine.run import DISCOVERY, RunStatus
from inngest.errors import LeaseLost, ProtocolError
from inngest.ingest import items
from inngest.protocol import call, durations, outcome
from inngest.queue import ops as queue
from inngest.queue import records
from inngest.store import runs
from inngest.worker import buffers, commit, cron, driver, gates, internal

log = logging.getLogger(__name__)

# Past this the call goes out without events and memo, and the SDK fetches them from /v0.
USE_API_ABOVE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Executor:
    """Everything an item's execution needs, wired once by the server."""

    pool: Pool
    client: httpx.AsyncClient
    clock: Clock
    policy: RetryPolicy
    personality: str  # "dev" | "cloud": sent as X-Inngest-Server-Kind
    signing_key: str | None
    limits: Limits | None = None  # flow control (concurrency, throttle); None disables it
    wakeups: Wakeups | None = None  # told when a parked item is woken
    lease_s: float = 30.0
    # Concurrency keys held by in-flight items, re-asserted by the lease heartbeat.
    holdings: dict[int, tuple[str, ...]] = field(default_factory=dict)

    async def run(self, item: records.Claimed) -> commit.Applied | None:
        """Execute ``item``; None when there was nothing to commit (lease lost, run gone)."""
        try:
            if item.kind in (items.CALL, items.PLANNED):
                return await self._call(item)
            if item.kind == items.CRON:
                return await cron.process(self.pool, self.clock, item, limiter=self.limits)
            if item.kind in (items.DEBOUNCE, items.BATCH):
                return await buffers.process(self.pool, self.clock, item, limiter=self.limits)
            return await self._internal(item)
        except LeaseLost:
            log.warning(
                "lease lost; another worker owns the item now",
                extra={"action": "item.lease_lost", "item_id": item.id},
            )
            return None

    async def _internal(self, item: records.Claimed) -> commit.Applied | None:
        run_id = str(item.payload["run_id"])
        async with writing(self.pool) as conn:
            state = await runs.load_for_call(conn, run_id)
            if state is None:
                await queue.complete(conn, [(item.id, item.lease_token)])
                return None
            now = self.clock.now()
            applied = await commit.apply(
                conn,
                item,
                internal.decision_for(item),
                state=state,
                call_started_at=now,
                request_version=None,
                attempt=None,
                now=now,
                limiter=self.limits,
                continue_lease_s=self.lease_s,
            )
        if applied.finished is not None:
            log.info(
                "run ended",
                extra={
                    "action": f"run.{applied.finished.value.lower()}",
                    "run_id": run_id,
                    "function": state.function_slug,
                    "cause": item.kind,
                },
            )
        return applied

    async def _call(self, item: records.Claimed) -> commit.Applied | None:
        run_id = str(item.payload["run_id"])
        target = str(item.payload.get("step_id", DISCOVERY))
        async with reading(self.pool) as conn:
            state = await runs.load_for_call(conn, run_id)
            if state is None or RunStatus(state.status).ended:
                await queue.complete(conn, [(item.id, item.lease_token)])
                return None
        gate = await self._gate(item, state)
        if gate is None:
            return None
        try:
            return await self._call_through(item, state, target)
        finally:
            if gate.keys:
                await self._leave(item, gate.keys)

    async def _gate(self, item: records.Claimed, state: runs.CallState) -> gates.Passed | None:
        """Pass the item's gates, or park it and return None."""
        if self.limits is None:
            return gates.Passed(())
        now = self.clock.now()
        gate = await gates.enter(
            self.limits,
            holder=str(item.id),
            function_id=state.function_slug,
            config=state.config,
            event=dict(state.events[0]) if state.events else {},
            first_call=item.kind == items.CALL and state.status == RunStatus.SCHEDULED,
            now=now,
            lease_s=self.lease_s,
        )
        if isinstance(gate, gates.Passed):
            if gate.keys:
                self.holdings[item.id] = gate.keys
            return gate
        async with self.pool.connection() as conn, conn.transaction():
            parked = await queue.park(
                conn,
                item.id,
                item.lease_token,
                available_at=gate.until,
                gate_key=gate.gate_key,
                # Woken in the order they were due, which carries their priority.
                gate_order=item.due_at,
            )
        # A slot freed between the refused acquire and the park woke nobody: look again. Not
        # inside the park's transaction: holding one pooled connection while asking the limits
        # (which may need another) could starve the pool under load.
        if (
            parked
            and gate.limit is not None
            and await self.limits.in_use(gate.gate_key, now=now) < gate.limit
        ):
            async with self.pool.connection() as conn, conn.transaction():
                opened = await queue.open_gate(conn, gate.gate_key, now=now)
            if opened and self.wakeups is not None:
                await self.wakeups.notify()
        log.info(
            "call gated",
            extra={
                "action": "call.gated",
                "run_id": state.run_id,
                "function": state.function_slug,
                "reason": gate.reason,
                "key": gate.gate_key,
                "until": gate.until.isoformat(),
            },
        )
        return None

    async def _leave(self, item: records.Claimed, keys: tuple[str, ...]) -> None:
        """Release the call's concurrency slots and wake one item parked on each."""
        self.holdings.pop(item.id, None)
        assert self.limits is not None
        try:
            await self.limits.release(keys, holder=str(item.id))
            opened = 0
            async with self.pool.connection() as conn, conn.transaction():
                for key in keys:
                    opened += await queue.open_gate(conn, key, now=self.clock.now())
            # The woken item is due now: say so, or it waits for the claimers' next poll.
            if opened and self.wakeups is not None:
                await self.wakeups.notify()
        except Exception:
            # The slot lease expires on its own and parked items wake after PARK_S.
            log.exception("slot release failed", extra={"action": "slot.release_failed"})

    async def _call_through(
        self, item: records.Claimed, state: runs.CallState, target: str
    ) -> commit.Applied | None:
        run_id = state.run_id
        if state.status == RunStatus.SCHEDULED:
            async with self.pool.connection() as conn, conn.transaction():
                await self._start(conn, state)

        context = {
            "action": "call.start",
            "run_id": run_id,
            "function": state.function_slug,
            "attempt": item.attempt,
            "step": target,
        }
        log.debug("calling SDK", extra=context)
        started = self.clock.now()
        prepared = call.build_call(
            call.CallRequest(
                url=state.url,
                step_id=target,
                run_id=run_id,
                attempt=item.attempt,
                max_attempts=state.max_attempts,
                events=state.events,
                memo=state.memo,
                request_version=state.request_version,
                disable_immediate_execution=state.disable_immediate,
                server_kind=call.ServerKind(self.personality),
                signing_key=self.signing_key,
                job_id=str(item.id),
                request_id=str(uuid.uuid4()),
                generation_id=item.attempt,
                now_s=int(started.timestamp()),
                use_api_above_bytes=USE_API_ABOVE_BYTES,
                function_id=state.function_slug,
                queue_item_id=str(item.id),
            )
        )
        result = await driver.send(self.client, prepared, started)
        now = self.clock.now()
        decision = engine.decide(
            engine.CallContext(
                run_id=run_id,
                target=target,
                attempt=item.attempt,
                max_attempts=state.max_attempts,
                memo_ids=frozenset(step_id for step_id, _ in state.memo),
                step_count=state.step_count,
                state_bytes=state.state_bytes,
            ),
            result.outcome,
            now,
            self.policy,
            random.random(),
        )
        retry_at = next((c.at for c in decision.commands if isinstance(c, engine.Retry)), None)
        attempt = runs.AttemptRecord(
            run_id=run_id,
            target_step=target,
            attempt=item.attempt,
            started_at=started,
            ended_at=now,
            status_code=result.status_code,
            outcome=decision.label,
            error=decision.error,
            retry_at=retry_at,
        )
        async with writing(self.pool) as conn:
            applied = await commit.apply(
                conn,
                item,
                decision,
                state=state,
                call_started_at=started,
                request_version=result.request_version,
                attempt=attempt,
                now=now,
                limiter=self.limits,
                continue_lease_s=self.lease_s,
            )
        _log_result(context, decision, result, applied, retry_at)
        return applied

    async def _start(self, conn: Any, state: runs.CallState) -> None:
        """The run's first call begins: Running, and the finish timeout starts counting."""
        now = self.clock.now()
        await runs.mark_started(conn, state.run_id, now=now)
        await runs.add_history(conn, [runs.HistoryEntry(state.run_id, now, "run.started")])
        finish_after = (state.config.get("timeouts") or {}).get("finish")
        if isinstance(finish_after, str) and finish_after:
            try:
                at = now + durations.parse_duration(finish_after)
            except ProtocolError:
                return
            await queue.enqueue(conn, [items.run_timeout(state.run_id, "finish", at=at)], now=now)


def _log_result(
    context: dict[str, Any],
    decision: engine.Decision,
    result: driver.CallResult,
    applied: commit.Applied,
    retry_at: Any,
) -> None:
    extra = {
        **context,
        "action": f"call.{decision.label}",
        "status_code": result.status_code,
        "duration_ms": round(result.duration_s * 1000, 1),
    }
    if decision.error is not None:
        extra["error"] = f"{decision.error.get('name')}: {decision.error.get('message')}"
    if retry_at is not None:
        extra["retry_at"] = retry_at.isoformat()
    if applied.finished is not None:
        extra["run_status"] = applied.finished.value
    level = logging.WARNING if decision.label in ("error", "failed") else logging.INFO
    log.log(level, "SDK call %s", decision.label, extra=extra)
    if isinstance(result.outcome, outcome.Failed) and not result.outcome.retriable:
        log.debug("non-retriable failure", extra=extra)
