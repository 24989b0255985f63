"""Notification settings come from the environment (cowork/config only) and refuse half setups."""

import pytest

from cowork.config import ConfigError, Settings

BASE = {"COWORK_ENV": "dev", "DATABASE_URL": "postgresql://x/y"}


def test_providers_are_off_unless_configured():
    n = Settings.from_env(BASE).notify
    assert not (n.webpush_enabled or n.fcm_enabled or n.apns_enabled or n.email_enabled)
    assert n.fcm_api_base == "https://fcm.googleapis.com"
    assert n.apns_host == "https://api.push.apple.com"


def test_environment_names():
    n = Settings.from_env(
        {
            **BASE,
            "VAPID_PRIVATE_KEY": "k",
            "VAPID_SUBJECT": "https://cowork.example/contact",
            "COWORK_PUSH_HOSTS": "fcm.googleapis.com, *.push.apple.com",
            "FCM_CREDENTIALS_FILE": "/run/fcm.json",
            "FCM_API_BASE": "http://127.0.0.1:9000/",
            "APNS_KEY_FILE": "/run/k.p8",
            "APNS_KEY_ID": "KID",
            "APNS_TEAM_ID": "TEAM",
            "APNS_TOPIC": "dev.cowork.app",
            "APNS_HOST": "https://api.sandbox.push.apple.com",
            "SMTP_HOST": "smtp.example.com",
            "SMTP_PORT": "465",
            "SMTP_TLS": "TLS",
            "SMTP_USER": "u",
            "SMTP_PASSWORD": "hunter2",
            "MAIL_FROM": "cowork <no-reply@cowork.example>",
            "COWORK_PUBLIC_URL": "https://cowork.example/",
            "COWORK_NOTIFY_CONCURRENCY": "4",
        }
    ).notify
    assert n.push_hosts == ("fcm.googleapis.com", "*.push.apple.com")
    assert n.fcm_api_base == "http://127.0.0.1:9000"
    assert (n.smtp_port, n.smtp_tls, n.concurrency) == (465, "tls", 4)
    assert n.public_url == "https://cowork.example"
    assert n.webpush_enabled and n.fcm_enabled and n.apns_enabled and n.email_enabled
    assert "hunter2" not in repr(n)


@pytest.mark.parametrize(
    "extra",
    [
        {"SMTP_TLS": "ssl"},
        {"SMTP_HOST": "smtp.example.com"},  # no MAIL_FROM
        {"APNS_KEY_FILE": "/run/k.p8"},  # no key id / team id
        {"VAPID_PRIVATE_KEY": "k", "VAPID_SUBJECT": "ops@example.com"},  # not a URL
        {"COWORK_NOTIFY_CONCURRENCY": "0"},
        {"SMTP_PORT": "smtp"},
    ],
)
def test_half_configured_providers_are_refused(extra):
    with pytest.raises(ConfigError):
        Settings.from_env({**BASE, **extra})


# Tuning knobs with no environment variable (yet): a child node runs on their defaults.
NOT_IN_THE_ENVIRONMENT = {
    "consumer",
    "ack_wait_seconds",
    "max_in_flight",
    "send_timeout_seconds",
    "lease_seconds",
    "poll_seconds",
    "max_attempts",
    "default_ttl_seconds",
    "retention_seconds",
}


def test_every_notify_variable_reaches_a_child_node():
    """Fault: `NotifySettings.to_env` forgets a variable, so cluster nodes push without it."""
    from dataclasses import fields

    from cowork.config import NotifySettings
    from tests.unit.test_config import every_notify_field_changed

    changed = every_notify_field_changed()
    same = {
        f.name
        for f in fields(NotifySettings)
        if getattr(changed, f.name) == getattr(NotifySettings(), f.name)
    }
    assert same == NOT_IN_THE_ENVIRONMENT
    assert NotifySettings.read(changed.to_env()) == changed
