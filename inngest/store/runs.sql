-- name: run_keys_claim
-- A key older than the window is taken over; a fresh one makes the insert return nothing,
-- which is how a repeated event id starts no second run.
INSERT INTO run_keys (function_id, key, run_id, created_at)
SELECT * FROM unnest(CAST(%(function_ids)s AS uuid[]), CAST(%(keys)s AS text[]),
                     CAST(%(run_ids)s AS text[]), CAST(%(nows)s AS timestamptz[]))
ON CONFLICT (function_id, key) DO UPDATE
    SET run_id = EXCLUDED.run_id, created_at = EXCLUDED.created_at
    WHERE run_keys.created_at < %(window_start)s
RETURNING run_id

-- name: run_keys_expire
DELETE FROM run_keys WHERE created_at < %(window_start)s

-- name: runs_insert
INSERT INTO runs (id, function_id, function_version, event_ids, status, original_run_id,
                  skip_reason, singleton_key, created_at, ended_at)
SELECT r.id, r.function_id, r.version, ARRAY(SELECT jsonb_array_elements_text(r.event_ids)),
       r.status, r.original_run_id, r.skip_reason, r.singleton_key, %(now)s,
       CASE WHEN r.status = 'Skipped' THEN CAST(%(now)s AS timestamptz) END
FROM unnest(CAST(%(ids)s AS text[]), CAST(%(function_ids)s AS uuid[]),
            CAST(%(versions)s AS int[]), CAST(%(event_ids)s AS jsonb[]),
            CAST(%(original_run_ids)s AS text[]), CAST(%(statuses)s AS text[]),
            CAST(%(skip_reasons)s AS text[]), CAST(%(singleton_keys)s AS text[]))
     AS r(id, function_id, version, event_ids, original_run_id, status, skip_reason,
          singleton_key)

-- name: runs_load_for_call
-- Everything one SDK call needs, in one round trip: the run, its function and app, the memo
-- in completion order and the triggering events in trigger order.
SELECT r.id, r.status, r.request_version, r.disable_immediate, r.step_count, r.state_bytes,
       f.slug, f.url, f.max_attempts, a.name AS app_name, f.config,
       COALESCE((SELECT jsonb_agg(jsonb_build_array(s.step_id, s.memo) ORDER BY s.position)
                 FROM steps s WHERE s.run_id = r.id), '[]'::jsonb) AS memo,
       COALESCE((SELECT jsonb_agg(
                     jsonb_strip_nulls(jsonb_build_object('name', e.name, 'data', e.data,
                         'id', e.id, 'ts', e.ts, 'user', e."user", 'v', e.v))
                     ORDER BY array_position(r.event_ids, e.internal_id))
                 FROM events e WHERE e.internal_id = ANY(r.event_ids)), '[]'::jsonb) AS events
FROM runs r
JOIN functions f ON f.id = r.function_id
JOIN apps a ON a.id = f.app_id
WHERE r.id = %(run_id)s

-- name: runs_lock
SELECT status, step_count, disable_immediate FROM runs WHERE id = %(run_id)s FOR UPDATE

-- name: runs_mark_started
UPDATE runs SET status = 'Running', started_at = COALESCE(started_at, %(now)s)
WHERE id = %(run_id)s AND status = 'Scheduled'

-- name: steps_insert
-- A step's result is recorded once; a later answer never changes it. Known steps are filtered
-- first so positions stay contiguous (the caller holds the run lock, so nobody else inserts).
WITH input AS (
    SELECT s.step_id, s.name, s.op, s.memo, s.attempts, s.ord
    FROM unnest(CAST(%(step_ids)s AS text[]), CAST(%(names)s AS text[]), CAST(%(ops)s AS text[]),
                CAST(%(memos)s AS jsonb[]), CAST(%(attempts)s AS int[]))
         WITH ORDINALITY AS s(step_id, name, op, memo, attempts, ord)
), fresh AS (
    SELECT DISTINCT ON (i.step_id) i.*
    FROM input i
    WHERE NOT EXISTS (SELECT 1 FROM steps t WHERE t.run_id = %(run_id)s AND t.step_id = i.step_id)
    ORDER BY i.step_id, i.ord
)
INSERT INTO steps (run_id, step_id, position, name, op, memo, attempts, created_at)
SELECT %(run_id)s, f.step_id,
       CAST(%(first_position)s AS int) + CAST(row_number() OVER (ORDER BY f.ord) AS int) - 1,
       f.name, f.op, f.memo, f.attempts, %(now)s
FROM fresh f
ON CONFLICT (run_id, step_id) DO NOTHING
RETURNING step_id, octet_length(CAST(memo AS text))

-- name: runs_update_progress
UPDATE runs SET status = CASE WHEN status = 'Scheduled' THEN 'Running' ELSE status END,
                started_at = COALESCE(started_at, %(now)s),
                request_version = COALESCE(CAST(%(request_version)s AS int), request_version),
                disable_immediate = %(disable_immediate)s,
                step_count = step_count + %(added_steps)s,
                state_bytes = state_bytes + %(added_bytes)s
WHERE id = %(run_id)s

-- name: runs_finish
UPDATE runs SET status = %(status)s, output = %(output)s, error = %(error)s, ended_at = %(now)s,
                started_at = COALESCE(started_at, %(now)s), cancelled_by = %(cancelled_by)s
WHERE id = %(run_id)s AND status IN ('Scheduled', 'Running')
RETURNING id

-- name: attempts_insert
INSERT INTO attempts (run_id, target_step, attempt, started_at, ended_at, status_code, outcome,
                      error, retry_at)
VALUES (%(run_id)s, %(target_step)s, %(attempt)s, %(started_at)s, %(ended_at)s, %(status_code)s,
        %(outcome)s, %(error)s, %(retry_at)s)

-- name: runs_get
SELECT r.id, r.status, r.output, r.error, r.event_ids, r.function_version, r.request_version,
       r.original_run_id, r.cancelled_by, r.skip_reason, r.singleton_key, r.created_at,
       r.started_at, r.ended_at, r.step_count, r.state_bytes,
       f.id AS function_id, f.slug AS function_slug, f.name AS function_name,
       a.name AS app_name
FROM runs r JOIN functions f ON f.id = r.function_id JOIN apps a ON a.id = f.app_id
WHERE r.id = %(run_id)s

-- name: steps_for_run
SELECT step_id, position, name, op, memo, attempts, created_at
FROM steps WHERE run_id = %(run_id)s ORDER BY position

-- name: attempts_for_run
SELECT id, target_step, attempt, started_at, ended_at, status_code, outcome, error, retry_at
FROM attempts WHERE run_id = %(run_id)s ORDER BY id

-- name: runs_list
-- Keyset pagination on the ULID (newest first): stable under concurrent inserts.
SELECT r.id, r.status, r.output, r.error, r.event_ids, r.original_run_id, r.created_at,
       r.started_at, r.ended_at, r.step_count, f.slug AS function_slug, a.name AS app_name
FROM runs r JOIN functions f ON f.id = r.function_id JOIN apps a ON a.id = f.app_id
WHERE (CAST(%(status)s AS text) IS NULL OR r.status = %(status)s)
  AND (CAST(%(function_slug)s AS text) IS NULL OR f.slug = %(function_slug)s)
  AND (CAST(%(event_id)s AS text) IS NULL OR r.event_ids @> ARRAY[CAST(%(event_id)s AS text)])
  AND (CAST(%(cursor)s AS text) IS NULL OR r.id < %(cursor)s)
ORDER BY r.id DESC
LIMIT %(limit)s

-- name: runs_active_ids
SELECT r.id FROM runs r JOIN functions f ON f.id = r.function_id
WHERE f.slug = %(function_slug)s AND r.status IN ('Scheduled', 'Running')
  AND (CAST(%(created_after)s AS timestamptz) IS NULL OR r.created_at >= %(created_after)s)
  AND (CAST(%(created_before)s AS timestamptz) IS NULL OR r.created_at < %(created_before)s)
ORDER BY r.id
LIMIT %(limit)s

-- name: history_insert
INSERT INTO run_history (run_id, at, kind, step_id, step_name, attempt, data)
SELECT * FROM unnest(CAST(%(run_ids)s AS text[]), CAST(%(ats)s AS timestamptz[]),
                     CAST(%(kinds)s AS text[]), CAST(%(step_ids)s AS text[]),
                     CAST(%(step_names)s AS text[]), CAST(%(attempts)s AS int[]),
                     CAST(%(datas)s AS jsonb[]))

-- name: history_for_run
SELECT id, at, kind, step_id, step_name, attempt, data
FROM run_history WHERE run_id = %(run_id)s ORDER BY id

-- name: runs_lock_singleton
SELECT pg_advisory_xact_lock(hashtextextended(%(lock_key)s, 11))

-- name: runs_active_singleton
SELECT id FROM runs
WHERE function_id = %(function_id)s AND singleton_key = %(singleton_key)s
  AND status IN ('Scheduled', 'Running')
LIMIT 1
