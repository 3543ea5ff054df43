"""The OpenAI-compatible backend against a loopback fake server (no network beyond 127.0.0.1)."""

from __future__ import annotations

import base64
import io
import socket

import pytest
from vlm_test_images import solid
from fake_openai_server import ANSWER, FakeOpenAIServer
from PIL import Image

from assistant.reasoning.answer_parser import verdict_from_model
from assistant.vlm.backend import Backend
from assistant.vlm.http_backend import ModelServerError, OpenAIBackend
from assistant.vlm.messages import ImagePart, system, user
from assistant.vlm.openai_wire import p_anomalous_from_logprobs, parse_sse_line


def _messages():
    reference, query = ImagePart(solid(size=(800, 600)), "Reference 1"), ImagePart(solid((200, 0, 0)), "Query")
    return [system("You inspect parts."), user(reference, query, "Defective?")]


def test_plain_request_sends_images_as_png_data_urls_and_reads_p_anomalous():
    with FakeOpenAIServer("plain") as server:
        backend = OpenAIBackend("srv", server.url, "qwen-vl", max_pixels=100_000)
        assert isinstance(backend, Backend)
        generation = backend.generate(_messages(), max_new_tokens=50)
    assert generation.text == ANSWER and generation.n_tokens == 3
    assert generation.p_anomalous == pytest.approx(0.8)
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions"
    body = request["body"]
    assert (body["model"], body["max_tokens"], body["temperature"], body["stream"]) == ("qwen-vl", 50, 0, False)
    assert body["logprobs"] is True and "response_format" not in body
    assert body["messages"][0] == {"role": "system", "content": "You inspect parts."}
    parts = body["messages"][1]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "text", "image_url", "text"]
    url = parts[1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert image.width * image.height <= 100_000  # resized before upload


def test_guided_request_asks_for_the_verdict_json_schema():
    from assistant.verdict import MODEL_SCHEMA

    with FakeOpenAIServer("plain") as server:
        answer = verdict_from_model(OpenAIBackend("srv", server.url, "m"), _messages(), guided=True)
    assert answer.status == "ok" and answer.correctness == 0 and answer.p_anomalous == pytest.approx(0.8)
    format_ = server.requests[0]["body"]["response_format"]
    assert format_["type"] == "json_schema" and format_["json_schema"]["schema"] == MODEL_SCHEMA


def test_streaming_yields_the_server_sent_deltas():
    with FakeOpenAIServer("stream") as server:
        pieces = list(OpenAIBackend("srv", server.url, "m").stream(_messages()))
    assert pieces == ['{"reasoning": ', '"a dent", ', '"correctness": 0}']
    assert server.requests[0]["body"]["stream"] is True


def test_http_error_shows_status_and_the_servers_message_on_one_line():
    with FakeOpenAIServer("error") as server, pytest.raises(ModelServerError) as caught:
        OpenAIBackend("srv", server.url, "m").generate(_messages())
    assert "HTTP 400: image too large for this model" in str(caught.value) and "\n" not in str(caught.value)


def test_malformed_response_is_a_clear_error():
    with FakeOpenAIServer("garbage") as server, pytest.raises(ModelServerError, match="malformed response"):
        OpenAIBackend("srv", server.url, "m").generate(_messages())


def test_timeout_is_a_clear_error():
    with FakeOpenAIServer("slow", delay=1.0) as server, pytest.raises(ModelServerError, match="within 0.2 s"):
        OpenAIBackend("srv", server.url, "m", timeout_s=0.2).generate(_messages())


def test_connection_refused_says_to_start_the_server():
    with socket.socket() as sock:  # a port that was free a moment ago and has no listener now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ModelServerError, match="refused the connection; start the server"):
        OpenAIBackend("srv", f"http://127.0.0.1:{port}/v1", "m", timeout_s=2).generate(_messages())


def test_sse_lines_and_logprob_edge_cases():
    assert parse_sse_line("data: [DONE]") is None
    assert parse_sse_line(": comment") == "" and parse_sse_line("") == ""
    assert parse_sse_line('data: {"choices": [{"delta": {"content": "hi"}}]}') == "hi"
    assert p_anomalous_from_logprobs(None) is None
    only_one = [{"token": '{"correctness": ', "logprob": 0.0}, {"token": "1", "logprob": -0.5, "top_logprobs": []}]
    assert p_anomalous_from_logprobs(only_one) == pytest.approx(1 - 0.6065, abs=1e-3)


def test_preset_without_url_is_a_config_error():
    from assistant.vlm.preset import ModelPreset
    from retrieval.errors import ConfigError

    with pytest.raises(ConfigError, match="url"):
        OpenAIBackend.from_preset(ModelPreset(name="x", backend="openai"))


def test_several_endpoints_are_used_round_robin():
    with FakeOpenAIServer("plain") as first, FakeOpenAIServer("plain") as second:
        backend = OpenAIBackend("pool", first.url, "m", endpoints=(second.url,))
        for _ in range(4):
            backend.generate(_messages())
    assert (len(first.requests), len(second.requests)) == (2, 2)


def test_a_busy_server_is_retried_with_backoff(monkeypatch):
    import time

    waits = []
    monkeypatch.setattr(time, "sleep", waits.append)
    with FakeOpenAIServer("busy", failures=2) as server:
        generation = OpenAIBackend("srv", server.url, "m", retries=2, backoff_s=0.5).generate(_messages())
    assert generation.text == ANSWER and len(server.requests) == 3
    assert [w for w in waits if w] == [0.5, 1.0]  # the fake server's own sleep(0) calls aside
    with FakeOpenAIServer("busy", failures=5) as server, pytest.raises(ModelServerError) as caught:
        OpenAIBackend("srv", server.url, "m", retries=1).generate(_messages())
    assert "HTTP 503: model is loading (after 2 attempts)" in str(caught.value)


def test_a_stream_cut_off_before_its_end_is_an_error_not_a_short_answer():
    with FakeOpenAIServer("cut") as server, pytest.raises(ModelServerError, match="closed the stream before"):
        list(OpenAIBackend("srv", server.url, "m").stream(_messages()))


def test_transformers_serve_ends_a_stream_with_finish_reason_only():
    from assistant.vlm.openai_wire import parse_sse_event

    last = 'data: {"choices": [{"delta": {}, "index": 0, "finish_reason": "length"}]}'
    assert parse_sse_event(last) == ("", True) and parse_sse_event("data: [DONE]") == (None, True)
    assert parse_sse_event('data: {"choices": [{"delta": {"content": "x"}}]}') == ("x", False)
