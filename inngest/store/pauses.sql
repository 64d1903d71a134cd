-- name: pauses_insert
INSERT INTO pauses (id, run_id, kind, step_id, step_name, event_name, expression, origin_event,
                    correlation_id, expires_at, timeout_item_id, created_at)
VALUES (%(id)s, %(run_id)s, %(kind)s, %(step_id)s, %(step_name)s, %(event_name)s,
        %(expression)s, %(origin_event)s, %(correlation_id)s, %(expires_at)s,
        %(timeout_item_id)s, %(now)s)

-- name: pauses_insert_many
INSERT INTO pauses (id, run_id, kind, event_name, expression, origin_event, expires_at,
                    created_at)
SELECT p.id, p.run_id, p.kind, p.event_name, p.expression, p.origin_event, p.expires_at, %(now)s
FROM unnest(CAST(%(ids)s AS uuid[]), CAST(%(run_ids)s AS text[]), CAST(%(kinds)s AS text[]),
            CAST(%(event_names)s AS text[]), CAST(%(expressions)s AS text[]),
            CAST(%(origin_events)s AS jsonb[]), CAST(%(expires_ats)s AS timestamptz[]))
     AS p(id, run_id, kind, event_name, expression, origin_event, expires_at)

-- name: pauses_for_names
-- Candidates only: expressions are evaluated in Python, then the winners are consumed.
SELECT id, run_id, kind, step_id, step_name, event_name, expression, origin_event
FROM pauses
WHERE event_name = ANY(%(names)s) AND expires_at > %(now)s
ORDER BY created_at

-- name: pauses_consume
-- The DELETE is the consumption: of two concurrent consumers, one gets the row back.
DELETE FROM pauses WHERE id = ANY(%(ids)s)
RETURNING id, run_id, kind, step_id, step_name, timeout_item_id

-- name: pauses_consume_correlation
DELETE FROM pauses WHERE correlation_id = %(correlation_id)s
RETURNING id, run_id, kind, step_id, step_name, timeout_item_id

-- name: pauses_delete_for_run
DELETE FROM pauses WHERE run_id = %(run_id)s

-- name: pauses_lock_event_names_shared
-- Ingest takes these shared, a new wait takes its name exclusive: an event committed while a
-- wait is being stored is then either seen by the wait's lookback or sees the wait.
SELECT pg_advisory_xact_lock_shared(hashtextextended(n, 7))
FROM (SELECT DISTINCT n FROM unnest(CAST(%(names)s AS text[])) AS u(n) ORDER BY n) AS s

-- name: pauses_lock_event_name
SELECT pg_advisory_xact_lock(hashtextextended(%(name)s, 7))

-- name: events_since
-- The wait's lookback: events of that name received since its SDK call started.
SELECT name, data, id, ts, "user", v
FROM events
WHERE name = %(name)s AND received_at >= %(since)s
ORDER BY internal_id
LIMIT 1000

-- name: pauses_for_run
SELECT id, kind, step_id, step_name, event_name, expression, correlation_id, expires_at
FROM pauses WHERE run_id = %(run_id)s ORDER BY created_at
