"""ClaimPolicy: fair claims always, except every other one under a backlog."""

from __future__ import annotations

from inngest.queue.ops import ClaimPolicy


def test_unsaturated_claims_are_all_fair() -> None:
    policy = ClaimPolicy()
    seen = []
    for _ in range(4):
        seen.append(policy.fair())
        policy.observe(3, 10)
    assert seen == [True, True, True, True]


def test_under_a_backlog_fair_and_plain_alternate() -> None:
    policy = ClaimPolicy()
    seen = []
    for _ in range(4):
        seen.append(policy.fair())
        policy.observe(10, 10)
    assert seen == [True, False, True, False]
    policy.observe(0, 10)  # the backlog is gone
    assert policy.fair()
