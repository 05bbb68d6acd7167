"""Server and token: arguments, then TTYDESK_*, then the 0600 config file."""

import stat

import pytest

from tui.config import ConfigError, Settings, config_path, load_settings, save_settings


def test_precedence_args_env_file(tmp_path):
    path = tmp_path / "tui.toml"
    path.write_text('server = "http://file"\ntoken = "file-token"\n')
    env = {"TTYDESK_SERVER": "http://env"}
    settings = load_settings(env=env, path=path)
    assert (settings.server, settings.token) == ("http://env", "file-token")
    settings = load_settings("http://arg", "arg-token", env=env, path=path)
    assert (settings.server, settings.token) == ("http://arg", "arg-token")


def test_xdg_path(tmp_path):
    assert config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "ttydesk" / "tui.toml"
    assert config_path({"TTYDESK_TUI_CONFIG": str(tmp_path / "x.toml")}) == tmp_path / "x.toml"


def test_saved_with_mode_0600_and_read_back(tmp_path):
    path = tmp_path / "deep" / "tui.toml"
    settings = Settings(server="http://h:1", token='to"k\\en', keymap={"inbox.close": "x"})
    save_settings(settings, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_settings(env={}, path=path)
    assert again.token == 'to"k\\en' and again.keymap == {"inbox.close": "x"}


def test_broken_file_names_the_file(tmp_path):
    path = tmp_path / "tui.toml"
    path.write_text("server = ")
    with pytest.raises(ConfigError, match=str(path)):
        load_settings(env={}, path=path)


def test_missing_file_is_empty(tmp_path):
    settings = load_settings(env={}, path=tmp_path / "none.toml")
    assert not settings.complete


def test_settings_know_whether_the_file_already_holds_them(tmp_path):
    path = tmp_path / "tui.toml"
    fresh = load_settings("http://h:8580", "tok", env={}, path=path)
    assert not fresh.saved
    save_settings(fresh, path)
    assert fresh.saved
    assert load_settings(env={}, path=path).saved
    assert load_settings(env={"TTYDESK_TOKEN": "other"}, path=path).saved is False


def test_the_locale_chooses_unicode_or_ascii_marks(tmp_path):
    from tui import glyphs

    assert glyphs.for_locale({"LANG": "en_US.UTF-8"}) is glyphs.UNICODE
    assert glyphs.for_locale({"LC_ALL": "C", "LANG": "en_US.UTF-8"}) is glyphs.ASCII
    assert glyphs.for_locale({"LC_CTYPE": "de_DE.utf8"}) is glyphs.UNICODE
    assert glyphs.for_locale({"LANG": "POSIX"}) is glyphs.ASCII
    assert glyphs.for_locale({}) is glyphs.ASCII
    path = tmp_path / "tui.toml"
    path.write_text('glyphs = "unicode"\n')
    assert load_settings(env={}, path=path).glyphs == "unicode"
    path.write_text('glyphs = "emoji"\n')
    with pytest.raises(ConfigError, match="glyphs"):
        load_settings(env={}, path=path)


def test_saving_the_login_keeps_the_files_other_settings(tmp_path):
    """The inbox rewrites tui.toml when it saves a server and token: the README's display
    settings in it (glyphs, arrow_cursor, minimal_redraw) were dropped by that rewrite."""
    path = tmp_path / "tui.toml"
    path.write_text(
        'server = "http://h:8580"\ncursor_blink = false\narrow_cursor = true\n'
        'glyphs = "ascii"\nminimal_redraw = false\ntheme = "nord"\n\n'
        '[keymap]\n"inbox.close" = "x"\n'
    )
    settings = load_settings(env={}, path=path)
    settings.token = "typed-at-the-prompt"
    save_settings(settings, path)
    again = load_settings(env={}, path=path)
    assert again.token == "typed-at-the-prompt"
    kept = ("server", "cursor_blink", "arrow_cursor", "glyphs", "minimal_redraw", "theme")
    assert {k: getattr(again, k) for k in kept} == {k: getattr(settings, k) for k in kept}
    assert (again.arrow_cursor, again.glyphs, again.minimal_redraw) == (True, "ascii", False)
    assert again.keymap == {"inbox.close": "x"}


def test_a_misspelt_setting_is_named_with_the_nearest_one(tmp_path):
    path = tmp_path / "tui.toml"
    path.write_text('server = "http://h:8580"\ncursor_blnk = false\n')
    with pytest.raises(
        ConfigError, match=r"unknown setting 'cursor_blnk': did you mean 'cursor_blink'"
    ):
        load_settings(env={}, path=path)
