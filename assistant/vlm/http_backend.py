"""OpenAI-compatible chat-completions client (vLLM, SGLang, Ollama on the plant network).

Standard library only (`urllib`). POSTs to `<url>/chat/completions`; streams server-sent events.
Every failure is a `ModelServerError` with one line saying what happened and what to check:
connection refused, timeout, HTTP status with the server's own message, malformed response.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

from assistant.vlm.backend import Generation
from assistant.vlm.messages import Message
from assistant.vlm.openai_wire import (MalformedResponse, p_anomalous_from_logprobs, parse_completion,
                                       parse_sse_line, request_body, wire_messages)
from assistant.vlm.preset import ModelPreset
from retrieval.errors import ConfigError, NormalcyError


class ModelServerError(NormalcyError):
    """The model server cannot be reached or answered something unusable."""


class OpenAIBackend:
    """A model behind an OpenAI-compatible server.

    url: base URL ("http://host:8000/v1") or the full ".../chat/completions" endpoint.
    api_model: the server's model name. timeout_s: connect and per-read timeout.
    context_tokens: the served model's context window when configured (the server does not say).
    """

    def __init__(self, name: str, url: str, api_model: str, *, timeout_s: float = 120.0,
                 max_new_tokens: int = 384, min_pixels: int | None = None, max_pixels: int | None = None,
                 layout: str = "interleaved", context_tokens: int | None = None):
        self.name = name
        self.context_tokens = context_tokens
        self.endpoint = url.rstrip("/") if url.rstrip("/").endswith("/chat/completions") \
            else url.rstrip("/") + "/chat/completions"
        self.api_model = api_model
        self.timeout_s = timeout_s
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
                   context_tokens=preset.context_tokens)

    def _body(self, messages: list[Message], max_new_tokens: int | None, guided: bool, stream: bool) -> bytes:
        wire = wire_messages(messages, self.layout, *self.pixels)
        body = request_body(self.api_model, wire, max_tokens=max_new_tokens or self.max_new_tokens,
                            guided=guided, stream=stream)
        return json.dumps(body).encode("utf-8")

    def generate(self, messages: list[Message], *, max_new_tokens: int | None = None,
                 guided: bool = False) -> Generation:
        """One request; p_anomalous from the server's top_logprobs when it returns them."""
        start = time.perf_counter()
        with self._post(self._body(messages, max_new_tokens, guided, stream=False)) as response:
            raw = self._read(response)
        try:
            text, n_tokens, logprobs = parse_completion(json.loads(raw))
        except ValueError as exc:  # invalid JSON or MalformedResponse
            raise self._malformed(exc) from None
        return Generation(text=text, p_anomalous=p_anomalous_from_logprobs(logprobs), n_tokens=n_tokens,
                          seconds=time.perf_counter() - start)

    def stream(self, messages: list[Message], *, max_new_tokens: int | None = None) -> Iterator[str]:
        """Text deltas from the server's `data:` events, until `data: [DONE]` or the end of the body."""
        with self._post(self._body(messages, max_new_tokens, False, stream=True)) as response:
            while True:
                line = self._readline(response)
                if not line:
                    return
                try:
                    delta = parse_sse_line(line.decode("utf-8", errors="replace"))
                except MalformedResponse as exc:
                    raise self._malformed(exc) from None
                if delta is None:
                    return
                if delta:
                    yield delta

    def _post(self, body: bytes):
        request = urllib.request.Request(self.endpoint, data=body, method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "Accept": "application/json, text/event-stream"})
        try:
            return urllib.request.urlopen(request, timeout=self.timeout_s)
        except urllib.error.HTTPError as exc:
            raise ModelServerError(f"model server {self.endpoint} answered HTTP {exc.code}: "
                                   f"{_server_message(exc)}") from None
        except urllib.error.URLError as exc:
            raise self._unreachable(exc.reason) from None
        except (TimeoutError, socket.timeout, ConnectionError) as exc:
            raise self._unreachable(exc) from None

    def _read(self, response) -> bytes:
        try:
            return response.read()
        except (TimeoutError, socket.timeout, ConnectionError) as exc:
            raise self._unreachable(exc) from None

    def _readline(self, response) -> bytes:
        try:
            return response.readline()
        except (TimeoutError, socket.timeout, ConnectionError) as exc:
            raise self._unreachable(exc) from None

    def _unreachable(self, reason) -> ModelServerError:
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return ModelServerError(f"model server {self.endpoint} did not answer within {self.timeout_s:g} s; "
                                    "check the server's load or raise vlm.timeout_s")
        if isinstance(reason, ConnectionRefusedError):
            return ModelServerError(f"model server {self.endpoint} refused the connection; start the server "
                                    "(vLLM, SGLang, Ollama) or fix vlm.url")
        return ModelServerError(f"model server {self.endpoint} cannot be reached ({reason}); check vlm.url "
                                "and the plant network")

    def _malformed(self, exc: Exception) -> ModelServerError:
        return ModelServerError(f"model server {self.endpoint} sent a malformed response: {exc}")


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
