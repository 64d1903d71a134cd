-- name: apps_lock_by_name
SELECT id, checksum, url FROM apps WHERE name = %(name)s FOR UPDATE

-- name: apps_upsert
INSERT INTO apps (id, name, url, sdk_language, sdk_version, framework, app_version, checksum,
                  sync_error, synced_at)
VALUES (%(id)s, %(name)s, %(url)s, %(sdk_language)s, %(sdk_version)s, %(framework)s,
        %(app_version)s, %(checksum)s, NULL, %(now)s)
ON CONFLICT (name) DO UPDATE SET
    url = EXCLUDED.url, sdk_language = EXCLUDED.sdk_language, sdk_version = EXCLUDED.sdk_version,
    framework = EXCLUDED.framework, app_version = EXCLUDED.app_version,
    checksum = EXCLUDED.checksum, sync_error = NULL, synced_at = EXCLUDED.synced_at
RETURNING id

-- name: apps_touch
UPDATE apps SET synced_at = %(now)s, sync_error = NULL WHERE id = %(id)s

-- name: apps_set_error
UPDATE apps SET sync_error = %(error)s WHERE url = %(url)s

-- name: functions_upsert
INSERT INTO functions (id, app_id, slug, name, url, max_attempts, config, version, archived_at,
                       created_at, updated_at)
VALUES (%(id)s, %(app_id)s, %(slug)s, %(name)s, %(url)s, %(max_attempts)s, %(config)s, 1, NULL,
        %(now)s, %(now)s)
ON CONFLICT (slug) DO UPDATE SET
    app_id = EXCLUDED.app_id, name = EXCLUDED.name, url = EXCLUDED.url,
    max_attempts = EXCLUDED.max_attempts, config = EXCLUDED.config, archived_at = NULL,
    -- A new version only when something the runs depend on changed.
    version = functions.version + CASE
        WHEN functions.config = EXCLUDED.config AND functions.url = EXCLUDED.url
             AND functions.archived_at IS NULL THEN 0 ELSE 1 END,
    updated_at = EXCLUDED.updated_at
RETURNING id

-- name: functions_archive_missing
UPDATE functions SET archived_at = %(now)s
WHERE app_id = %(app_id)s AND archived_at IS NULL AND NOT (slug = ANY(%(slugs)s))
RETURNING id, slug

-- name: triggers_delete_for
DELETE FROM triggers WHERE function_id = ANY(%(function_ids)s)

-- name: triggers_insert
INSERT INTO triggers (function_id, event_name, wildcard, expression)
SELECT * FROM unnest(CAST(%(function_ids)s AS uuid[]), CAST(%(event_names)s AS text[]),
                     CAST(%(wildcards)s AS boolean[]), CAST(%(expressions)s AS text[]))

-- name: apps_list
SELECT a.id, a.name, a.url, a.sdk_language, a.sdk_version, a.framework, a.app_version,
       a.sync_error, a.created_at, a.synced_at,
       (SELECT count(*) FROM functions f WHERE f.app_id = a.id AND f.archived_at IS NULL)
           AS function_count
FROM apps a ORDER BY a.name

-- name: apps_urls
SELECT url FROM apps ORDER BY name
