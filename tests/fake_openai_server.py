"""`FakeOpenAIServer`: a loopback chat-completions server for tests (127.0.0.1, port 0, own thread).

A test tool: it does no inference. `mode` picks the behaviour: "plain" (JSON answer with logprobs),
"stream" (server-sent events), "error" (HTTP 400 with an OpenAI-style error body), "garbage"
(200 with a body that is not a completion), "slow" (answers after `delay` seconds), "cut" (a stream
that stops after its first chunk, without finish_reason or [DONE]), "busy" (HTTP 503 for the first
`failures` requests, then "plain"). Requests are
recorded in `requests` (parsed JSON bodies).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = '{"reasoning": "a dent", "correctness": 0}'


def completion(text: str = ANSWER, p_zero: float = 0.8) -> dict:
    """A chat completion whose logprobs put the value token "0" at log(p_zero) and "1" at log(1 - p_zero)."""
    import math

    head, value, tail = text.rpartition('": ')[0] + '": ', text.rstrip("}")[-1], "}"
    tokens = [{"token": head, "logprob": -0.01, "top_logprobs": []},
              {"token": value, "logprob": math.log(p_zero if value == "0" else 1 - p_zero),
               "top_logprobs": [{"token": "0", "logprob": math.log(p_zero)},
                                {"token": "1", "logprob": math.log(1 - p_zero)}]},
              {"token": tail, "logprob": -0.01, "top_logprobs": []}]
    return {"id": "x", "object": "chat.completion", "usage": {"completion_tokens": 3},
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "logprobs": {"content": tokens}, "finish_reason": "stop"}]}


class FakeOpenAIServer:
    def __init__(self, mode: str = "plain", delay: float = 0.0, chunks: list[str] | None = None, failures: int = 1):
        self.mode, self.delay, self.failures = mode, delay, failures
        self.chunks = chunks or ['{"reasoning": ', '"a dent", ', '"correctness": 0}']
        self.requests: list[dict] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        return type("BoundHandler", (_Handler,), {"fake": self})


class _Handler(BaseHTTPRequestHandler):
    """Answers according to `self.fake.mode` (bound per server by `FakeOpenAIServer._handler`)."""

    fake: FakeOpenAIServer

    def log_message(self, *args):  # keep test output quiet
        return

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.fake.requests.append({"path": self.path, "body": body})
        time.sleep(self.fake.delay)
        getattr(self, f"_{self.fake.mode}")()

    def _send(self, status: int, payload: bytes, kind: str = "application/json"):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        try:
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client timed out and left (the timeout test): nothing to answer

    def _plain(self):
        self._send(200, json.dumps(completion()).encode())

    _slow = _plain

    def _error(self):
        self._send(400, json.dumps({"error": {"message": "image too large for this model\nmore"}}).encode())

    def _busy(self):
        if len(self.fake.requests) <= self.fake.failures:
            self._send(503, json.dumps({"error": {"message": "model is loading"}}).encode())
        else:
            self._plain()

    def _cut(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        event = {"choices": [{"index": 0, "delta": {"content": self.fake.chunks[0]}}]}
        self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
        self.wfile.flush()
        self.close_connection = True

    def _garbage(self):
        self._send(200, b"<html>proxy login</html>", "text/html")

    def _stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        self.wfile.write(b": keep-alive\n\n")
        for piece in self.fake.chunks:
            event = {"choices": [{"index": 0, "delta": {"content": piece}}]}
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
