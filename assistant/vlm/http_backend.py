"""OpenAI-compatible chat-completions client (vLLM, SGLang, Ollama on the plant network).

Standard library only (`urllib`). POSTs to `<url>/chat/completions`; streams server-sent events.
Every failure is a `ModelServerError` with one line saying what happened and what to check:
connection refused, timeout, HTTP status with the server's own message, malformed response, a
stream cut off before its end. Several servers of one model: round-robin with health checks and
retries with exponential backoff (`endpoint_pool`).
"""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

from assistant.vlm.backend import Generation
from assistant.vlm.endpoint_pool import Endpoint, EndpointPool
from assistant.vlm.messages import Message
from assistant.vlm.openai_wire import (MalformedResponse, p_anomalous_from_logprobs, parse_completion,
                                       parse_sse_event, request_body, wire_messages)
from assistant.vlm.preset import ModelPreset
from retrieval.errors import ConfigError, NormalcyError


class ModelServerError(NormalcyError):
    """The model server cannot be reached or answered something unusable."""


RETRY_STATUS = (429, 502, 503, 504)


class _Retryable(Exception):
    """A failure another attempt (on this or the next endpoint) may not have: refused, reset, 502/503/504."""

    def __init__(self, error: ModelServerError):
        self.error = error


class OpenAIBackend:
    """A model behind one or more OpenAI-compatible servers.

    url: base URL ("http://host:8000/v1") or the full ".../chat/completions" endpoint; `endpoints`
      adds more servers of the same model, used round-robin with health checks (`EndpointPool`).
    api_model: the server's model name. timeout_s: connect and per-read timeout (not retried: a
      server that is too slow is not made faster by asking again). retries / backoff_s: further
      attempts after a connection failure or HTTP 429/502/503/504, waiting backoff_s, 2x, 4x ...
    context_tokens: the served model's context window when configured (the server does not say).
    """

    def __init__(self, name: str, url: str, api_model: str, *, timeout_s: float = 120.0,
                 max_new_tokens: int = 384, min_pixels: int | None = None, max_pixels: int | None = None,
                 layout: str = "interleaved", context_tokens: int | None = None,
                 endpoints: tuple[str, ...] = (), retries: int = 2, backoff_s: float = 0.5):
        self.name = name
        self.context_tokens = context_tokens
        self.pool = EndpointPool([url, *endpoints], backoff_s=backoff_s, health_timeout_s=min(2.0, timeout_s))
        self.endpoint = self.pool.endpoints[0].url
        self.api_model = api_model
        self.timeout_s = timeout_s
        self.retries = retries
        self.max_new_tokens = max_new_tokens
        self.pixels = (min_pixels, max_pixels)
        self.layout = layout

    @classmethod
    def from_preset(cls, preset: ModelPreset) -> OpenAIBackend:
        if not preset.url or not preset.api_model:
            raise ConfigError(f"model preset {preset.name}: the openai backend needs `url:` and `api_model:`")
        return cls(preset.name, preset.url, preset.api_model, timeout_s=preset.timeout_s,
                   max_new_tokens=preset.max_new_tokens, min_pixels=preset.min_pixels,
                   max_pixels=preset.max_pixels, layout=preset.layout or "interleaved",
                   context_tokens=preset.context_tokens, endpoints=preset.endpoints, retries=preset.retries)

    def _body(self, messages: list[Message], max_new_tokens: int | None, guided: bool, stream: bool) -> bytes:
        wire = wire_messages(messages, self.layout, *self.pixels)
        body = request_body(self.api_model, wire, max_tokens=max_new_tokens or self.max_new_tokens,
                            guided=guided, stream=stream)
        return json.dumps(body).encode("utf-8")

    def generate(self, messages: list[Message], *, max_new_tokens: int | None = None,
                 guided: bool = False) -> Generation:
        """One request; p_anomalous from the server's top_logprobs when it returns them."""
        start = time.perf_counter()
        response, endpoint = self._open(self._body(messages, max_new_tokens, guided, stream=False))
        with response:
            raw = self._read(response, endpoint)
        try:
            text, n_tokens, logprobs = parse_completion(json.loads(raw))
        except ValueError as exc:  # invalid JSON or MalformedResponse
            raise self._malformed(exc, endpoint) from None
        return Generation(text=text, p_anomalous=p_anomalous_from_logprobs(logprobs), n_tokens=n_tokens,
                          seconds=time.perf_counter() - start)

    def stream(self, messages: list[Message], *, max_new_tokens: int | None = None) -> Iterator[str]:
        """Text deltas from the server's `data:` events until `data: [DONE]` or a chunk's finish_reason.

        A body that ends before `[DONE]` (the server died or was cut off mid-answer) is a ModelServerError,
        never a silently shortened answer; nothing is retried once text has been yielded.
        """
        response, endpoint = self._open(self._body(messages, max_new_tokens, False, stream=True))
        with response:
            while True:
                line = self._read(response, endpoint, line=True)
                if not line:
                    raise ModelServerError(f"model server {endpoint.url} closed the stream before the answer was "
                                           "complete (no finish_reason, no `data: [DONE]`); the partial answer was discarded, "
                                           "check the server's log and ask again")
                try:
                    delta, finished = parse_sse_event(line.decode("utf-8", errors="replace"))
                except MalformedResponse as exc:
                    raise self._malformed(exc, endpoint) from None
                if delta:
                    yield delta
                if finished:
                    return

    def _open(self, body: bytes) -> tuple[object, Endpoint]:
        """POST to the pool's next endpoint, retrying retryable failures with backoff on the next ones."""
        error = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.pool.delay(attempt))
            endpoint = self.pool.order()[0]
            try:
                response = self._post(endpoint, body)
            except _Retryable as failure:
                self.pool.mark_down(endpoint)
                error = failure.error
                continue
            self.pool.mark_up(endpoint)
            return response, endpoint
        raise ModelServerError(f"{error} (after {self.retries + 1} attempts)" if self.retries else str(error))

    def _post(self, endpoint: Endpoint, body: bytes):
        request = urllib.request.Request(endpoint.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "Accept": "application/json, text/event-stream"})
        try:
            return urllib.request.urlopen(request, timeout=self.timeout_s)
        except urllib.error.HTTPError as exc:
            message = _server_message(exc)
            error = ModelServerError(f"model server {endpoint.url} answered HTTP {exc.code}: {message}")
            if exc.code in RETRY_STATUS:
                raise _Retryable(error) from None
            raise error from None
        except urllib.error.URLError as exc:
            raise self._failure(exc.reason, endpoint) from None
        except (TimeoutError, socket.timeout, ConnectionError) as exc:
            raise self._failure(exc, endpoint) from None

    def _failure(self, reason, endpoint: Endpoint) -> Exception:
        error = self._unreachable(reason, endpoint)
        return error if isinstance(reason, (TimeoutError, socket.timeout)) else _Retryable(error)

    def _read(self, response, endpoint: Endpoint, line: bool = False) -> bytes:
        try:
            return response.readline() if line else response.read()
        except (TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException) as exc:
            raise self._unreachable(exc, endpoint) from None

    def _unreachable(self, reason, endpoint: Endpoint) -> ModelServerError:
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return ModelServerError(f"model server {endpoint.url} did not answer within {self.timeout_s:g} s; "
                                    "check the server's load or raise vlm.timeout_s")
        if isinstance(reason, ConnectionRefusedError):
            return ModelServerError(f"model server {endpoint.url} refused the connection; start the server "
                                    "(vLLM, SGLang, Ollama, transformers serve) or fix vlm.url")
        return ModelServerError(f"model server {endpoint.url} cannot be reached ({reason}); check vlm.url "
                                "and the plant network")

    def _malformed(self, exc: Exception, endpoint: Endpoint) -> ModelServerError:
        return ModelServerError(f"model server {endpoint.url} sent a malformed response: {exc}")


def _server_message(exc: urllib.error.HTTPError) -> str:
    """The server's own error text: `error.message` of a JSON body, else the body's first line."""
    try:
        raw = exc.read().decode("utf-8", errors="replace")
    except OSError:
        return exc.reason or "no message"
    try:
        data = json.loads(raw)
    except ValueError:
        data = None  # not JSON: the raw body is the message
    error = data.get("error", data) if isinstance(data, dict) else None
    message = error.get("message") if isinstance(error, dict) else error
    if isinstance(message, str) and message.strip():
        return message.strip().splitlines()[0][:300]
    return (raw.strip().splitlines() or [str(exc.reason)])[0][:300]
