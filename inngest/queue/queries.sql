-- The hot-path statements of the work queue, loaded once by inngest.queue.ops.
--
-- A claim moves available_at to the lease's expiry, so the one range condition
-- `available_at <= now` finds both due items and items whose lease ran out, and the claim index
-- (priority DESC, available_at, id) serves it in claim order. Every statement that acts for a lease
-- holder is fenced by (id, lease_token): a holder whose lease was taken over changes nothing.
-- Batched statements take parallel arrays and unnest them, so one round trip covers a batch.

-- name: queue_enqueue
-- Ids come from an identity column, so they ascend in input order within this statement.
INSERT INTO queue_items (kind, payload, priority, available_at, partition_key, group_key)
SELECT kind, payload, priority, available_at, partition_key, group_key
FROM unnest(
    CAST(%(kinds)s AS text[]),
    CAST(%(payloads)s AS jsonb[]),
    CAST(%(priorities)s AS smallint[]),
    CAST(%(available_ats)s AS timestamptz[]),
    CAST(%(partition_keys)s AS text[]),
    CAST(%(group_keys)s AS text[])
) AS n(kind, payload, priority, available_at, partition_key, group_key)
RETURNING id;

-- name: queue_claim
-- The fast claim: strictly by priority, then due time. ClaimPolicy alternates it with the fair
-- claim under a backlog, so a busy queue pays for fairness only every other round trip.
-- SKIP LOCKED: concurrent claimers step over rows another claimer is taking in this instant
-- instead of queueing behind its row locks; each row goes to exactly one of them, and a skipped
-- row is found by the next claim. The LIMIT sits under the lock so at most `limit` rows are locked.
WITH picked AS (
    SELECT id, available_at
    FROM queue_items
    WHERE available_at <= %(now)s
      AND (CAST(%(kinds)s AS text[]) IS NULL OR kind = ANY(CAST(%(kinds)s AS text[])))
    ORDER BY priority DESC, available_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
),
claimed AS (
    UPDATE queue_items AS q
    SET lease_token = %(lease_token)s,
        available_at = %(lease_until)s,
        claimed_at = %(now)s,
        gate_key = NULL
    FROM picked
    WHERE q.id = picked.id
    RETURNING q.id, q.kind, q.payload, q.priority, q.attempt, q.partition_key, q.created_at,
              picked.available_at AS due_at
)
SELECT id, kind, payload, priority, attempt, partition_key, created_at, due_at
FROM claimed
ORDER BY priority DESC, due_at, id;

-- name: queue_claim_fair
-- Fair claims: items are taken round-robin across fairness groups (functions), so one group's
-- backlog never queues another group's work behind it. `groups` walks the distinct group keys
-- with one index probe each (a loose index scan), `candidates` takes each group's first due
-- items (by priority, then due time) through ix_queue_items_group, and the final order is
-- priority, then the item's rank within its group, then due time.
-- SKIP LOCKED: concurrent claimers step over rows another claimer is taking in this instant
-- instead of queueing behind its row locks; each row goes to exactly one of them, and a skipped
-- row is found by the next claim. The LIMIT sits under the lock so at most `limit` rows are locked.
-- One fresh token per claim, chosen by the caller: (id, token) pairs are still unique per claim,
-- so fencing stays per item, and the server draws no random uuid per row. The outer SELECT
-- restores claim order, which RETURNING does not promise.
WITH RECURSIVE groups(g) AS (
    (SELECT group_key FROM queue_items ORDER BY group_key LIMIT 1)
    UNION ALL
    SELECT (SELECT q.group_key FROM queue_items q WHERE q.group_key > groups.g
            ORDER BY q.group_key LIMIT 1)
    FROM groups WHERE groups.g IS NOT NULL
),
candidates AS (
    -- SKIP LOCKED inside each group's scan: a claimer that finds the head of a group taken
    -- by a concurrent claimer takes the next items of that group instead of nothing.
    SELECT c.id, c.priority, c.available_at, c.g
    FROM groups
    CROSS JOIN LATERAL (
        SELECT q.id, q.priority, q.available_at, groups.g AS g
        FROM queue_items q
        WHERE q.group_key = groups.g
          AND q.available_at <= %(now)s
          AND (CAST(%(kinds)s AS text[]) IS NULL OR q.kind = ANY(CAST(%(kinds)s AS text[])))
        ORDER BY q.priority DESC, q.available_at, q.id
        LIMIT %(limit)s
        FOR UPDATE OF q SKIP LOCKED
    ) AS c
    WHERE groups.g IS NOT NULL
),
ranked AS (
    SELECT id, priority, available_at,
           row_number() OVER (PARTITION BY g ORDER BY priority DESC, available_at, id) AS rank
    FROM candidates
),
picked AS (
    SELECT id, priority, rank, available_at
    FROM ranked
    ORDER BY priority DESC, rank, available_at, id
    LIMIT %(limit)s
),
claimed AS (
    UPDATE queue_items AS q
    SET lease_token = %(lease_token)s,
        available_at = %(lease_until)s,
        claimed_at = %(now)s,
        gate_key = NULL
    FROM picked
    WHERE q.id = picked.id
    RETURNING q.id, q.kind, q.payload, q.priority, q.attempt, q.partition_key, q.created_at,
              picked.rank, picked.available_at AS due_at
)
SELECT id, kind, payload, priority, attempt, partition_key, created_at, due_at
FROM claimed
ORDER BY priority DESC, rank, due_at, id;

-- name: queue_extend
UPDATE queue_items AS q
SET available_at = %(lease_until)s
FROM unnest(CAST(%(ids)s AS bigint[]), CAST(%(tokens)s AS uuid[])) AS l(id, lease_token)
WHERE q.id = l.id AND q.lease_token = l.lease_token
RETURNING q.id;

-- name: queue_complete
-- Completed work leaves the table (history lives with its owner), so the hot table stays small.
DELETE FROM queue_items AS q
USING unnest(CAST(%(ids)s AS bigint[]), CAST(%(tokens)s AS uuid[])) AS l(id, lease_token)
WHERE q.id = l.id AND q.lease_token = l.lease_token
RETURNING q.id;

-- name: queue_retry
UPDATE queue_items
SET attempt = attempt + 1,
    lease_token = NULL,
    claimed_at = NULL,
    available_at = %(available_at)s,
    payload = COALESCE(CAST(%(payload)s AS jsonb), payload)
WHERE id = %(id)s AND lease_token = %(lease_token)s;

-- name: queue_release
-- The claim time is the closest known stand-in for the original due time (the claim overwrote
-- it), so a released item goes back near its old place rather than behind newer work.
UPDATE queue_items AS q
SET lease_token = NULL,
    claimed_at = NULL,
    available_at = LEAST(COALESCE(q.claimed_at, %(now)s), %(now)s)
FROM unnest(CAST(%(ids)s AS bigint[]), CAST(%(tokens)s AS uuid[])) AS l(id, lease_token)
WHERE q.id = l.id AND q.lease_token = l.lease_token
RETURNING q.id;

-- name: queue_delete_partition
DELETE FROM queue_items WHERE partition_key = %(partition_key)s;

-- name: queue_pending_count
SELECT count(*) FROM queue_items;

-- name: queue_next_due
-- PostgreSQL 15 has no skip scan, and available_at is the claim index's second column, so a bare
-- min(available_at) would read every row (sleeping runs can be millions). This walks the few
-- distinct priorities with one index probe each, then takes the earliest future time per priority.
WITH RECURSIVE priorities AS (
    (SELECT priority FROM queue_items ORDER BY priority DESC LIMIT 1)
    UNION ALL
    SELECT (
        SELECT q.priority FROM queue_items AS q
        WHERE q.priority < p.priority
        ORDER BY q.priority DESC LIMIT 1
    )
    FROM priorities AS p
    WHERE p.priority IS NOT NULL
)
SELECT min((
    SELECT q.available_at FROM queue_items AS q
    WHERE q.priority = p.priority AND q.available_at > %(now)s
    ORDER BY q.priority DESC, q.available_at, q.id
    LIMIT 1
))
FROM priorities AS p
WHERE p.priority IS NOT NULL;

-- name: queue_count_partition
-- Uses ix_queue_items_partition_key; a partition (one run) holds a handful of items.
SELECT count(*) FROM queue_items
WHERE partition_key = %(partition_key)s AND kind = ANY(%(kinds)s);

-- name: queue_delete_items
-- Unfenced: for items whose purpose is gone (a pause's timeout once the pause resolved).
DELETE FROM queue_items WHERE id = ANY(%(ids)s);

-- name: queue_partition_items
SELECT id, kind, payload, priority, attempt, available_at, lease_token IS NOT NULL AS leased,
       created_at, gate_key
FROM queue_items WHERE partition_key = %(partition_key)s ORDER BY available_at, id;

-- name: queue_park
-- Give a held item back without counting an attempt, parked behind `gate_key` until
-- `available_at` (a safety net: open_gate normally wakes it sooner). Fenced like every ack.
UPDATE queue_items
SET lease_token = NULL,
    claimed_at = NULL,
    available_at = %(available_at)s,
    gate_key = %(gate_key)s,
    -- An item parked again keeps its first place in line.
    gate_order = COALESCE(gate_order, %(gate_order)s)
WHERE id = %(id)s AND lease_token = %(lease_token)s;

-- name: queue_open_gate
-- Wake the parked item that has waited longest in line (gate_order carries its priority), and
-- put it back at its old place in the claim order. Only one woken item per gate at a time: while
-- one is due but not yet claimed, another release wakes nobody, so a second woken item cannot
-- race the first for the slot. The woken item keeps its gate_key until a claim clears it.
-- SKIP LOCKED: two releases of the same gate do not wake the item the other is updating.
UPDATE queue_items AS q
SET available_at = LEAST(%(now)s, COALESCE(q.gate_order, %(now)s))
WHERE q.id IN (
    SELECT id FROM queue_items
    WHERE gate_key = %(gate_key)s AND lease_token IS NULL AND available_at > %(now)s
    ORDER BY gate_order NULLS LAST, id
    LIMIT %(count)s
    FOR UPDATE SKIP LOCKED
)
AND NOT EXISTS (
    SELECT 1 FROM queue_items AS w
    WHERE w.gate_key = %(gate_key)s AND w.lease_token IS NULL AND w.available_at <= %(now)s
)
RETURNING q.id;

-- name: queue_enqueue_leased
-- An item born already held: the caller goes on to execute it at once instead of waiting for a
-- claimer to find it. Should the caller die, the lease expires and a claimer takes the item.
INSERT INTO queue_items (kind, payload, priority, available_at, partition_key, group_key,
                         lease_token, claimed_at)
VALUES (%(kind)s, %(payload)s, %(priority)s, %(lease_until)s, %(partition_key)s, %(group_key)s,
        %(lease_token)s, %(now)s)
RETURNING id, created_at;
