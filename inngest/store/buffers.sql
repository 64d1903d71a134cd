-- name: buffers_lock
-- Held to the end of the transaction; seed 12 keeps these keys apart from singleton locks.
SELECT pg_advisory_xact_lock(hashtextextended(%(lock_key)s, 12))

-- name: debounces_get
SELECT id, event_id, first_at, due_at, item_id
FROM debounces WHERE function_id = %(function_id)s AND key_hash = %(key_hash)s

-- name: debounces_put
INSERT INTO debounces (function_id, key_hash, id, event_id, first_at, due_at, item_id)
VALUES (%(function_id)s, %(key_hash)s, %(id)s, %(event_id)s, %(first_at)s, %(due_at)s,
        %(item_id)s)
ON CONFLICT (function_id, key_hash) DO UPDATE
    SET id = EXCLUDED.id, event_id = EXCLUDED.event_id, first_at = EXCLUDED.first_at,
        due_at = EXCLUDED.due_at, item_id = EXCLUDED.item_id

-- name: debounces_delete
DELETE FROM debounces WHERE function_id = %(function_id)s AND key_hash = %(key_hash)s

-- name: event_batches_get
SELECT id, event_ids, created_at, item_id
FROM event_batches WHERE function_id = %(function_id)s AND key_hash = %(key_hash)s

-- name: event_batches_put
INSERT INTO event_batches (function_id, key_hash, id, event_ids, created_at, item_id)
VALUES (%(function_id)s, %(key_hash)s, %(id)s, CAST(%(event_ids)s AS text[]), %(created_at)s,
        %(item_id)s)
ON CONFLICT (function_id, key_hash) DO UPDATE
    SET id = EXCLUDED.id, event_ids = EXCLUDED.event_ids, created_at = EXCLUDED.created_at,
        item_id = EXCLUDED.item_id

-- name: event_batches_delete
DELETE FROM event_batches WHERE function_id = %(function_id)s AND key_hash = %(key_hash)s

-- name: buffers_function
SELECT id, version, config, archived_at FROM functions WHERE id = %(function_id)s

-- name: buffers_events
-- Events as SDKs receive them (the shape of Event.to_wire), for flow control on the first one.
SELECT internal_id,
       jsonb_build_object('name', name, 'data', data, 'id', id, 'ts', ts, 'user', "user")
       || CASE WHEN v IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('v', v) END
FROM events WHERE internal_id = ANY(CAST(%(internal_ids)s AS text[]))
