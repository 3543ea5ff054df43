"""Sign-in throttling in front of Gradio's `POST /login`: failed sign-ins are slowed down, and a user name
or a client address with too many recent failures is locked out for a while.

The numbers (`LoginPolicy` defaults): every failed sign-in is answered after 1 s; 5 failures within
5 minutes for one user name, or from one client address, lock that name or address for 60 s — during
which every sign-in for it (even with the right password) is refused with HTTP 429 and a Retry-After
header, without checking the password. A successful sign-in clears the user's and the address's failures.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import parse_qs


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5
    window_s: float = 300.0
    lockout_s: float = 60.0
    delay_s: float = 1.0


class LoginLedger:
    """Recent failures and lockouts per key ("user:NAME", "ip:ADDRESS"); `clock` in seconds."""

    def __init__(self, policy: LoginPolicy = LoginPolicy(), clock=time.monotonic):
        self.policy, self.clock = policy, clock
        self.failures: dict[str, deque] = {}
        self.locked_until: dict[str, float] = {}

    def retry_after(self, keys) -> float:
        """Seconds until every key may try again (0: none is locked)."""
        now = self.clock()
        return max([0.0] + [self.locked_until.get(key, now) - now for key in keys])

    def failed(self, keys) -> None:
        now = self.clock()
        self._forget_before(now - self.policy.window_s)
        for key in keys:
            recent = self.failures.setdefault(key, deque())
            recent.append(now)
            if len(recent) >= self.policy.max_failures:
                self.locked_until[key] = now + self.policy.lockout_s
                recent.clear()

    def succeeded(self, keys) -> None:
        for key in keys:
            self.failures.pop(key, None)
            self.locked_until.pop(key, None)

    def _forget_before(self, oldest: float) -> None:
        """Drop failures older than the window and lockouts that ended (the ledger never grows unbounded)."""
        now = self.clock()
        for key in list(self.failures):
            recent = self.failures[key]
            while recent and recent[0] < oldest:
                recent.popleft()
            if not recent:
                del self.failures[key]
        for key in [k for k, until in self.locked_until.items() if until <= now]:
            del self.locked_until[key]


class LoginThrottle:
    """ASGI middleware: only `POST …/login` is looked at; every other request passes untouched."""

    def __init__(self, app, ledger: LoginLedger | None = None):
        self.app = app
        self.ledger = ledger or LoginLedger()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].rstrip("/").endswith("/login"):
            return await self.app(scope, receive, send)
        body = await _whole_body(receive)
        user = parse_qs(body.decode("utf-8", "replace")).get("username", [""])[0].strip()
        keys = [f"user:{user}", f"ip:{(scope.get('client') or ('unknown',))[0]}"]
        wait = self.ledger.retry_after(keys)
        if wait > 0:
            return await _refuse(send, wait)

        async def replay():
            return {"type": "http.request", "body": body, "more_body": False}

        async def answer(message):
            if message["type"] == "http.response.start":
                if message["status"] == 200:
                    self.ledger.succeeded(keys)
                else:
                    self.ledger.failed(keys)
                    await asyncio.sleep(self.ledger.policy.delay_s)
            await send(message)

        await self.app(scope, replay, answer)


async def _whole_body(receive) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _refuse(send, wait: float) -> None:
    seconds = max(1, int(wait + 0.999))
    body = json.dumps({"detail": f"Too many failed sign-ins; try again in {seconds} s."}).encode()
    await send({"type": "http.response.start", "status": 429,
                "headers": [(b"content-type", b"application/json"), (b"retry-after", str(seconds).encode()),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
