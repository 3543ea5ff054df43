"""Who may call the REST API, without a server: the tokens file (its validation stops `serve` with one line),
the rule mirrored from the chat (open only on loopback without tokens and logins), and an empty store
answered 409 (the app in process, through Starlette's test client)."""

import pytest

from retrieval.errors import BadInput
from ui.api_access import ApiAccess, Caller, Unauthorized, load_tokens

TOKEN = "a-token-of-24-characters"


def test_the_tokens_file_has_the_auth_file_format_and_is_checked(tmp_path):
    good = tmp_path / "tokens.txt"
    good.write_text(f"# the line's MES\nmes:{TOKEN}\nlead:{TOKEN}x:engineer\n")
    assert load_tokens(good) == {TOKEN: Caller("mes", "operator"), TOKEN + "x": Caller("lead", "engineer")}
    assert load_tokens(None) == {}
    for text, says in (("mes\n", "line 1: expected name:token"), ("mes:short\n", "at least 16"),
                       (f"a:{TOKEN}\nb:{TOKEN}\n", "b and a share a token"), ("# nothing\n", "no name:token")):
        good.write_text(text)
        with pytest.raises(BadInput, match=says):
            load_tokens(good)
    with pytest.raises(BadInput, match="does not exist"):
        load_tokens(tmp_path / "missing.txt")


def test_serve_refuses_a_bad_tokens_file_with_one_line(tmp_path):
    from cli_runner import run_cli

    bad = tmp_path / "tokens.txt"
    bad.write_text("mes:short\n")
    done = run_cli("--home", str(tmp_path / "home"), "serve", "--api-tokens", str(bad), env={"NORMALCY_AUTH": ""})
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "tokens.txt" in done.stderr and "at least 16" in done.stderr


def test_the_api_is_open_only_where_the_chat_is():
    assert ApiAccess({}, "127.0.0.1", has_logins=False).caller(None) == Caller("local", "engineer")
    for access in (ApiAccess({}, "127.0.0.1", has_logins=True), ApiAccess({}, "0.0.0.0", has_logins=True)):
        with pytest.raises(Unauthorized, match="--api-tokens"):
            access.caller(f"Bearer {TOKEN}")
    guarded = ApiAccess({TOKEN: Caller("mes", "operator")}, "127.0.0.1", has_logins=False)
    assert guarded.caller(f"bearer {TOKEN}") == Caller("mes", "operator")
    for header in (None, "", TOKEN, f"Basic {TOKEN}", "Bearer ", f"Bearer {TOKEN}x"):
        with pytest.raises(Unauthorized) as refused:
            guarded.caller(header)
        assert refused.value.status == 401
    with pytest.raises(Unauthorized) as forbidden:
        ApiAccess.require_engineer(Caller("mes", "operator"), "accept an image as normal")
    assert forbidden.value.status == 403


def test_an_empty_store_is_a_409_a_broken_upload_a_422_and_a_bug_one_line_500(tmp_path, good_image, monkeypatch):
    from fastapi.testclient import TestClient

    from assistant.config import NormalcyConfig
    from assistant.home import Home
    from assistant.inspector import Inspector
    from ui.inspector_queue import InspectorQueue
    from ui.rest_api import create_api

    inspector = Inspector(NormalcyConfig(), Home(tmp_path / "empty"))
    api = create_api(inspector, InspectorQueue(), ApiAccess({}, "127.0.0.1", has_logins=False))
    client = TestClient(api)
    assert client.get("/classes").json() == {"classes": []}
    empty = client.post("/inspect", files={"image": ("part.png", good_image.read_bytes())}, data={"class": "brick"})
    assert empty.status_code == 409 and "empty" in empty.json()["error"] and "ingest" in empty.json()["error"]
    broken = client.post("/inspect", files={"image": ("C:\\parts\\../part.png", b"GIF89a")}, data={"class": "x"})
    assert broken.status_code == 422 and broken.json()["error"].startswith("part.png "), broken.json()
    monkeypatch.setattr(inspector, "classes", lambda: {}["no such key"])     # an internal error, not bad input
    bug = TestClient(api, raise_server_exceptions=False).get("/classes")
    assert bug.status_code == 500 and bug.json() == {"error": "internal error: KeyError: 'no such key'"}


def test_beside_a_chat_with_logins_the_api_takes_tokens_and_the_chat_keeps_its_sign_in(ui_inspector):
    import httpx
    from ui_test_tools import free_port

    from ui.chat_app import create_app, launch
    from ui.inspector_queue import InspectorQueue
    from ui.rest_api import mounted

    queue = InspectorQueue()
    app = create_app(ui_inspector, roles={"alice": "operator"}, queue=queue)
    routes = mounted(ui_inspector, queue, ApiAccess({TOKEN: Caller("mes", "operator")}, "127.0.0.1", True))
    _, url, _ = launch(app, "127.0.0.1", free_port(), auth=[("alice", "right")], block=False, quiet=True,
                       routes=routes)
    try:
        assert httpx.get(url + "config", timeout=30).status_code == 401              # the chat: sign in first
        assert httpx.get(url + "api/v1/classes", timeout=30).status_code == 401       # the API: a token first
        listed = httpx.get(url + "api/v1/classes", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        assert listed.status_code == 200 and listed.json()["classes"][0]["name"] == "brick"
        signed_in = httpx.Client()
        assert signed_in.post(url + "login", data={"username": "alice", "password": "right"}).status_code == 200
        assert signed_in.get(url + "config", timeout=30).status_code == 200
        assert signed_in.get(url + "api/v1/classes", timeout=30).status_code == 401   # a chat cookie is no token
    finally:
        app.close()
