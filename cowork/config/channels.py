"""Settings of the outbound channels: operators' webhooks and member notifications."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cowork.config.values import ConfigError, env_flag, env_float, env_int


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """Outgoing webhooks (cowork/integrations, docs/webhooks.md)."""

    # A failed delivery waits base * 2^(n-1) (capped) before try n+1, and is given up once the
    # next try would fall after the window; an endpoint failing a whole window is disabled.
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 6 * 3600.0
    retry_window_seconds: float = 3 * 24 * 3600.0
    timeout_seconds: float = 10.0  # per request; a slower receiver counts as failed
    concurrency: int = 16  # requests in flight per node
    retention_days: int = 30  # the delivery log (and what a range replay can reach)
    poll_seconds: float = 1.0  # how often a node looks for due retries and replays
    lease_seconds: float = 60.0  # a node that dies mid-send frees its deliveries after this
    consumer: str = "cowork-webhooks"  # the JetStream durable every node pulls from

    @classmethod
    def read(cls, environ: Mapping[str, str]) -> WebhookSettings:
        d = cls()
        return cls(
            retry_base_seconds=env_float(
                environ, "COWORK_WEBHOOK_RETRY_BASE_SECONDS", d.retry_base_seconds
            ),
            retry_max_seconds=env_float(
                environ, "COWORK_WEBHOOK_RETRY_MAX_SECONDS", d.retry_max_seconds
            ),
            retry_window_seconds=env_float(
                environ, "COWORK_WEBHOOK_RETRY_WINDOW_SECONDS", d.retry_window_seconds
            ),
            timeout_seconds=env_float(environ, "COWORK_WEBHOOK_TIMEOUT_SECONDS", d.timeout_seconds),
            concurrency=env_int(environ, "COWORK_WEBHOOK_CONCURRENCY", d.concurrency),
            retention_days=env_int(environ, "COWORK_WEBHOOK_RETENTION_DAYS", d.retention_days),
        )

    def to_env(self) -> dict[str, str]:
        return {
            "COWORK_WEBHOOK_RETRY_BASE_SECONDS": str(self.retry_base_seconds),
            "COWORK_WEBHOOK_RETRY_MAX_SECONDS": str(self.retry_max_seconds),
            "COWORK_WEBHOOK_RETRY_WINDOW_SECONDS": str(self.retry_window_seconds),
            "COWORK_WEBHOOK_TIMEOUT_SECONDS": str(self.timeout_seconds),
            "COWORK_WEBHOOK_CONCURRENCY": str(self.concurrency),
            "COWORK_WEBHOOK_RETENTION_DAYS": str(self.retention_days),
        }

    def checked(self) -> WebhookSettings:
        if self.concurrency < 1:
            raise ConfigError("COWORK_WEBHOOK_CONCURRENCY must be at least 1")
        if self.retry_base_seconds <= 0 or self.timeout_seconds <= 0:
            raise ConfigError("webhook retry base and timeout must be positive")
        if self.retention_days < 1:
            raise ConfigError("COWORK_WEBHOOK_RETENTION_DAYS must be at least 1")
        return self


SMTP_TLS_MODES = ("starttls", "tls", "none")


@dataclass(frozen=True, slots=True)
class NotifySettings:
    """Push and e-mail delivery (cowork/notify, docs/push.md). An unset provider is off."""

    public_url: str = "http://127.0.0.1:8000"  # links in e-mails and pushes
    vapid_private_key: str = ""
    vapid_subject: str = "mailto:ops@cowork.invalid"  # RFC 8292 contact for push services
    push_hosts: tuple[str, ...] = ()  # allow-list of Web Push hosts (`*.example.com` ok)
    fcm_credentials_file: str = ""  # service-account JSON
    fcm_api_base: str = "https://fcm.googleapis.com"
    apns_key_file: str = ""  # the .p8 signing key
    apns_key_id: str = ""
    apns_team_id: str = ""
    apns_topic: str = ""  # default bundle id when a device names none
    apns_host: str = "https://api.push.apple.com"
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_tls: str = "starttls"
    smtp_user: str = ""
    smtp_password: str = ""
    mail_from: str = ""
    consumer: str = "cowork-notify"  # JetStream durable shared by every node
    ack_wait_seconds: float = 30.0
    max_in_flight: int = 64  # events being handled per node
    concurrency: int = 16  # requests in flight per provider per node
    send_timeout_seconds: float = 10.0
    lease_seconds: float = 60.0  # a node that dies mid-send frees its deliveries after this
    poll_seconds: float = 1.0  # how often held and retried deliveries are looked for
    max_attempts: int = 8
    default_ttl_seconds: int = 24 * 3600
    retention_seconds: float = 7 * 24 * 3600.0  # delivery log kept (and dedupe) this long
    # Off: this node delivers nothing (another node does); its device endpoints still work.
    worker: bool = True

    @classmethod
    def read(cls, environ: Mapping[str, str]) -> NotifySettings:
        """As the environment gives them, unchecked (`Settings.checked` checks them)."""
        d = cls()
        return cls(
            public_url=environ.get("COWORK_PUBLIC_URL", d.public_url).rstrip("/"),
            vapid_private_key=environ.get("VAPID_PRIVATE_KEY", ""),
            vapid_subject=environ.get("VAPID_SUBJECT", d.vapid_subject),
            push_hosts=tuple(
                h.strip() for h in environ.get("COWORK_PUSH_HOSTS", "").split(",") if h.strip()
            ),
            fcm_credentials_file=environ.get("FCM_CREDENTIALS_FILE", ""),
            fcm_api_base=environ.get("FCM_API_BASE", d.fcm_api_base).rstrip("/"),
            apns_key_file=environ.get("APNS_KEY_FILE", ""),
            apns_key_id=environ.get("APNS_KEY_ID", ""),
            apns_team_id=environ.get("APNS_TEAM_ID", ""),
            apns_topic=environ.get("APNS_TOPIC", ""),
            apns_host=environ.get("APNS_HOST", d.apns_host).rstrip("/"),
            smtp_host=environ.get("SMTP_HOST", ""),
            smtp_port=env_int(environ, "SMTP_PORT", d.smtp_port),
            smtp_tls=environ.get("SMTP_TLS", d.smtp_tls).lower(),
            smtp_user=environ.get("SMTP_USER", ""),
            smtp_password=environ.get("SMTP_PASSWORD", ""),
            mail_from=environ.get("MAIL_FROM", ""),
            concurrency=env_int(environ, "COWORK_NOTIFY_CONCURRENCY", d.concurrency),
            worker=env_flag(environ, "COWORK_NOTIFY_WORKER", d.worker),
        )

    def to_env(self) -> dict[str, str]:
        """The variables `read` turns back into these settings (for a child node)."""
        return {
            "COWORK_PUBLIC_URL": self.public_url,
            "VAPID_PRIVATE_KEY": self.vapid_private_key,
            "VAPID_SUBJECT": self.vapid_subject,
            "COWORK_PUSH_HOSTS": ",".join(self.push_hosts),
            "FCM_CREDENTIALS_FILE": self.fcm_credentials_file,
            "FCM_API_BASE": self.fcm_api_base,
            "APNS_KEY_FILE": self.apns_key_file,
            "APNS_KEY_ID": self.apns_key_id,
            "APNS_TEAM_ID": self.apns_team_id,
            "APNS_TOPIC": self.apns_topic,
            "APNS_HOST": self.apns_host,
            "SMTP_HOST": self.smtp_host,
            "SMTP_PORT": str(self.smtp_port),
            "SMTP_TLS": self.smtp_tls,
            "SMTP_USER": self.smtp_user,
            "SMTP_PASSWORD": self.smtp_password,
            "MAIL_FROM": self.mail_from,
            "COWORK_NOTIFY_CONCURRENCY": str(self.concurrency),
            "COWORK_NOTIFY_WORKER": "on" if self.worker else "off",
        }

    def checked(self) -> NotifySettings:
        if self.smtp_tls not in SMTP_TLS_MODES:
            raise ConfigError(f"SMTP_TLS must be one of {', '.join(SMTP_TLS_MODES)}")
        if self.smtp_host and not self.mail_from:
            raise ConfigError("MAIL_FROM is required when SMTP_HOST is set")
        apns = (self.apns_key_file, self.apns_key_id, self.apns_team_id)
        if any(apns) and not all(apns):
            raise ConfigError("APNs needs APNS_KEY_FILE, APNS_KEY_ID and APNS_TEAM_ID together")
        if self.vapid_private_key and not self.vapid_subject.startswith(("mailto:", "https:")):
            raise ConfigError("VAPID_SUBJECT must be a mailto: or https: URL")
        if self.concurrency < 1:
            raise ConfigError("COWORK_NOTIFY_CONCURRENCY must be at least 1")
        return self

    @property
    def webpush_enabled(self) -> bool:
        return bool(self.vapid_private_key)

    @property
    def fcm_enabled(self) -> bool:
        return bool(self.fcm_credentials_file)

    @property
    def apns_enabled(self) -> bool:
        return bool(self.apns_key_file)

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host)

    @property
    def any_channel(self) -> bool:
        return self.webpush_enabled or self.fcm_enabled or self.apns_enabled or self.email_enabled

    def __repr__(self) -> str:  # keys and passwords never reach a log line
        return "NotifySettings(...)"
