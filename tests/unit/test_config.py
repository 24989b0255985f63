import pytest

from cowork.config import ConfigError, Environment, Settings


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
