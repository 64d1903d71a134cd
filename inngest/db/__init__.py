"""PostgreSQL plumbing shared by store and queue: tables, pool, named SQL, migrations."""
