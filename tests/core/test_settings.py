"""Settings come from the environment, once, and refuse unsafe combinations."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from core.settings import DEFAULT_DATABASE_URL, Settings, SettingsError
from tests.fixtures import TEST_AUDIT_KEY

SECRET = "s" * 40
AUDIT_KEY = TEST_AUDIT_KEY


def test_development_defaults() -> None:
    settings = Settings.from_env({})

    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.database_url.startswith("sqlite://data/")
    assert settings.secret_generated and len(settings.secret) >= 32
    assert settings.graphiql and settings.introspection
    assert not settings.debug


def test_the_compiled_read_path_is_on_unless_turned_off() -> None:
    assert Settings.from_env({}).compiled_reads
    assert not Settings.from_env({"RIVERCHIEF_COMPILED": "0"}).compiled_reads


def test_each_process_gets_its_own_random_secret_when_none_is_set() -> None:
    assert Settings.from_env({}).secret != Settings.from_env({}).secret


def test_production_refuses_to_start_without_a_secret() -> None:
    with pytest.raises(SettingsError, match="RIVERCHIEF_SECRET"):
        Settings.from_env({"RIVERCHIEF_ENV": "production"})


def test_production_turns_off_graphiql_and_introspection_unless_asked() -> None:
    production = {
        "RIVERCHIEF_ENV": "production",
        "RIVERCHIEF_SECRET": SECRET,
        "RIVERCHIEF_AUDIT_KEY": AUDIT_KEY,
    }
    default = Settings.from_env(production)
    enabled = Settings.from_env(
        {
            **production,
            "RIVERCHIEF_GRAPHIQL": "1",
            "RIVERCHIEF_INTROSPECTION": "true",
        }
    )

    assert (default.graphiql, default.introspection, default.secret_generated) == (
        False,
        False,
        False,
    )
    assert (enabled.graphiql, enabled.introspection) == (True, True)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"RIVERCHIEF_SECRET": "short"}, "at least 32"),
        ({"RIVERCHIEF_ENV": "staging"}, "RIVERCHIEF_ENV"),
        ({"RIVERCHIEF_TOKEN_TTL": "soon"}, "RIVERCHIEF_TOKEN_TTL"),
        ({"RIVERCHIEF_TOKEN_TTL": "0"}, "positive"),
        ({"RIVERCHIEF_TRUSTED_PROXIES": "*"}, "addresses or networks"),
        ({"RIVERCHIEF_TRUSTED_PROXIES": "nginx"}, "addresses or networks"),
        ({"RIVERCHIEF_TRUSTED_PROXIES": "0.0.0.0/0"}, "must not trust every address"),
        ({"RIVERCHIEF_TRUSTED_PROXIES": "10.0.0.5, ::/0"}, "must not trust every address"),
        ({"FORWARDED_ALLOW_IPS": "172.16.0.0/12"}, "RIVERCHIEF_TRUSTED_PROXIES"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(environ)


def test_explicit_values_are_used() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgres://u@db:5432/rc",
            "RIVERCHIEF_SECRET": SECRET,
            "RIVERCHIEF_TOKEN_TTL": "600",
            "RIVERCHIEF_DEBUG": "yes",
        }
    )

    assert (settings.database_url, settings.secret, settings.token_ttl_seconds, settings.debug) == (
        "postgres://u@db:5432/rc",
        SECRET,
        600,
        True,
    )


def test_no_proxy_is_trusted_unless_named() -> None:
    default = Settings.from_env({})
    named = Settings.from_env({"RIVERCHIEF_TRUSTED_PROXIES": " 127.0.0.1, ::1,172.16.0.0/12 "})
    moved = Settings.from_env(
        {"RIVERCHIEF_TRUSTED_PROXIES": "10.0.0.5", "FORWARDED_ALLOW_IPS": "10.0.0.5"}
    )

    assert default.trusted_proxies == ()
    assert [str(n) for n in named.trusted_proxies] == ["127.0.0.1/32", "::1/128", "172.16.0.0/12"]
    assert [str(n) for n in moved.trusted_proxies] == ["10.0.0.5/32"]


def test_production_refuses_to_start_without_an_audit_key() -> None:
    with pytest.raises(
        SettingsError, match=r"RIVERCHIEF_AUDIT_KEY \(or the credential .*\) must be set"
    ):
        Settings.from_env({"RIVERCHIEF_ENV": "production", "RIVERCHIEF_SECRET": SECRET})


def test_the_audit_key_may_come_as_a_credential_file(tmp_path: Path) -> None:
    """A supervisor (systemd's LoadCredential=) hands the key over as a file, not in the
    environment; the environment's key wins when both are given."""
    (tmp_path / "riverchief-audit-key").write_text(AUDIT_KEY + "\n", encoding="ascii")
    production = {"RIVERCHIEF_ENV": "production", "RIVERCHIEF_SECRET": SECRET}
    other = base64.b64encode(bytes(32)).decode()

    from_file = Settings.from_env({**production, "CREDENTIALS_DIRECTORY": str(tmp_path)})
    from_env = Settings.from_env(
        {**production, "CREDENTIALS_DIRECTORY": str(tmp_path), "RIVERCHIEF_AUDIT_KEY": other}
    )

    assert from_file.audit_key == bytes(range(32))
    assert from_env.audit_key == bytes(32)
    (tmp_path / "riverchief-audit-key").write_text("not a key", encoding="ascii")
    with pytest.raises(SettingsError, match="base64 of 32 bytes"):
        Settings.from_env({**production, "CREDENTIALS_DIRECTORY": str(tmp_path)})
    with pytest.raises(SettingsError, match="must be set"):
        Settings.from_env({**production, "CREDENTIALS_DIRECTORY": str(tmp_path / "none")})


def test_the_audit_key_and_the_retired_ones_are_read_from_base64() -> None:
    settings = Settings.from_env(
        {"RIVERCHIEF_AUDIT_KEY": AUDIT_KEY, "RIVERCHIEF_AUDIT_OLD_KEYS": f" {AUDIT_KEY}, "}
    )
    development = Settings.from_env({})

    assert settings.audit_key == bytes(range(32))
    assert settings.audit_old_keys == (bytes(range(32)),)
    assert AUDIT_KEY not in repr(settings)
    assert (development.audit_key, development.audit_old_keys) == (b"", ())
    for wrong in ("short", "not base64!", AUDIT_KEY[:-4]):
        with pytest.raises(SettingsError, match="base64 of 32 bytes"):
            Settings.from_env({"RIVERCHIEF_AUDIT_KEY": wrong})
