-- name: functions_triggered_by
-- Exact names use the btree; wildcard prefixes are few per database, so a scan of them is fine.
SELECT f.id, f.slug, f.version, f.config, t.expression, t.event_name, t.wildcard
FROM triggers t JOIN functions f ON f.id = t.function_id
WHERE f.archived_at IS NULL
  AND (t.event_name = ANY(%(names)s)
       OR (t.wildcard AND EXISTS (SELECT 1 FROM unnest(CAST(%(names)s AS text[])) AS n(name)
                                  WHERE starts_with(n.name, t.event_name))))

-- name: functions_by_slug
SELECT f.id, f.slug, f.name, f.url, f.max_attempts, f.version, f.config, f.archived_at,
       a.name AS app_name
FROM functions f JOIN apps a ON a.id = f.app_id WHERE f.slug = %(slug)s

-- name: functions_list_with_stats
SELECT f.id, f.slug, f.name, a.name AS app_name, f.url, f.version, f.config, f.archived_at,
       f.created_at, f.updated_at,
       count(r.id) AS runs,
       count(r.id) FILTER (WHERE r.status = 'Completed') AS completed,
       count(r.id) FILTER (WHERE r.status = 'Failed') AS failed,
       count(r.id) FILTER (WHERE r.status = 'Cancelled') AS cancelled,
       count(r.id) FILTER (WHERE r.status IN ('Scheduled', 'Running')) AS active,
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM r.ended_at - r.started_at) * 1000)
           FILTER (WHERE r.ended_at IS NOT NULL AND r.started_at IS NOT NULL) AS p50_ms,
       percentile_cont(0.95) WITHIN GROUP (
           ORDER BY extract(epoch FROM r.ended_at - r.started_at) * 1000)
           FILTER (WHERE r.ended_at IS NOT NULL AND r.started_at IS NOT NULL) AS p95_ms,
       percentile_cont(0.99) WITHIN GROUP (
           ORDER BY extract(epoch FROM r.ended_at - r.started_at) * 1000)
           FILTER (WHERE r.ended_at IS NOT NULL AND r.started_at IS NOT NULL) AS p99_ms
FROM functions f
JOIN apps a ON a.id = f.app_id
LEFT JOIN runs r ON r.function_id = f.id AND r.created_at >= %(since)s
WHERE (%(include_archived)s OR f.archived_at IS NULL)
GROUP BY f.id, a.name
ORDER BY a.name, f.slug
