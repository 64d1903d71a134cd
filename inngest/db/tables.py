"""The schema of record: SQLAlchemy Core tables. Alembic revisions are checked against these.

Ids: runs and events use ULID text (sortable, what the SDKs see); apps and functions use uuids;
queue items a bigint identity (the hot table wants a narrow key).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_now = sa.text("now()")
TS = sa.DateTime(timezone=True)

apps = sa.Table(
    "apps",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),  # the SDK's app id
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("sdk_language", sa.Text, nullable=False, server_default=""),
    sa.Column("sdk_version", sa.Text, nullable=False, server_default=""),
    sa.Column("framework", sa.Text, nullable=False, server_default=""),
    sa.Column("app_version", sa.Text),
    sa.Column("checksum", sa.Text, nullable=False, server_default=""),
    sa.Column("sync_error", sa.Text),
    sa.Column("created_at", TS, nullable=False, server_default=_now),
    sa.Column("synced_at", TS, nullable=False, server_default=_now),
)

functions = sa.Table(
    "functions",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("app_id", pg.UUID(as_uuid=True), sa.ForeignKey("apps.id"), nullable=False),
    sa.Column("slug", sa.Text, nullable=False, unique=True),  # composite id <app>-<fn>
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("url", sa.Text, nullable=False),  # steps.step.runtime.url, called verbatim
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("config", pg.JSONB, nullable=False),  # the register object, kept whole
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("archived_at", TS),
    sa.Column("created_at", TS, nullable=False, server_default=_now),
    sa.Column("updated_at", TS, nullable=False, server_default=_now),
)

# One row per event trigger of an active function. A wildcard `app/*` stores its prefix and
# wildcard=true; exact names use the btree on event_name.
triggers = sa.Table(
    "triggers",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column(
        "function_id",
        pg.UUID(as_uuid=True),
        sa.ForeignKey("functions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("event_name", sa.Text, nullable=False),
    sa.Column("wildcard", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("expression", sa.Text),
    sa.Index("ix_triggers_event_name", "event_name"),
    sa.Index("ix_triggers_function_id", "function_id"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("internal_id", sa.Text, primary_key=True),  # ULID returned by POST /e/{key}
    sa.Column("id", sa.Text, nullable=False),  # user id, or internal_id when none given
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("data", pg.JSONB, nullable=False),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Column("user", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("v", sa.Text),
    sa.Column("received_at", TS, nullable=False, server_default=_now),
    sa.Index("ix_events_name_received_at", "name", "received_at"),
    sa.Index("ix_events_received_at", "received_at"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),  # ULID
    sa.Column("function_id", pg.UUID(as_uuid=True), sa.ForeignKey("functions.id"), nullable=False),
    sa.Column("function_version", sa.Integer, nullable=False),
    sa.Column("event_ids", pg.ARRAY(sa.Text), nullable=False),  # internal ids, in order
    # Scheduled -> Running -> Completed | Failed | Cancelled
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("output", pg.JSONB),
    sa.Column("error", pg.JSONB),
    sa.Column("request_version", sa.Integer, nullable=False, server_default="-1"),
    sa.Column("disable_immediate", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("step_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("original_run_id", sa.Text),  # set on re-runs
    sa.Column("cancelled_by", sa.Text),
    sa.Column("state_bytes", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("skip_reason", sa.Text),  # why a Skipped run never ran (rate limit, singleton)
    sa.Column("singleton_key", sa.Text),
    sa.Column("created_at", TS, nullable=False, server_default=_now),
    sa.Column("started_at", TS),
    sa.Column("ended_at", TS),
    sa.Index("ix_runs_function_id_id", "function_id", "id"),
    sa.Index("ix_runs_status_id", "status", "id"),
    sa.Index("ix_runs_event_ids", "event_ids", postgresql_using="gin"),
    sa.Index(
        "ix_runs_singleton",
        "function_id",
        "singleton_key",
        postgresql_where=sa.text(
            "singleton_key IS NOT NULL AND status IN ('Scheduled', 'Running')"
        ),
    ),
)

# The memo. The primary key is what makes a step's result recorded exactly once.
steps = sa.Table(
    "steps",
    metadata,
    sa.Column("run_id", sa.Text, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("step_id", sa.Text, primary_key=True),  # hashed id from the SDK
    sa.Column("position", sa.Integer, nullable=False),  # completion order (the stack)
    sa.Column("name", sa.Text, nullable=False),  # display name
    sa.Column("op", sa.Text, nullable=False),
    # exactly what the SDK gets back: {"data": ...}, {"error": ...} or null
    sa.Column("memo", pg.JSONB),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
    sa.Column("started_at", TS),
    sa.Column("created_at", TS, nullable=False, server_default=_now),
)

# Every SDK call made for a run: the run's history and its dead-letter record.
attempts = sa.Table(
    "attempts",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("run_id", sa.Text, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("target_step", sa.Text, nullable=False),  # "step" or a planned step's hash
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("started_at", TS, nullable=False),
    sa.Column("ended_at", TS, nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("outcome", sa.Text, nullable=False),  # ops / completed / error
    sa.Column("error", pg.JSONB),
    sa.Column("retry_at", TS),
    sa.Index("ix_attempts_run_id_id", "run_id", "id"),
)

# A function's run for an idempotency key (event id by default), for the dedup window.
run_keys = sa.Table(
    "run_keys",
    metadata,
    sa.Column("function_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("created_at", TS, nullable=False, server_default=_now),
)

# The hot work queue. A claim moves available_at to the lease's expiry, so one range condition
# (available_at <= now) finds both due items and items whose lease ran out.
queue_items = sa.Table(
    "queue_items",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("partition_key", sa.Text),  # e.g. a run id: lets callers find a run's items
    sa.Column("priority", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("available_at", TS, nullable=False, server_default=_now),
    sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
    sa.Column("payload", pg.JSONB, nullable=False),
    sa.Column("lease_token", pg.UUID(as_uuid=True)),
    sa.Column("claimed_at", TS),
    sa.Column("created_at", TS, nullable=False, server_default=_now),
    # Items parked until a resource frees up (a concurrency slot); open_gate wakes one, in
    # gate_order (the item's due time before it was parked, which carries its priority).
    sa.Column("gate_key", sa.Text),
    sa.Column("gate_order", TS),
    # Fairness group (a function): claims take items round-robin across groups.
    sa.Column("group_key", sa.Text, nullable=False, server_default=""),
    sa.Index("ix_queue_items_claim", sa.text("priority DESC"), "available_at", "id"),
    sa.Index("ix_queue_items_partition_key", "partition_key"),
    sa.Index("ix_queue_items_group", "group_key", sa.text("priority DESC"), "available_at", "id"),
    sa.Index(
        "ix_queue_items_gate_key",
        "gate_key",
        "available_at",
        postgresql_where=sa.text("gate_key IS NOT NULL"),
    ),
)

# Every wait is a row: waitForEvent, step.invoke and cancelOn matchers. Consuming one is a
# DELETE ... RETURNING, so exactly one of "matching event", "invoke result" and "timeout" wins.
pauses = sa.Table(
    "pauses",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("run_id", sa.Text, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),  # wait | invoke | cancel
    sa.Column("step_id", sa.Text),  # the hashed step the pause resolves (wait, invoke)
    sa.Column("step_name", sa.Text),
    sa.Column("event_name", sa.Text),  # wait and cancel match incoming events by name
    sa.Column("expression", sa.Text),  # `event` = the run's first event, `async` = incoming
    sa.Column("origin_event", pg.JSONB),  # the run's first event, bound as `event`
    sa.Column("correlation_id", sa.Text),  # invoke: <parent run id>.<step id>
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("timeout_item_id", sa.BigInteger),  # the queue item that fires at expires_at
    sa.Column("created_at", TS, nullable=False, server_default=_now),
    sa.Index(
        "ix_pauses_event_name", "event_name", postgresql_where=sa.text("event_name IS NOT NULL")
    ),
    sa.Index(
        "ix_pauses_correlation_id",
        "correlation_id",
        unique=True,
        postgresql_where=sa.text("correlation_id IS NOT NULL"),
    ),
    sa.Index("ix_pauses_run_id", "run_id"),
)

# The ordered story of a run, for the API and the dashboard: scheduled, started, each step,
# sleeps, waits, invokes, resumptions, cancellation and the end.
run_history = sa.Table(
    "run_history",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("run_id", sa.Text, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("step_id", sa.Text),
    sa.Column("step_name", sa.Text),
    sa.Column("attempt", sa.Integer),
    sa.Column("data", pg.JSONB),
    sa.Index("ix_run_history_run_id_id", "run_id", "id"),
)

# Flow control without Redis (inngest.coord.pg_limits). Both tables hold state that can be
# rebuilt (leases are re-asserted by every worker heartbeat; a lost bucket admits a little early),
# so they are written with synchronous_commit off. Only the primary keys are indexed: every hot
# statement looks rows up by key, and updates that touch no index stay HOT.

# Concurrency leases: one row per (key, holder); live while expires_at > now.
coord_slots = sa.Table(
    "coord_slots",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("holder", sa.Text, primary_key=True),
    sa.Column("expires_at", TS, nullable=False),
)

# Throttle and rate-limit GCRA buckets: the theoretical arrival time per key ("throttle:<key>",
# "rate:<key>"); a bucket whose tat has passed is full, the same as no row.
coord_buckets = sa.Table(
    "coord_buckets",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("tat", TS, nullable=False),
)

# Debounce and batching (inngest.ingest.buffers, PROTOCOL.md §6.10, §6.11): events held until
# they become one run. Each row is the whole state of one pending buffer of one function and key
# value, and `item_id` is the queue item that fires it, written in the same transaction; so a
# restart loses nothing. Both are keyed by (function, key hash): every statement on them looks
# one row up by its primary key.

# A debounce: the latest event, waiting for a quiet period. Each new event replaces event_id and
# moves due_at (and its item) to min(now + period, first_at + timeout).
debounces = sa.Table(
    "debounces",
    metadata,
    sa.Column(
        "function_id",
        pg.UUID(as_uuid=True),
        sa.ForeignKey("functions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key_hash", sa.Text, primary_key=True),  # "" without a key expression
    sa.Column("id", sa.Text, nullable=False),  # ULID; the run's idempotency key is debounce:<id>
    sa.Column("event_id", sa.Text, nullable=False),  # internal id of the latest event
    sa.Column("first_at", TS, nullable=False),
    sa.Column("due_at", TS, nullable=False),
    sa.Column("item_id", sa.BigInteger, nullable=False),
)

# An open batch: its events in arrival order, flushed at created_at + timeout unless maxSize
# fills it first.
event_batches = sa.Table(
    "event_batches",
    metadata,
    sa.Column(
        "function_id",
        pg.UUID(as_uuid=True),
        sa.ForeignKey("functions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key_hash", sa.Text, primary_key=True),  # "" without a key expression
    sa.Column("id", sa.Text, nullable=False),  # ULID; the run's idempotency key is batch:<id>
    sa.Column("event_ids", pg.ARRAY(sa.Text), nullable=False),  # internal ids, in order
    sa.Column("created_at", TS, nullable=False),  # the first event's arrival
    sa.Column("item_id", sa.BigInteger, nullable=False),
)
