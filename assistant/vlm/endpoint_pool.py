"""The model servers one OpenAI-compatible backend may use: round-robin order, health, retry schedule.

Standard library only. Each request starts at the next endpoint in turn (round-robin). An endpoint
that failed (refused, reset, 502/503/504) is marked down for `cooldown_s`; once its cooldown is over,
it is used again only after its health check (`GET <base>/health`, which vLLM, SGLang and
`transformers serve` answer) says 200. Endpoints that are down are tried last, never skipped, so
one working server is always found if there is one. Between attempts the caller waits
`backoff_s * 2 ** (attempt - 1)` seconds (`delay`).
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass

COMPLETIONS = "/chat/completions"


@dataclass
class Endpoint:
    """One server. url: its chat-completions endpoint. base: the URL /health hangs off (scheme://host:port).
    down_until: monotonic time until which it counts as down (0 = up)."""

    url: str
    base: str
    down_until: float = 0.0


def completions_url(url: str) -> str:
    """A base URL ("http://host:8000/v1") or the full endpoint → the chat-completions endpoint."""
    url = url.rstrip("/")
    return url if url.endswith(COMPLETIONS) else url + COMPLETIONS


def server_root(url: str) -> str:
    """scheme://host:port of a URL (health checks live at the server's root, not under /v1)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


class EndpointPool:
    def __init__(self, urls: list[str], *, cooldown_s: float = 30.0, health_timeout_s: float = 2.0,
                 backoff_s: float = 0.5, clock=time.monotonic):
        self.endpoints = [Endpoint(completions_url(u), server_root(u)) for u in urls]
        self.cooldown_s, self.health_timeout_s, self.backoff_s = cooldown_s, health_timeout_s, backoff_s
        self.clock = clock
        self._next = 0

    def order(self) -> list[Endpoint]:
        """This request's endpoints: round-robin from the next one; those up (or healthy again) first."""
        n = len(self.endpoints)
        turn = [self.endpoints[(self._next + i) % n] for i in range(n)]
        self._next = (self._next + 1) % n
        up = [e for e in turn if self.usable(e)]
        return up + [e for e in turn if e not in up]

    def usable(self, endpoint: Endpoint) -> bool:
        if not endpoint.down_until:
            return True
        if self.clock() < endpoint.down_until or not self.healthy(endpoint):
            return False
        endpoint.down_until = 0.0
        return True

    def healthy(self, endpoint: Endpoint) -> bool:
        """GET <base>/health answers 200 within health_timeout_s."""
        try:
            with urllib.request.urlopen(endpoint.base + "/health", timeout=self.health_timeout_s) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def mark_down(self, endpoint: Endpoint) -> None:
        endpoint.down_until = self.clock() + self.cooldown_s

    def mark_up(self, endpoint: Endpoint) -> None:
        endpoint.down_until = 0.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (1, 2, ...): exponential backoff."""
        return self.backoff_s * 2 ** (attempt - 1)
