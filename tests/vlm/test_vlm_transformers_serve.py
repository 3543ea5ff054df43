"""The OpenAI-compatible backend against a REAL server: `transformers serve` on loopback, serving a tiny
random Qwen2.5-VL built from the real config and processor files (tests/real_vlm_factory.py).

What it shows: images travel as data URLs and the server's processor turns them into image tokens,
streaming gives the same greedy text as a plain request, timeouts and dead endpoints are clear
errors, retries with backoff move to a working endpoint and health checks keep a dead one out, a
server killed mid-stream is a clear error with nothing of the partial answer kept in the session,
and, since `transformers serve` ignores `response_format`, guided=True falls back to the parser's re-ask.
"""

from __future__ import annotations

import json
import urllib.request

import pytest
from transformers_server import TransformersServer, free_port, missing_reason
from vlm_test_images import solid

from assistant.reasoning.answer_parser import verdict_from_model
from assistant.reasoning.conversation import Session
from assistant.vlm.http_backend import ModelServerError, OpenAIBackend
from assistant.vlm.messages import ImagePart, assistant, system, user
from assistant.vlm.openai_wire import request_body, wire_messages

pytestmark = pytest.mark.skipif(missing_reason() is not None, reason=missing_reason() or "")


@pytest.fixture(scope="module")
def server(real_model_dir, tmp_path_factory):
    with TransformersServer(real_model_dir("qwen2_5_vl"), tmp_path_factory.mktemp("serve")) as running:
        yield running


def _backend(server, **kw) -> OpenAIBackend:
    kw.setdefault("timeout_s", 60)
    return OpenAIBackend("served", server.url, str(server.folder), max_new_tokens=12, **kw)


def _messages(n_images: int = 2):
    images = [ImagePart(solid((40 * i, 120, 200), size=(64, 64)), f"Image {i}") for i in range(n_images)]
    return [system("You inspect parts."), user(*images, "Is this part defective?")]


def _usage(server, messages) -> dict:
    body = request_body(str(server.folder), wire_messages(messages), max_tokens=1, guided=False, stream=False)
    request = urllib.request.Request(server.url + "/chat/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["usage"]


def test_images_go_as_data_urls_and_become_image_tokens_on_the_server(server):
    one, two = _usage(server, _messages(1)), _usage(server, _messages(2))
    # a 64x64 image: Qwen2.5-VL min_pixels 3136 -> 56x56 -> 2x2 merged tokens + vision start/end + the label
    assert two["prompt_tokens"] - one["prompt_tokens"] >= 4 + 2
    generation = _backend(server).generate(_messages())
    assert isinstance(generation.text, str) and 1 <= generation.n_tokens <= 12
    assert generation.p_anomalous is None  # transformers serve returns no logprobs


def test_streaming_gives_the_same_greedy_text(server):
    backend = _backend(server)
    pieces = list(backend.stream(_messages()))
    # transformers serve strips leading whitespace off a non-streamed answer, not off the stream
    assert len(pieces) > 1 and "".join(pieces).lstrip() == backend.generate(_messages()).text.lstrip()


def test_guided_is_ignored_by_this_server_so_the_parser_re_asks(server):
    answer = verdict_from_model(_backend(server), _messages(), guided=True, max_new_tokens=12)
    assert len(answer.generations) == 2 and answer.messages[-2].role == "user"  # the re-ask turn
    assert answer.status == "unparsed" and len(answer.raw_texts) == 2


def test_a_request_that_outlasts_the_timeout_is_a_clear_error(server):
    with pytest.raises(ModelServerError, match="did not answer within 0.01 s"):
        _backend(server, timeout_s=0.01).generate(_messages(), max_new_tokens=32)


def test_retries_with_backoff_move_to_the_working_endpoint_and_health_keeps_the_dead_one_out(server):
    dead = f"http://127.0.0.1:{free_port()}/v1"
    backend = OpenAIBackend("pool", dead, str(server.folder), endpoints=(server.url,), retries=2, backoff_s=0.05,
                            max_new_tokens=4, timeout_s=60)
    first = backend.generate(_messages(1))  # dead endpoint first: refused, marked down, retried on the live one
    assert first.n_tokens >= 1
    dead_endpoint = backend.pool.endpoints[0]
    assert dead_endpoint.down_until > 0 and not backend.pool.healthy(dead_endpoint)
    dead_endpoint.down_until = backend.pool.clock() - 1  # cooldown over: only its health check may let it back
    assert [e.url for e in backend.pool.order()][0] == server.url + "/chat/completions"
    assert backend.pool.healthy(backend.pool.endpoints[1])
    only_dead = OpenAIBackend("dead", dead, "m", retries=1, backoff_s=0.05, timeout_s=5)
    with pytest.raises(ModelServerError, match="refused the connection.*after 2 attempts"):
        only_dead.generate(_messages(1))


def test_a_server_killed_mid_stream_is_a_clear_error_and_nothing_is_kept(server):
    """Kills the module's server, so it runs last here (pytest keeps file order); saves a second start."""
    backend = OpenAIBackend("doomed", server.url, str(server.folder), max_new_tokens=400, timeout_s=60, retries=0)
    messages = _messages(1)
    session = Session(backend, messages + [assistant('{"reasoning": "ok", "correctness": 1}')],
                      messages[1].images[0])
    before = list(session.history)
    stream = session.ask_stream("Where exactly?")
    first = next(stream)
    server.process.kill()
    with pytest.raises(ModelServerError, match="closed the stream before the answer was complete|cannot be reached"):
        for _ in stream:
            pass
    assert first and session.history == before  # neither the question nor a partial answer was kept
