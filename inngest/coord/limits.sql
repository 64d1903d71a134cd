-- The PostgreSQL flow-control statements, loaded once by inngest.coord.pg_limits.
--
-- Every call is one short transaction sent as one pipeline (one round trip): coord_begin,
-- coord_no_sync_commit, for a decision coord_lock, the statement, coord_commit.
-- A decision (acquire, take a bucket unit) first takes a transaction-level advisory lock per key
-- and only then reads, in a later statement: under READ COMMITTED each statement reads a
-- snapshot taken when it starts, so the read sees everything the previous lock holder committed.
-- Time is always the caller's (%(now)s), never now().

-- name: coord_begin
BEGIN;

-- name: coord_no_sync_commit
-- Leases and buckets can be rebuilt (the worker re-asserts its leases every heartbeat; a lost
-- bucket update admits a little early), so these commits need not wait for the WAL flush.
SET LOCAL synchronous_commit TO off;

-- name: coord_commit
COMMIT;

-- name: coord_lock
-- Serialises decisions per key until COMMIT. Several keys are locked in one sorted order (the
-- "C" collation, the same in every process), so two acquires sharing two keys cannot deadlock.
-- The seed keeps these 64-bit lock ids apart from other users of hashtextextended's default;
-- kinds are prefixed ("slots:", "throttle:", "rate:") so one caller key never shares a lock.
SELECT pg_advisory_xact_lock(hashtextextended(k, 7023))
FROM unnest(CAST(%(lock_keys)s AS text[])) AS k
ORDER BY k COLLATE "C";

-- name: coord_slots_acquire
-- All or nothing over the claimed keys, decided in one statement: `full` is the first key (in
-- the caller's order) where the holder holds no live slot and the other live holders already
-- fill the limit; the INSERT adds or extends the holder's slots only when there is none. Expired
-- slots of the claimed keys are deleted on the way, except the holder's own, which the INSERT
-- overwrites (one statement must not both delete and update a row).
WITH claims AS (
    SELECT c.key, c.lim, c.ord
    FROM unnest(CAST(%(keys)s AS text[]), CAST(%(limits)s AS integer[]))
        WITH ORDINALITY AS c(key, lim, ord)
),
counted AS (
    SELECT c.key, c.lim, c.ord,
           count(*) FILTER (WHERE s.holder <> %(holder)s AND s.expires_at > %(now)s) AS others,
           bool_or(s.holder = %(holder)s AND s.expires_at > %(now)s) AS mine
    FROM claims AS c
    LEFT JOIN coord_slots AS s ON s.key = c.key
    GROUP BY c.key, c.lim, c.ord
),
full_key AS (
    SELECT key, others
    FROM counted
    WHERE mine IS NOT TRUE AND others >= lim
    ORDER BY ord
    LIMIT 1
),
purged AS (
    DELETE FROM coord_slots AS s
    USING claims AS c
    WHERE s.key = c.key AND s.expires_at <= %(now)s AND s.holder <> %(holder)s
),
granted AS (
    INSERT INTO coord_slots AS s (key, holder, expires_at)
    SELECT key, %(holder)s, %(expires_at)s
    FROM claims
    WHERE NOT EXISTS (SELECT FROM full_key)
    ORDER BY key COLLATE "C"
    ON CONFLICT (key, holder) DO UPDATE
    -- Extend, never shorten: a call carrying an older clock leaves a later expiry alone.
    SET expires_at = GREATEST(s.expires_at, EXCLUDED.expires_at)
)
SELECT key, others FROM full_key;

-- name: coord_slots_release
DELETE FROM coord_slots
WHERE key = ANY(CAST(%(keys)s AS text[])) AND holder = %(holder)s;

-- name: coord_slots_refresh
-- The reconcile path: re-create or extend every (key, holder) pair, whatever the limits. No
-- advisory lock: this never decides anything. The caller passes distinct pairs, sorted, so two
-- batches meeting on the same rows lock them in one order.
INSERT INTO coord_slots AS s (key, holder, expires_at)
SELECT key, holder, %(expires_at)s
FROM unnest(CAST(%(keys)s AS text[]), CAST(%(holders)s AS text[])) WITH ORDINALITY AS p(key, holder, ord)
ORDER BY ord
ON CONFLICT (key, holder) DO UPDATE
SET expires_at = GREATEST(s.expires_at, EXCLUDED.expires_at);

-- name: coord_slots_in_use
SELECT count(*) FROM coord_slots WHERE key = %(key)s AND expires_at > %(now)s;

-- name: coord_bucket_take
-- GCRA on one bucket, under coord_lock of the same key: base = max(tat, now), where an absent
-- bucket is a full one (tat = now). Allowed when base + emission - tolerance <= now; then tat
-- moves to base + emission. Returns the instant from which the call is allowed (<= now: taken).
WITH cur AS (
    SELECT GREATEST(
        (SELECT tat FROM coord_buckets WHERE key = %(key)s), CAST(%(now)s AS timestamptz)
    ) AS base
),
taken AS (
    INSERT INTO coord_buckets AS b (key, tat)
    SELECT %(key)s, base + CAST(%(emission)s AS interval)
    FROM cur
    WHERE base + CAST(%(emission)s AS interval) - CAST(%(tolerance)s AS interval)
        <= CAST(%(now)s AS timestamptz)
    ON CONFLICT (key) DO UPDATE SET tat = EXCLUDED.tat
)
SELECT base + CAST(%(emission)s AS interval) - CAST(%(tolerance)s AS interval) FROM cur;

-- name: coord_slots_sweep
-- Maintenance: slots nobody re-asserted in time, in keys nobody acquires again.
DELETE FROM coord_slots WHERE expires_at <= %(now)s;

-- name: coord_buckets_sweep
-- Maintenance: a bucket whose tat has passed is full, the same as absent.
DELETE FROM coord_buckets WHERE tat <= %(now)s;
