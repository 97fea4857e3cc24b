"""One Settings object, read from the environment (VODFLOW_*) and CLI flags.

Nothing else in the service (`vodflow serve`, `vodflow worker` and everything they
build) reads VODFLOW_* variables: every module is handed the values it needs,
which keeps tests free to build any configuration in-process.

The client side is the one exception, because it is not the service:
`vodflow.client` (the SDK client of the CLI commands) reads VODFLOW_ENDPOINT,
VODFLOW_SECRET_ID, VODFLOW_SECRET_KEY and VODFLOW_DATA_DIR to find a server, and
`vodflow upload` keeps its resume state under XDG_CACHE_HOME. FFmpeg is found on
PATH (see `vodflow.media.ffmpeg`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

TRUE_WORDS = {"1", "true", "yes", "on"}


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"VODFLOW_{name}")
    return value if value not in (None, "") else default


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    return default if value is None else value.strip().lower() in TRUE_WORDS


def _env_float(name: str, default: float) -> float:
    value = _env(name)
    return default if value is None else float(value)


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    return default if value is None else int(value)


PUSH_FIRST_DELAYS_S = (5.0, 30.0, 120.0, 600.0, 1800.0)
PUSH_GIVE_UP_AFTER_S = 24 * 3600.0


def default_push_schedule() -> tuple[float, ...]:
    """5 s, 30 s, 2 min, 10 min, 30 min, then hourly; the last gap is cut short so the
    delays add up to exactly 24 h (29 retries: 5 + 23 hourly + one of 1045 s)."""
    delays = list(PUSH_FIRST_DELAYS_S)
    while sum(delays) + 3600 <= PUSH_GIVE_UP_AFTER_S:
        delays.append(3600.0)
    if (rest := PUSH_GIVE_UP_AFTER_S - sum(delays)) > 0:
        delays.append(rest)
    return tuple(delays)


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("vodflow-data")
    # Base of every URL vodflow hands out; derived from host:port when unset.
    public_url: str | None = None
    database_url: str | None = None
    blob_dir: Path | None = None
    secret_id: str | None = None
    secret_key: str | None = None
    # The account AppId: the default application's SubAppId (and so its TaskIds' prefix).
    app_id: int = 1250000000
    allow_private_urls: bool = False
    # Requests per second per SecretId and action; 0 switches the limiter off.
    rate_limit: float = 100.0
    # Tencent's TC3 POST limit (ModifyMediaInfo CoverData needs it).
    max_body_bytes: int = 10 * 1024 * 1024
    # HTTP connections (`vodflow serve`): a request head must be complete this long
    # after the connection (or the request) starts; idle keep-alive connections close
    # after keep_alive_s; at most max_connections open (lowered to fit the fd limit).
    header_timeout_s: float = 10.0
    keep_alive_s: float = 5.0
    max_connections: int = 1000
    # A repeated TC3 signature of a non-idempotent action is refused when it comes
    # later than this after the first (api/replay.py).
    replay_grace_s: float = 5.0
    tls_cert: Path | None = None
    tls_key: Path | None = None
    executor: str = "local"
    broker_url: str | None = None
    # Celery queue of this deployment (scaled); deployments sharing a Redis differ here.
    celery_queue: str = "vodflow"
    # `vodflow worker` serves /metrics on this port (0: not at all).
    metrics_port: int = 0
    workers: int = 0
    # Event windows: tests shorten them; the defaults are Tencent's.
    pull_visibility_s: float = 30.0
    pull_wait_s: float = 5.0
    event_retention_s: float = 4 * 24 * 3600.0
    push_timeout_s: float = 10.0
    push_schedule_s: tuple[float, ...] = default_push_schedule()
    # Push relay: deliveries in flight at once, and at once per NotificationUrl.
    push_concurrency: int = 256
    push_per_url: int = 16
    # How often the sweeper purges events older than event_retention_s.
    event_purge_interval_s: float = 600.0
    lease_s: float = 60.0
    # A runnable subtask whose queue message was sent this long ago and nobody took
    # is sent again (the message may be lost); the gap doubles while it waits.
    requeue_after_s: float = 60.0
    # PullUpload: downloads at once per process (their own lane: they never take a
    # media-work slot), and the average rate below which one is stopped after the grace.
    pull_concurrency: int = 4
    pull_min_rate_bps: float = 10240.0
    pull_rate_grace_s: float = 60.0
    # After SIGTERM, `vodflow serve` answers /healthz 503 this long (still serving)
    # before it stops, so a load balancer takes it out first.
    drain_s: float = 0.0
    # `vodflow worker`: the address its /metrics and /healthz listen on.
    metrics_host: str = "127.0.0.1"
    # Database connections of each process (PostgreSQL): pool and overflow.
    db_pool_size: int = 5
    db_max_overflow: int = 15
    max_upload_bytes: int = 50 * 1024**3
    log_level: str = "info"
    # Test-only: the fault injection actions (CreateFaultRule...) answer instead of
    # being refused (docs/testing-your-app.md, "Fault injection").
    faults: bool = False
    # TEST ONLY (VODFLOW_TEST_CHEAP_MEDIA=1): FFmpeg still runs, but video renditions
    # come out at most 64 px wide and at a few frames a second, while results report
    # the template's shape. Never in production: what is stored is not what it says.
    test_cheap_media: bool = False

    @property
    def scaled(self) -> bool:
        """Several processes share the work (Celery executor)."""
        return self.executor.strip().lower() == "celery"

    def scaled_refusal(self) -> str | None:
        """Why a scaled process must not start with these settings (None: it may)."""
        if self.scaled and not self.public_url:
            return (
                "VODFLOW_PUBLIC_URL is not set: a scaled deployment must set it to the URL "
                "its clients reach (the load balancer), or every URL stored would point "
                f"at {self.resolved_public_url}"
            )
        return None

    @property
    def resolved_public_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        scheme = "https" if self.tls_cert else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'vodflow.db').resolve()}"

    @property
    def resolved_blob_dir(self) -> Path:
        return (self.blob_dir or self.data_dir / "blobs").resolve()

    def with_overrides(self, **changes: Any) -> Settings:
        """Apply CLI flags that were given (None means 'not given')."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_env(cls) -> Settings:
        base = cls()
        schedule = _env("PUSH_SCHEDULE")
        return cls(
            host=_env("HOST", base.host) or base.host,
            port=_env_int("PORT", base.port),
            data_dir=Path(_env("DATA_DIR", str(base.data_dir)) or base.data_dir),
            public_url=_env("PUBLIC_URL"),
            database_url=_env("DATABASE_URL"),
            blob_dir=Path(p) if (p := _env("BLOB_DIR")) else None,
            secret_id=_env("SECRET_ID"),
            secret_key=_env("SECRET_KEY"),
            app_id=_env_int("APP_ID", base.app_id),
            allow_private_urls=_env_bool("ALLOW_PRIVATE_URLS", False),
            rate_limit=_env_float("RATE_LIMIT", base.rate_limit),
            max_body_bytes=_env_int("MAX_BODY_BYTES", base.max_body_bytes),
            header_timeout_s=_env_float("HEADER_TIMEOUT_S", base.header_timeout_s),
            keep_alive_s=_env_float("KEEP_ALIVE_S", base.keep_alive_s),
            max_connections=_env_int("MAX_CONNECTIONS", base.max_connections),
            replay_grace_s=_env_float("REPLAY_GRACE_S", base.replay_grace_s),
            tls_cert=Path(p) if (p := _env("TLS_CERT")) else None,
            tls_key=Path(p) if (p := _env("TLS_KEY")) else None,
            executor=_env("EXECUTOR", base.executor) or base.executor,
            broker_url=_env("BROKER_URL"),
            celery_queue=_env("CELERY_QUEUE", base.celery_queue) or base.celery_queue,
            metrics_port=_env_int("METRICS_PORT", base.metrics_port),
            workers=_env_int("WORKERS", base.workers),
            pull_visibility_s=_env_float("PULL_VISIBILITY_S", base.pull_visibility_s),
            pull_wait_s=_env_float("PULL_WAIT_S", base.pull_wait_s),
            event_retention_s=_env_float("EVENT_RETENTION_S", base.event_retention_s),
            push_timeout_s=_env_float("PUSH_TIMEOUT_S", base.push_timeout_s),
            push_schedule_s=(
                tuple(float(x) for x in schedule.split(",")) if schedule else base.push_schedule_s
            ),
            push_concurrency=_env_int("PUSH_CONCURRENCY", base.push_concurrency),
            push_per_url=_env_int("PUSH_PER_URL", base.push_per_url),
            event_purge_interval_s=_env_float(
                "EVENT_PURGE_INTERVAL_S", base.event_purge_interval_s
            ),
            lease_s=_env_float("LEASE_S", base.lease_s),
            requeue_after_s=_env_float("REQUEUE_AFTER_S", base.requeue_after_s),
            pull_concurrency=_env_int("PULL_CONCURRENCY", base.pull_concurrency),
            pull_min_rate_bps=_env_float("PULL_MIN_RATE_BPS", base.pull_min_rate_bps),
            pull_rate_grace_s=_env_float("PULL_RATE_GRACE_S", base.pull_rate_grace_s),
            drain_s=_env_float("DRAIN_S", base.drain_s),
            metrics_host=_env("METRICS_HOST", base.metrics_host) or base.metrics_host,
            db_pool_size=_env_int("DB_POOL_SIZE", base.db_pool_size),
            db_max_overflow=_env_int("DB_MAX_OVERFLOW", base.db_max_overflow),
            max_upload_bytes=_env_int("MAX_UPLOAD_BYTES", base.max_upload_bytes),
            log_level=_env("LOG_LEVEL", base.log_level) or base.log_level,
            faults=_env_bool("FAULTS", False),
            test_cheap_media=_env_bool("TEST_CHEAP_MEDIA", False),
        )
