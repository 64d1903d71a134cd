-- name: events_insert
INSERT INTO events (internal_id, id, name, data, ts, "user", v, received_at)
SELECT * FROM unnest(CAST(%(internal_ids)s AS text[]), CAST(%(ids)s AS text[]),
                     CAST(%(names)s AS text[]), CAST(%(datas)s AS jsonb[]),
                     CAST(%(tss)s AS bigint[]), CAST(%(users)s AS jsonb[]),
                     CAST(%(vs)s AS text[]), CAST(%(nows)s AS timestamptz[]))
ON CONFLICT (internal_id) DO NOTHING

-- name: events_get
SELECT internal_id, id, name, data, ts, "user", v, received_at
FROM events WHERE internal_id = %(internal_id)s

-- name: events_list
SELECT internal_id, id, name, data, ts, "user", v, received_at
FROM events
WHERE (CAST(%(name)s AS text) IS NULL OR name = %(name)s)
  AND (CAST(%(cursor)s AS text) IS NULL OR internal_id < %(cursor)s)
ORDER BY internal_id DESC
LIMIT %(limit)s
