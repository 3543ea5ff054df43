"""The OpenAI chat-completions wire format: request bodies and response parsing, no I/O.

Request: messages with text parts and images as base64 PNG data URLs, greedy (temperature 0),
optional `response_format: {"type": "json_schema", ...}` built from `MODEL_SCHEMA` (guided decoding
on vLLM / SGLang / Ollama), and `logprobs` + `top_logprobs` so P(correctness = 0) can be read at the
value token. Responses that do not have the expected shape raise `MalformedResponse` (a ValueError
the transport turns into a one-line `ModelServerError`).
"""

from __future__ import annotations

import base64
import io
import json
import math

from assistant.verdict import MODEL_SCHEMA
from assistant.vlm.messages import Message, layout_chunks
from assistant.vlm.pixel_limits import fit_pixels
from assistant.vlm.value_logits import VALUE_PATTERN, two_way_softmax

TOP_LOGPROBS = 5


class MalformedResponse(ValueError):
    """The server's answer does not have the chat-completions shape; the message says what is off."""


def image_url(image, min_pixels: int | None = None, max_pixels: int | None = None) -> str:
    """A PIL image as a `data:image/png;base64,...` URL, resized to the pixel limits first."""
    buffer = io.BytesIO()
    fit_pixels(image.convert("RGB"), min_pixels, max_pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def wire_messages(messages: list[Message], layout: str = "interleaved", min_pixels: int | None = None,
                  max_pixels: int | None = None) -> list[dict]:
    """Messages → OpenAI messages; a turn without images is sent as a plain string."""
    wire = []
    for message in messages:
        chunks = layout_chunks(message, layout)
        if all(kind == "text" for kind, _ in chunks):
            wire.append({"role": message.role, "content": "\n".join(value for _, value in chunks)})
            continue
        content = [{"type": "text", "text": value} if kind == "text" else
                   {"type": "image_url", "image_url": {"url": image_url(value, min_pixels, max_pixels)}}
                   for kind, value in chunks]
        wire.append({"role": message.role, "content": content})
    return wire


def request_body(model: str, wire: list[dict], *, max_tokens: int, guided: bool, stream: bool) -> dict:
    body = {"model": model, "messages": wire, "max_tokens": max_tokens, "temperature": 0, "stream": stream}
    if guided:
        body["response_format"] = {"type": "json_schema",
                                   "json_schema": {"name": "verdict", "schema": MODEL_SCHEMA, "strict": True}}
    if not stream:
        body["logprobs"] = True
        body["top_logprobs"] = TOP_LOGPROBS
    return body


def parse_completion(data: object) -> tuple[str, int, list[dict] | None]:
    """A non-streaming response → (text, completion tokens, logprobs content list or None)."""
    try:
        choice = data["choices"][0]
        text = choice["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise MalformedResponse(f"no choices[0].message.content ({type(exc).__name__}: {exc})") from None
    if not isinstance(text, str):
        raise MalformedResponse(f"choices[0].message.content is {type(text).__name__}, not text")
    usage = data.get("usage") or {}
    n_tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    logprobs = (choice.get("logprobs") or {}).get("content") if isinstance(choice.get("logprobs"), dict) else None
    return text, int(n_tokens) if isinstance(n_tokens, int) else 0, logprobs if isinstance(logprobs, list) else None


def parse_sse_line(line: str) -> str | None:
    """One server-sent-events line → the text delta ("" for none); None at `data: [DONE]`."""
    delta, finished = parse_sse_event(line)
    return None if finished and delta is None else delta or ""


def parse_sse_event(line: str) -> tuple[str | None, bool]:
    """One server-sent-events line → (text delta or None, whether the answer is finished).

    Finished at `data: [DONE]` (delta None) or at a chunk with a `finish_reason` (vLLM sends both;
    `transformers serve` ends with the finish_reason chunk only, no [DONE]).
    """
    line = line.strip()
    if not line.startswith("data:"):
        return "", False  # blank keep-alive lines, comments (":"), event names
    payload = line[len("data:"):].strip()
    if payload == "[DONE]":
        return None, True
    try:
        data = json.loads(payload)
        choice = data["choices"][0] if data.get("choices") else {}
        delta = choice.get("delta") or {}
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise MalformedResponse(f"stream event is not a chat-completion chunk ({exc})") from None
    content = delta.get("content") if isinstance(delta, dict) else None
    return (content if isinstance(content, str) else ""), bool(choice.get("finish_reason"))


def p_anomalous_from_logprobs(logprobs: list[dict] | None) -> float | None:
    """P(correctness = 0) from the top_logprobs at the token that holds the correctness value.

    Both digits among the alternatives: softmax of their logprobs. Only the chosen one: its probability p
    against 1 - p (the rest of the mass). None without logprobs or without a value token.
    """
    if not logprobs:
        return None
    tokens = [entry.get("token", "") if isinstance(entry, dict) else "" for entry in logprobs]
    text = "".join(tokens)
    matches = list(VALUE_PATTERN.finditer(text))
    if not matches:
        return None
    offset, position = matches[-1].start(1), 0
    for entry, token in zip(logprobs, tokens):
        if position + len(token) > offset:
            return _digit_probability(entry, token, offset - position)
        position += len(token)
    return None


def _digit_probability(entry: dict, token: str, index: int) -> float | None:
    rest = token[:index] + token[index + 1:]
    found: dict[str, float] = {}
    for alt in entry.get("top_logprobs") or [{"token": token, "logprob": entry.get("logprob")}]:
        alt_token, logprob = alt.get("token", ""), alt.get("logprob")
        if len(alt_token) == len(token) and alt_token[index:index + 1] in ("0", "1") and \
                alt_token[:index] + alt_token[index + 1:] == rest and isinstance(logprob, (int, float)):
            found.setdefault(alt_token[index], float(logprob))
    if "0" in found and "1" in found:
        return two_way_softmax(found["0"], found["1"])
    if len(found) == 1:
        digit, logprob = next(iter(found.items()))
        p = min(1.0, math.exp(logprob))
        return p if digit == "0" else 1.0 - p
    return None
