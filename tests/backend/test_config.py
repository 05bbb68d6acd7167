"""Settings: file then environment; a bad value is one line naming the key."""

from __future__ import annotations

from datetime import date

import pytest

from backend.config import ConfigError, load_settings


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    for name in list(__import__("os").environ):
        if name.startswith("TTYDESK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def test_environment_overrides_file(tmp_path, monkeypatch):
    (tmp_path / "ttydesk.toml").write_text("port = 9001\nusage_limit = 500\n")
    monkeypatch.setenv("TTYDESK_PORT", "9002")
    settings = load_settings()
    assert settings.port == 9002
    assert settings.usage_limit == 500


def test_subscription_start_is_a_date(monkeypatch):
    monkeypatch.setenv("TTYDESK_SUBSCRIPTION_START", "2026-10-28")
    assert load_settings().subscription_start == date(2026, 10, 28)


def test_bad_value_names_the_key(monkeypatch):
    monkeypatch.setenv("TTYDESK_PORT", "eighty")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "port" in message and "TTYDESK_PORT" in message
    assert "\n" not in message


def test_bad_value_in_file_names_the_file(tmp_path):
    (tmp_path / "ttydesk.toml").write_text('whatsapp_graph_url = "ftp://nope"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "whatsapp_graph_url" in str(caught.value)
    assert "ttydesk.toml" in str(caught.value)


def test_broken_toml_is_one_line(tmp_path):
    (tmp_path / "ttydesk.toml").write_text("port = = 3\n")
    with pytest.raises(ConfigError):
        load_settings()


def test_secrets_are_not_in_the_repr(monkeypatch):
    monkeypatch.setenv("TTYDESK_WHATSAPP_APP_SECRET", "s3cr3t-value")
    settings = load_settings()
    assert "s3cr3t-value" not in repr(settings)
    assert settings.whatsapp_app_secret.get_secret_value() == "s3cr3t-value"


@pytest.mark.parametrize(
    "url", ["postgresql://ttydesk@127.0.0.1:5432/ttydesk", "postgres://db.example/ttydesk"]
)
def test_a_postgresql_url_is_refused_until_it_is_supported(monkeypatch, tmp_path, url):
    """Never a SQLite file in a folder named ``postgresql:`` (test_startup runs serve)."""
    monkeypatch.setenv("TTYDESK_DATABASE", url)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "PostgreSQL" in message and "not finished" in message
    assert "TTYDESK_DATABASE" in message and "\n" not in message


@pytest.mark.parametrize(
    "url", ["mysql://root@localhost/ttydesk", "sqlite:///var/lib/ttydesk.db", "file:///tmp/x.db"]
)
def test_a_database_url_of_another_kind_is_refused_in_one_line(tmp_path, url):
    (tmp_path / "ttydesk.toml").write_text(f'database = "{url}"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "database" in message and "ttydesk.toml" in message and "\n" not in message
    assert url.split("://")[0] in message
    assert "a file path" in message


def test_a_database_path_still_selects_sqlite(tmp_path, monkeypatch):
    monkeypatch.setenv("TTYDESK_DATABASE", str(tmp_path / "desk.db"))
    settings = load_settings()
    assert settings.database_path == tmp_path / "desk.db"


def test_the_email_section_reads_from_the_file_and_keeps_its_passwords_secret(tmp_path):
    (tmp_path / "ttydesk.toml").write_text(
        "[email]\n"
        'addresses = ["Support@Acme.test"]\n'
        "listen_port = 2525\n"
        'imap_host = "imap.acme.test"\n'
        'imap_password = "imap-s3cret"\n'
        'relay_host = "smtp.acme.test"\n'
        'relay_password = "relay-s3cret"\n'
    )
    settings = load_settings()
    assert settings.email.addresses == ["support@acme.test"]
    assert settings.email.listen_port == 2525
    assert "imap-s3cret" not in repr(settings) and "relay-s3cret" not in repr(settings)
    assert settings.email.relay_password.get_secret_value() == "relay-s3cret"


def test_a_support_address_that_is_not_one_is_refused_in_one_line(tmp_path):
    (tmp_path / "ttydesk.toml").write_text('[email]\naddresses = ["support at acme"]\n')
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "email.addresses" in str(caught.value) and "\n" not in str(caught.value)
