"""The console's sign-in pieces (hub.console.auth) and the browser the console's tests drive."""

from __future__ import annotations

import pytest
from hub.console import auth
from hub.console.auth import SESSION_SECONDS, Sessions, cookie, is_local_http, token_matches

from tests import browser


def test_a_session_reads_back_and_a_tampered_one_does_not():
    sessions = Sessions(lambda: "the-console-token")
    value, session = sessions.new_session()
    assert sessions.session(value) == session and len(session.csrf) >= 40
    assert sessions.session(value[:-2] + ("AA" if not value.endswith("AA") else "BB")) is None
    assert sessions.session(None) is None and sessions.session("") is None


def test_rotating_the_token_ends_every_session():
    token = ["old-token"]
    sessions = Sessions(lambda: token[0])
    value, _ = sessions.new_session()
    token[0] = "new-token"
    assert sessions.session(value) is None


def test_a_session_expires_after_eight_hours(monkeypatch):
    import itsdangerous.timed

    sessions = Sessions(lambda: "the-console-token")
    now = 1_800_000_000
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: now)
    value, _ = sessions.new_session()
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: now + SESSION_SECONDS - 5)
    assert sessions.session(value) is not None
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: now + SESSION_SECONDS + 5)
    assert sessions.session(value) is None


def test_a_login_cookie_is_not_a_session():
    sessions = Sessions(lambda: "the-console-token")
    login, csrf = sessions.new_login()
    assert sessions.login_csrf(login) == csrf
    assert sessions.session(login) is None  # signed for another purpose (its own salt)


def test_the_token_check_is_exact():
    assert token_matches("abc", "abc")
    assert not token_matches("abc", "abcd") and not token_matches("", "abc") and not token_matches("ABC", "abc")


def test_cookies_are_strict_http_only_and_secure_unless_local_http():
    value = cookie("hub_console", "v", max_age=SESSION_SECONDS, secure=True)
    assert value == "hub_console=v; Path=/console; Max-Age=28800; HttpOnly; SameSite=Strict; Secure"
    assert "Secure" not in cookie("hub_console", "v", max_age=0, secure=False)
    assert is_local_http(proto="http", source_ip="127.0.0.1")
    assert is_local_http(proto=None, source_ip="::1")
    assert not is_local_http(proto="https", source_ip="127.0.0.1")
    assert not is_local_http(proto="http", source_ip="203.0.113.9")


def test_a_missing_console_secret_is_a_configuration_error(monkeypatch):
    monkeypatch.delenv("HUB_SECRET_CONSOLE", raising=False)
    with pytest.raises(auth.SecretsError, match="HUB_SECRET_CONSOLE"):
        auth.secret_token()


def test_no_browser_fails_saying_how_to_install_one(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("HUB_CHROMIUM", raising=False)
    with pytest.raises(browser.NoBrowserError, match="apt-get install -y chromium"):
        browser.chromium_executable()
    monkeypatch.setenv("HUB_CHROMIUM", str(tmp_path / "nothing-here"))
    with pytest.raises(browser.NoBrowserError):
        browser.chromium_executable()
