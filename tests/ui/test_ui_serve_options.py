"""`normalcy serve` options and session ownership, without starting a server: logins from a file or the
environment, loopback needs none, any other address refuses to start without them; the browser tests'
Chromium requirement; who owns a session's inspections."""

from types import SimpleNamespace

import pytest
from ui_test_tools import require_chromium

from retrieval.errors import BadInput
from ui.chat_state import ChatState
from ui.serve_command import check_exposure, is_loopback, load_logins, parse_logins


def test_logins_come_from_a_file_or_the_environment(tmp_path, monkeypatch):
    logins = tmp_path / "logins.txt"
    logins.write_text("# operators\nalice:s3cr:et\n\n bob :pw\nerin:pw:3:engineer\nfrank:pw:operator\n")
    assert load_logins(logins) == [("alice", "s3cr:et", "operator"), ("bob", "pw", "operator"),
                                   ("erin", "pw:3", "engineer"), ("frank", "pw", "operator")]
    monkeypatch.setenv("NORMALCY_AUTH", "carol:pw1,dave:pw2:engineer")
    assert load_logins(None) == [("carol", "pw1", "operator"), ("dave", "pw2", "engineer")]
    monkeypatch.setenv("NORMALCY_AUTH", "")
    assert load_logins(None) == []
    with pytest.raises(BadInput, match="does not exist"):
        load_logins(tmp_path / "missing.txt")
    with pytest.raises(BadInput, match="line 1: expected user:password"):
        parse_logins("alice", "logins")


def test_only_loopback_may_go_without_logins():
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert is_loopback(host)
        check_exposure(host, [])
    for host in ("0.0.0.0", "192.168.1.20", "line-pc.local"):
        assert not is_loopback(host)
        with pytest.raises(BadInput, match="exposes the app to the network"):
            check_exposure(host, [])
        check_exposure(host, [("alice", "pw")])


def test_a_logged_in_user_owns_the_session_else_the_browser_else_the_connection():
    assert ChatState(owner="browser:abc").owner_for(SimpleNamespace(username="alice")) == "user:alice"
    assert ChatState(owner="browser:abc").owner_for(SimpleNamespace(username=None)) == "browser:abc"
    assert ChatState().owner_for(SimpleNamespace(username=None, session_hash="h1")) == "session:h1"


def test_browser_tests_skip_without_chromium_and_fail_on_ci(tmp_path, monkeypatch):
    missing = tmp_path / "chromium"
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        require_chromium(missing)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="is missing"):
        require_chromium(missing)


def test_the_server_limits_glibcs_malloc_arenas_where_there_is_glibc():
    import platform

    from ui.native_heap import limit_malloc_arenas, trim_heap

    took = limit_malloc_arenas()
    assert took is (platform.libc_ver()[0] == "glibc")
    assert isinstance(trim_heap(), bool)
