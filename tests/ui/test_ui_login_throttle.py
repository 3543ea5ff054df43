"""Sign-ins are throttled: each failure answered after a delay, and after 5 failures a user name or a
client address is locked out (HTTP 429, Retry-After) even for the right password."""

import time

import httpx
from ui_test_tools import free_port

from ui.login_throttle import LoginLedger, LoginPolicy


def test_the_ledger_locks_after_five_failures_and_forgives_after_the_lockout():
    now = [1000.0]
    ledger = LoginLedger(LoginPolicy(), clock=lambda: now[0])
    alice = ["user:alice", "ip:10.0.0.7"]
    for _ in range(4):
        ledger.failed(alice)
    assert ledger.retry_after(alice) == 0
    ledger.failed(alice)
    assert ledger.retry_after(alice) == 60 and ledger.retry_after(["ip:10.0.0.7"]) == 60
    assert ledger.retry_after(["user:bob", "ip:10.0.0.8"]) == 0
    now[0] += 61
    assert ledger.retry_after(alice) == 0
    ledger.failed(alice)
    now[0] += 301                                  # failures older than the 5-minute window are forgotten
    ledger.failed(["user:carol"])
    assert "user:alice" not in ledger.failures and "user:alice" not in ledger.locked_until


def test_a_served_app_with_logins_slows_and_then_locks_out_wrong_passwords():
    import gradio as gr

    from ui.chat_app import launch

    with gr.Blocks() as app:
        gr.Markdown("signed in")
    _, url, _ = launch(app, "127.0.0.1", free_port(), auth=[("alice", "right")], block=False, quiet=True)
    try:
        start = time.monotonic()
        answers = [httpx.post(url + "login", data={"username": "alice", "password": f"wrong{i}"}, timeout=30)
                   for i in range(5)]
        assert [a.status_code for a in answers] == [400] * 5 and time.monotonic() - start >= 5.0
        locked = httpx.post(url + "login", data={"username": "alice", "password": "right"}, timeout=30)
        assert locked.status_code == 429 and 55 <= int(locked.headers["retry-after"]) <= 60
        other = httpx.post(url + "login", data={"username": "bob", "password": "x"}, timeout=30)
        assert other.status_code == 429                               # the same address is locked too
        start = time.monotonic()
        burst = [httpx.post(url + "login", data={"username": "alice", "password": "guess"}, timeout=30)
                 for _ in range(20)]
        assert {b.status_code for b in burst} == {429} and time.monotonic() - start < 5
    finally:
        app.close()
