"""The whole schema, in SQLAlchemy Core, shared by SQLite and PostgreSQL.

Times are stored as float unix seconds (UTC): they compare and index the same way
on both databases and need no timezone handling. Structured Tencent payloads that
are only ever read back whole (metadata, task inputs, results, event bodies) are
JSON text; anything queried or filtered on has its own column.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

# Applications (SubAppId) and their event configuration.
apps = Table(
    "apps",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(64), nullable=False),
    Column("description", String(400), nullable=False, default=""),
    Column("status", String(16), nullable=False, default="On"),
    Column("mode", String(16), nullable=False, default="fileid"),
    Column("create_time", Float, nullable=False),
    Column("update_time", Float, nullable=False),
    Column("event_mode", String(8), nullable=False, default="PULL"),
    Column("notification_url", String(2048), nullable=False, default=""),
    Column("upload_event_switch", String(4), nullable=False, default="OFF"),
    Column("delete_event_switch", String(4), nullable=False, default="OFF"),
    Column("sign_key", String(64), nullable=False, default=""),
)

# Credentials vodflow issued itself (temporary ones, with a token). The root
# credential comes from the settings and is never stored here.
credentials = Table(
    "credentials",
    metadata,
    Column("secret_id", String(64), primary_key=True),
    Column("secret_key", String(128), nullable=False),
    Column("token", String(256), nullable=False),
    # 'api': good for signed API calls; 'cos': good only for one upload session.
    Column("scope", String(8), nullable=False),
    Column("app_id", BigInteger, nullable=True),
    Column("session_key", String(128), nullable=True),
    Column("expires_at", Float, nullable=False),
    Column("create_time", Float, nullable=False),
)

media = Table(
    "media",
    metadata,
    Column("file_id", String(32), primary_key=True),
    Column("app_id", BigInteger, ForeignKey("apps.id"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("description", String(512), nullable=False, default=""),
    Column("type", String(16), nullable=False),
    Column("class_id", Integer, nullable=False, default=0),
    Column("blob_key", String(512), nullable=False),
    # Unguessable component of every URL served for this media.
    Column("url_token", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("md5", String(32), nullable=False),
    Column("meta", JSON, nullable=True),
    Column("cover_key", String(512), nullable=True),
    Column("source_info", JSON, nullable=True),
    Column("storage_region", String(32), nullable=False, default="ap-local"),
    Column("create_time", Float, nullable=False),
    Column("update_time", Float, nullable=False),
    Column("expire_time", Float, nullable=True),
    # The source's whole probe at ingest (media.probe.stored_probe), so that ops
    # need not probe it again; NULL for rows of earlier revisions.
    Column("probe", JSON, nullable=True),
    Index("ix_media_app_create", "app_id", "create_time"),
    Index("ix_media_expire", "expire_time"),
    Index("ix_media_app_class", "app_id", "class_id"),
)

# Media categories (CreateClass): a tree of up to four levels per application.
# Class 0 is Tencent's default category ("其他") and has no row; a top-level
# class has parent_id -1, as Tencent shows it.
classes = Table(
    "classes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app_id", BigInteger, ForeignKey("apps.id"), nullable=False),
    Column("parent_id", Integer, nullable=False),
    Column("name", String(64), nullable=False),
    Column("level", Integer, nullable=False),
    Column("create_time", Float, nullable=False),
    Index("ix_classes_app_parent", "app_id", "parent_id"),
)

# Outputs of processing registered on a media: transcodes, snapshots, sprites...
# (kind, definition) is unique per media so a re-run replaces, never duplicates.
media_outputs = Table(
    "media_outputs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("file_id", String(32), ForeignKey("media.file_id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("definition", BigInteger, nullable=False),
    Column("info", JSON, nullable=False),
    Column("blob_keys", JSON, nullable=False),
    Column("create_time", Float, nullable=False),
    UniqueConstraint("file_id", "kind", "definition", name="uq_media_output"),
)

# Subtitles of a media (ModifyMediaInfo AddSubtitles): the file is a blob under the
# media's folder, kept as the caller sent it (WebVTT or SRT, validated). Ids are the
# caller's or generated, unique per media; `id` orders them as they were added.
media_subtitles = Table(
    "media_subtitles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("file_id", String(32), ForeignKey("media.file_id", ondelete="CASCADE"), nullable=False),
    Column("subtitle_id", String(16), nullable=False),
    Column("name", String(64), nullable=False),
    Column("language", String(35), nullable=False),
    Column("format", String(8), nullable=False),
    Column("blob_key", String(512), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("create_time", Float, nullable=False),
    UniqueConstraint("file_id", "subtitle_id", name="uq_media_subtitle"),
)

upload_sessions = Table(
    "upload_sessions",
    metadata,
    Column("session_key", String(128), primary_key=True),
    Column("app_id", BigInteger, ForeignKey("apps.id"), nullable=False),
    Column("media_type", String(16), nullable=False),
    Column("media_name", String(256), nullable=False, default=""),
    Column("cover_type", String(16), nullable=True),
    Column("procedure", String(64), nullable=True),
    Column("session_context", String(1000), nullable=True),
    Column("source_context", String(250), nullable=True),
    Column("class_id", Integer, nullable=False, default=0),
    Column("media_expire_time", Float, nullable=True),
    # The flow options a client upload signature carries (taskPriority, taskNotifyMode).
    Column("task_priority", Integer, nullable=True),
    Column("task_notify_mode", String(8), nullable=True),
    Column("media_key", String(512), nullable=False),
    Column("cover_key", String(512), nullable=True),
    Column("state", String(16), nullable=False, default="PENDING"),
    Column("file_id", String(32), nullable=True),
    Column("create_time", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    # The CommitUpload under way (state COMMITTING): who runs it, until when. A
    # commit whose owner died or whose claim expired is taken over by a retry.
    Column("commit_owner", String(64), nullable=True),
    Column("commit_until", Float, nullable=True),
)

# Client upload signatures with oneTimeValid=1 that were used, kept until they expire.
spent_upload_signatures = Table(
    "spent_upload_signatures",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("expires_at", Float, nullable=False),
    Index("ix_spent_upload_signatures_expiry", "expires_at"),
)

multipart_uploads = Table(
    "multipart_uploads",
    metadata,
    Column("upload_id", String(64), primary_key=True),
    Column("session_key", String(128), nullable=False),
    Column("object_key", String(512), nullable=False),
    Column("create_time", Float, nullable=False),
)

tasks = Table(
    "tasks",
    metadata,
    Column("task_id", String(96), primary_key=True),
    Column("app_id", BigInteger, ForeignKey("apps.id"), nullable=False),
    # 'Procedure' or 'PullUpload'.
    Column("type", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("file_id", String(32), nullable=True),
    Column("priority", Integer, nullable=False, default=0),
    Column("notify_mode", String(16), nullable=False, default="Finish"),
    Column("session_context", Text, nullable=True),
    Column("session_id", String(64), nullable=True),
    Column("ext_info", Text, nullable=True),
    Column("err_code", Integer, nullable=False, default=0),
    Column("err_code_ext", String(64), nullable=False, default=""),
    Column("message", Text, nullable=False, default=""),
    # The request as given (MediaProcessTask, PullUpload parameters...).
    Column("input", JSON, nullable=True),
    # Type-specific outcome (e.g. PullUpload's FileId/MediaBasicInfo).
    Column("output", JSON, nullable=True),
    Column("create_time", Float, nullable=False),
    Column("begin_time", Float, nullable=True),
    Column("finish_time", Float, nullable=True),
    # Tasks that are one job each (PullUpload, EditMedia, SplitMedia,
    # DescribeFileAttributes): who runs it until when, when its message was last
    # sent, how many runs claimed it (Procedure tasks keep these on their subtasks).
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", Float, nullable=True),
    Column("enqueued_at", Float, nullable=True),
    Column("attempts", Integer, nullable=False, default=0, server_default=text("0")),
    Index("ix_tasks_app_create", "app_id", "create_time"),
    Index("ix_tasks_app_status", "app_id", "status"),
    Index("ix_tasks_file", "file_id"),
)

subtasks = Table(
    "subtasks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("task_id", String(96), ForeignKey("tasks.task_id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    # Tencent's MediaProcessTaskResult.Type, e.g. 'Transcode', 'CoverBySnapshot'.
    Column("type", String(32), nullable=False),
    Column("input", JSON, nullable=False),
    Column("status", String(16), nullable=False, default="WAITING"),
    Column("progress", Integer, nullable=False, default=0),
    Column("err_code", Integer, nullable=False, default=0),
    Column("err_code_ext", String(64), nullable=False, default=""),
    Column("message", Text, nullable=False, default=""),
    Column("output", JSON, nullable=True),
    Column("priority", Integer, nullable=False, default=0),
    Column("attempts", Integer, nullable=False, default=0),
    # Lease: who runs it and until when. An expired lease is re-run by the sweeper.
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", Float, nullable=True),
    # When a queue message (a hint) was last sent for it: the sweeper re-sends
    # the hint of a runnable subtask nobody took, once per period (runtime/sweeper.py).
    Column("enqueued_at", Float, nullable=True),
    Column("create_time", Float, nullable=False),
    Column("begin_time", Float, nullable=True),
    Column("finish_time", Float, nullable=True),
    Index("ix_subtasks_task", "task_id", "seq"),
    Index("ix_subtasks_claim", "status", "priority", "id"),
)

# SessionId de-duplication window (3 days) per application.
task_sessions = Table(
    "task_sessions",
    metadata,
    Column("app_id", BigInteger, primary_key=True),
    Column("session_id", String(64), primary_key=True),
    Column("task_id", String(96), nullable=False),
    Column("create_time", Float, nullable=False),
)

# The transactional outbox: one row per event, written in the transaction of the
# change that causes it. 'mode' is fixed when the event is written (PUSH/PULL).
# Ids are 64-bit on PostgreSQL; on SQLite the column must stay INTEGER to be the rowid.
EventId = BigInteger().with_variant(Integer(), "sqlite")
events = Table(
    "events",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("app_id", BigInteger, nullable=False),
    Column("event_type", String(48), nullable=False),
    Column("body", Text, nullable=False),
    Column("mode", String(8), nullable=False),
    Column("create_time", Float, nullable=False),
    # PULL: the lease state lives in `pull_leases` (one narrow row per event).
    # PUSH: PENDING -> DELIVERED | FAILED; next_attempt_at doubles as the relay's
    # claim (pushed past the attempt's timeout while it is in flight).
    Column("delivery_status", String(16), nullable=True),
    # PUSH: attempts made (PULL: times pulled is pull_leases.attempts).
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float, nullable=True),
    Column("delivered_at", Float, nullable=True),
    # A partial index: only live rows are indexed, so a claim reads the first few
    # entries whatever the number of events delivered or in flight.
    Index(
        "ix_events_push",
        "next_attempt_at",
        sqlite_where=text("delivery_status = 'PENDING'"),
        postgresql_where=text("delivery_status = 'PENDING'"),
    ),
    Index("ix_events_app_time", "app_id", "create_time"),
)

# The PULL queue's lease state, one narrow row per PULL event (migration 0011): a
# claim and a confirmation rewrite these ~50-byte rows, not the ~1.5 KB event rows
# (on SQLite, 16 tiny rows share a page where 16 events span eight).
pull_leases = Table(
    "pull_leases",
    metadata,
    Column(
        "event_id",
        EventId,
        ForeignKey("events.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("app_id", BigInteger, nullable=False),
    # When the event may next be pulled (a lease pushes it into the future; NULL once
    # confirmed), the random part of its current EventHandle, when it was confirmed.
    Column("visible_at", Float, nullable=True),
    Column("handle", String(64), nullable=True),
    Column("confirmed_at", Float, nullable=True),
    Column("attempts", Integer, nullable=False, default=0, server_default=text("0")),
    # Live rows only, so a claim reads the first few entries whatever the number of
    # events confirmed or leased. The claim's ORDER BY is (visible_at, event_id): with
    # event_id in the index its order is the claim's, so the plan does not hang on
    # statistics (migration 0009 for the same index when it was on `events`).
    Index(
        "ix_pull_leases_live",
        "app_id",
        "visible_at",
        "event_id",
        sqlite_where=text("confirmed_at IS NULL AND visible_at IS NOT NULL"),
        postgresql_where=text("confirmed_at IS NULL AND visible_at IS NOT NULL"),
    ),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("event_id", EventId, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("attempt_time", Float, nullable=False),
    Column("url", String(2048), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("latency_ms", Float, nullable=True),
    Column("error", Text, nullable=True),
    Column("response_head", Text, nullable=True),
    Index("ix_attempts_event", "event_id"),
)

# Templates created by users (presets live in code, not here).
templates = Table(
    "templates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app_id", BigInteger, nullable=False),
    # 'Transcode', 'SnapshotByTimeOffset', 'SampleSnapshot', 'ImageSprite',
    # 'AnimatedGraphics', 'AdaptiveDynamicStreaming'.
    Column("kind", String(32), nullable=False),
    Column("definition", BigInteger, nullable=False),
    Column("name", String(128), nullable=False, default=""),
    Column("comment", String(512), nullable=False, default=""),
    Column("params", JSON, nullable=False),
    Column("create_time", Float, nullable=False),
    Column("update_time", Float, nullable=False),
    UniqueConstraint("kind", "definition", name="uq_template_definition"),
)

procedure_templates = Table(
    "procedure_templates",
    metadata,
    Column("app_id", BigInteger, primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("comment", String(512), nullable=False, default=""),
    Column("media_process_task", JSON, nullable=True),
    Column("create_time", Float, nullable=False),
    Column("update_time", Float, nullable=False),
)


# Fault injection rules (test-only, `vodflow serve --faults`): in the database so that
# every process of a scaled deployment (Celery workers, API replicas) sees them.
fault_rules = Table(
    "fault_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rule_id", String(32), nullable=False, unique=True),
    Column("app_id", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("match", JSON, nullable=False),
    Column("params", JSON, nullable=False),
    # How many more times it may fire (NULL: no limit), and how often it did.
    Column("remaining", Integer, nullable=True),
    Column("fired", Integer, nullable=False, default=0),
    Column("probability", Float, nullable=True),
    Column("seed", BigInteger, nullable=False),
    # Draws taken from the seeded generator so far (the next one is draw number `draws`).
    Column("draws", Integer, nullable=False, default=0),
    Column("expire_at", Float, nullable=True),
    Column("create_time", Float, nullable=False),
    Index("ix_fault_rules_app", "app_id", "kind"),
)

# What fired: DescribeFaultRules' FiredSet; target_key makes a rule fire once per target.
fault_firings = Table(
    "fault_firings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app_id", BigInteger, nullable=False),
    Column("rule_id", String(32), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("time", Float, nullable=False),
    Column("target_key", String(128), nullable=False),
    Column("ids", JSON, nullable=False),
    Index("ix_fault_firings_rule", "rule_id", "target_key"),
    Index("ix_fault_firings_app", "app_id"),
)
