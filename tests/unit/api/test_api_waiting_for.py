"""GET /api/v1/runs/{id} says what holds a run right now: table tests of the wording."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from inngest.api.rest import waiting_for

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)


def item(**fields: Any) -> dict[str, Any]:
    base = {
        "kind": "call",
        "payload": {},
        "attempt": 0,
        "available_at": NOW,
        "leased": False,
        "gate_key": None,
    }
    return {**base, **fields}


def run(status: str = "Running", pauses: Any = (), queued: Any = ()) -> dict[str, Any]:
    return {"status": status, "pauses": list(pauses), "queued": list(queued)}


@pytest.mark.parametrize(
    ("queued", "expected"),
    [
        ([item(kind="wake", payload={"name": "nap"}, available_at=LATER)], "sleeping"),
        ([item(attempt=2, available_at=LATER)], "retry backoff"),
        ([item(gate_key="c:fn:app-f:", available_at=LATER)], "concurrency limit reached"),
        ([item(gate_key="t:app-f:", available_at=LATER)], "throttled"),
        ([item(leased=True)], "calling the SDK"),
        ([item()], "queued"),
    ],
)
def test_queue_items_explain_the_wait(queued: list[dict[str, Any]], expected: str) -> None:
    reasons = waiting_for(run(queued=queued), NOW)
    assert [r["reason"] for r in reasons] == [expected]


def test_pauses_explain_the_wait() -> None:
    pauses = [
        {"kind": "wait", "event_name": "demo/reply", "step_name": "w", "expires_at": LATER},
        {"kind": "invoke", "event_name": None, "step_name": "call", "expires_at": LATER},
    ]
    reasons = waiting_for(run(pauses=pauses), NOW)
    assert reasons == [
        {"reason": "waiting for event", "event": "demo/reply", "step": "w", "until": LATER},
        {"reason": "waiting for invoked function", "step": "call", "until": LATER},
    ]


@pytest.mark.parametrize("status", ["Completed", "Failed", "Cancelled", "Skipped"])
def test_ended_runs_wait_for_nothing(status: str) -> None:
    assert waiting_for(run(status=status, queued=[item()]), NOW) == []
