from dataclasses import fields
from pathlib import Path

import pytest

from cowork.config import ConfigError, Environment, NotifySettings, Settings, WebhookSettings


def test_defaults_come_from_the_design():
    s = Settings.from_env({"COWORK_ENV": "dev", "DATABASE_URL": "postgresql://x/y"})
    assert s.env is Environment.DEV
    assert s.port == 8000
    assert s.hold_ttl_seconds == 600
    assert s.no_show_grace_seconds == 900
    assert str(s.data_dir) == ".cowork"
    assert len(s.jwt_secret) >= 32  # generated for dev


def test_environment_overrides():
    s = Settings.from_env(
        {
            "COWORK_ENV": "dev",
            "DATABASE_URL": "postgresql://x/y",
            "PORT": "9001",
            "COWORK_HOLD_TTL_SECONDS": "2",
            "COWORK_CORS_ORIGINS": "https://a.example, https://b.example",
            "COWORK_NODE_ID": "n7",
        }
    )
    assert (s.port, s.hold_ttl_seconds, s.node_id) == (9001, 2, "n7")
    assert s.cors_origins == ("https://a.example", "https://b.example")


@pytest.mark.parametrize("secret", [None, "", "change-me", "secret", "short"])
def test_production_refuses_a_missing_or_placeholder_jwt_secret(secret):
    env = {"DATABASE_URL": "postgresql://x/y"}
    if secret is not None:
        env["JWT_SECRET"] = secret
    with pytest.raises(ConfigError):
        Settings.from_env(env)


def test_production_accepts_a_real_secret_and_needs_a_database():
    with pytest.raises(ConfigError):
        Settings.from_env({"JWT_SECRET": "a-real-secret-of-enough-length"})
    s = Settings.from_env(
        {"JWT_SECRET": "a-real-secret-of-enough-length", "DATABASE_URL": "postgresql://x/y"}
    )
    assert s.is_production
    assert s.tortoise_url == "asyncpg://x/y"


def test_bad_integer_is_a_config_error():
    with pytest.raises(ConfigError):
        Settings.from_env({"COWORK_ENV": "dev", "DATABASE_URL": "x", "PORT": "eighty"})


def test_secrets_never_in_repr():
    s = Settings.from_env(
        {"JWT_SECRET": "a-real-secret-of-enough-length", "DATABASE_URL": "postgresql://u:pw@h/db"}
    )
    assert "a-real-secret" not in repr(s)
    assert "pw" not in repr(s)


def every_field_changed() -> Settings:
    """Settings in which every field differs from its default."""
    return Settings(
        env=Environment.TEST,
        database_url="postgresql://u@h/db",
        nats_url="nats://h:4222",
        jwt_secret="j" * 32,
        stripe_secret_key="sk_test_x",
        stripe_publishable_key="pk_test_x",
        stripe_webhook_secret="whsec_x",
        stripe_api_base="http://127.0.0.1:9",
        stripe_js_url="http://127.0.0.1:9/js",
        node_id="node-7",
        host="0.0.0.0",
        port=9007,
        hold_ttl_seconds=61,
        no_show_grace_seconds=62,
        expiring_soon_lead_seconds=63,
        cors_origins=("https://a.example", "https://b.example"),
        data_dir=Path("/var/lib/cowork"),
        demo_password="another-demo",
        db_pool_size=7,
        mailbox_size=8,
        group_commit_inflight=3,
        group_commit_linger_ms=1.5,
        login_attempts_per_minute=9,
        login_failures_per_address_per_minute=29,
        registrations_per_address_per_hour=19,
        password_reset_ttl_seconds=601,
        password_resets_per_address_per_hour=7,
        metrics_addresses=("10.0.0.9",),
        metrics_token="metrics-token-xyz",
        proxies_count=2,
        drain_grace_seconds=3.5,
        drain_timeout_seconds=4.5,
        shutdown_timeout_seconds=5.5,
        stop_watchdog_margin_seconds=6.5,
        timer_lease_seconds=7.5,
        timer_max_sleep_seconds=8.5,
        log_json=False,
        cluster_port=9080,
        cluster_node_port_base=9100,
        haproxy_binary="/usr/sbin/haproxy",
        haproxy_config=Path("/etc/haproxy/cowork.cfg"),
        webhooks=WebhookSettings(
            retry_base_seconds=1.5,
            retry_max_seconds=60.0,
            retry_window_seconds=3600.0,
            timeout_seconds=2.5,
            concurrency=3,
            retention_days=7,
        ),
        notify=every_notify_field_changed(),
    )


def every_notify_field_changed() -> NotifySettings:
    """Notification settings in which every field with a variable differs from its default."""
    return NotifySettings(
        public_url="https://cowork.example",
        vapid_private_key="vapid-key",
        vapid_subject="mailto:ops@cowork.example",
        push_hosts=("fcm.googleapis.com", "*.push.apple.com"),
        fcm_credentials_file="/run/fcm.json",
        fcm_api_base="http://127.0.0.1:9001",
        apns_key_file="/run/AuthKey.p8",
        apns_key_id="KID",
        apns_team_id="TEAM",
        apns_topic="dev.cowork.app",
        apns_host="https://api.sandbox.push.apple.com",
        smtp_host="smtp.example.com",
        smtp_port=465,
        smtp_tls="tls",
        smtp_user="mailer",
        smtp_password="mail-secret",
        mail_from="cowork <no-reply@cowork.example>",
        concurrency=4,
        worker=False,
    )


# Fields a child process is not given: they have no environment variable (yet).
NOT_IN_THE_ENVIRONMENT = {
    "stripe_timeout_seconds",
    "refund_retry_seconds",
    "access_token_ttl_seconds",
    "refresh_token_ttl_seconds",
    "stream_token_ttl_seconds",
    "max_body_bytes",
    "actor_idle_seconds",
    "heartbeat_seconds",
    "outbox_poll_seconds",
    "client_queue_size",
    "stream_max_age_seconds",
    "stream_max_msgs",
    "stream_max_bytes",
    "stream_duplicate_window_seconds",
    "relay_batch_size",
    "replay_max_events",
    "presence_interval_seconds",
    "checkout_ttl_seconds",
    "expiring_poll_seconds",
    "idempotency_ttl_seconds",
    "idempotency_lease_seconds",
    "ws_max_channels",
    "client_buffer_bytes",
    "read_cache_seconds",
}


def test_to_env_gives_a_child_process_the_same_settings():
    """Fault: `to_env` forgets a variable, so cluster nodes silently run on its default."""
    settings = every_field_changed()
    defaults = Settings()
    unchanged = {
        f.name
        for f in fields(Settings)
        if getattr(settings, f.name) == getattr(defaults, f.name)
        and f.name not in NOT_IN_THE_ENVIRONMENT
    }
    assert unchanged == set(), "give these fields a value in every_field_changed()"
    assert Settings.read(settings.to_env()) == settings


def test_to_env_overrides_whatever_the_parent_environment_had():
    """Fault: a parent's stray COWORK_* variable reaches a node the launcher configured."""
    inherited = {"COWORK_NODE_ID": "parent", "PORT": "1", "COWORK_PROXIES_COUNT": "5"}
    child = Settings.read({**inherited, **every_field_changed().to_env()})
    assert (child.node_id, child.port, child.proxies_count) == ("node-7", 9007, 2)


def test_cluster_and_haproxy_settings_come_from_the_environment():
    s = Settings.read(
        {
            "COWORK_CLUSTER_PORT": "9080",
            "COWORK_CLUSTER_NODE_PORT_BASE": "9100",
            "COWORK_HAPROXY": "/usr/sbin/haproxy",
            "COWORK_HAPROXY_CFG": "/etc/haproxy/cowork.cfg",
        }
    )
    assert (s.cluster_port, s.cluster_node_port_base) == (9080, 9100)
    assert s.haproxy_binary == "/usr/sbin/haproxy"
    assert s.haproxy_config == Path("/etc/haproxy/cowork.cfg")
    d = Settings.read({})
    assert (d.cluster_port, d.cluster_node_port_base, d.haproxy_binary) == (8080, 8100, "")
    assert d.haproxy_config.name == "haproxy.cfg" and d.haproxy_config.is_file()


def test_read_does_not_check_but_from_env_does():
    """Launchers read settings before the embedded stack exists; nodes must refuse them."""
    unchecked = Settings.read({"JWT_SECRET": "a-real-secret-of-enough-length"})
    assert unchecked.database_url == ""
    with pytest.raises(ConfigError):
        unchecked.checked()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("COWORK_WEBHOOK_CONCURRENCY", "0"),
        ("COWORK_WEBHOOK_RETRY_BASE_SECONDS", "0"),
        ("COWORK_WEBHOOK_RETENTION_DAYS", "0"),
    ],
)
def test_webhook_settings_that_cannot_work_are_refused(name, value):
    """Fails if a node starts with webhooks that could never send or retry."""
    with pytest.raises(ConfigError):
        Settings.from_env({"COWORK_ENV": "dev", "DATABASE_URL": "x", name: value})
