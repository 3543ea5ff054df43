"""The one parser from a model's words to the verdict schema (`MODEL_SCHEMA`), and the re-ask flow.

`parse_answer(text)` never raises. It finds JSON objects in the text (```json fences first, then
balanced `{...}` spans; an object cut off at the end is closed), repairs common breakage, normalises
the two fields, validates against `MODEL_SCHEMA`, and keeps the LAST object that validates (models
sometimes echo the schema or an example before answering).

Repairs: smart quotes, trailing commas, unquoted keys, bare-word values (`"correctness": normal`), Python
literals (single quotes, True/False/None, via `ast.literal_eval`, which never executes code), raw
newlines inside strings.
Normalisation, decided explicitly (exact, case-insensitive whole values only, never prefixes):
  correctness  0 / 1, 0.0 / 1.0, "0" / "1"                  → 0 / 1
               true / "true" / "normal"                      → 1   (the field asks "is the part correct?")
               false / "false" / "anomalous" / "abnormal" / "defective" → 0
               anything else (e.g. "yes", "no", 2, "maybe")  → invalid: the model is asked again
  reasoning    a string; a list of strings is joined with spaces; missing → invalid
  keys         matched case-insensitively; other keys are dropped (noted in `repairs`)
`verdict_from_model(backend, messages)`: generate → parse → if invalid, ONE re-ask turn (the bad
answer + a short correction) → if still invalid, status "unparsed" with every raw answer kept.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field

from assistant.reasoning.prompt_builder import render
from assistant.verdict import MODEL_SCHEMA
from assistant.vlm.backend import Backend, Generation
from assistant.vlm.messages import Message, assistant, user

MAX_CANDIDATE_CHARS = 50_000
TRUE_WORDS = {"true": 1, "normal": 1}
FALSE_WORDS = {"false": 0, "anomalous": 0, "abnormal": 0, "defective": 0}
SMART_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})
BARE_WORD = re.compile(r"(:\s*)(?!true\b|false\b|null\b)([A-Za-z_][A-Za-z_ ]*?)(\s*[,}])")
FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class ParsedAnswer:
    """status "ok": reasoning and correctness are valid; "unparsed": `problem` says why. raw_text is the input."""

    status: str
    raw_text: str
    reasoning: str | None = None
    correctness: int | None = None
    repairs: tuple[str, ...] = ()
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def parse_answer(text: str) -> ParsedAnswer:
    """Parse a model answer into the verdict fields; never raises (non-str input is "unparsed")."""
    if not isinstance(text, str):
        return ParsedAnswer("unparsed", str(text), problem=f"answer is {type(text).__name__}, not text")
    problem = "no JSON object found"
    found = None
    for candidate in candidates(text):
        data, repairs, error = load_object(candidate)
        if data is None:
            problem = error
            continue
        answer, error = normalise(data, repairs)
        if answer is None:
            problem = error
        else:
            found = answer
    if found is None:
        return ParsedAnswer("unparsed", text, problem=problem)
    reasoning, correctness, repairs = found
    return ParsedAnswer("ok", text, reasoning, correctness, tuple(repairs))


def candidates(text: str) -> list[str]:
    """Fenced blocks, then balanced top-level {...} spans of the whole text, in order of appearance."""
    fenced = [block for block in FENCE.findall(text) if "{" in block]
    spans = []
    for block in fenced + [text]:
        spans.extend(brace_spans(block))
    return [span for span in spans if len(span) <= MAX_CANDIDATE_CHARS]


def brace_spans(text: str) -> list[str]:
    """Top-level {...} spans, skipping braces inside double-quoted strings; a span still open at the
    end of the text is closed (missing quote and braces appended)."""
    spans, depth, start, in_string, escaped = [], 0, 0, False, False
    for i, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"' and depth:
            in_string = True
        elif char == "{":
            start = i if depth == 0 else start
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                spans.append(text[start:i + 1])
    if depth:
        spans.append(text[start:] + ('"' if in_string else "") + "}" * depth)
    return spans


def load_object(candidate: str) -> tuple[dict | None, list[str], str]:
    """json.loads, then cumulative repairs in order until one yields a dict.

    Returns (dict or None, names of the repairs applied, error of the last failed attempt).
    """
    steps = [("smart quotes", lambda s: s.translate(SMART_QUOTES), _loads),
             ("trailing commas", lambda s: re.sub(r",\s*([}\]])", r"\1", s), _loads),
             ("unquoted keys", lambda s: re.sub(r"([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:", r'\1"\2":', s), _loads),
             ("python literal", lambda s: s, _python_literal),
             ("bare word values", lambda s: BARE_WORD.sub(r'\1"\2"\3', s), _loads)]
    text, repairs = candidate, []
    data, error = _loads(text)
    for name, transform, loader in steps:
        if isinstance(data, dict):
            break
        fixed = transform(text)
        if fixed == text and loader is _loads:
            continue
        data, step_error = loader(fixed)
        if loader is _loads:  # transforms accumulate; the literal attempt leaves the text as it is
            text, error = fixed, step_error
        if loader is _loads or isinstance(data, dict):
            repairs.append(name)
    if not isinstance(data, dict):
        return None, [], error or "the JSON is not an object"
    return data, repairs, ""


def _loads(text: str) -> tuple[object | None, str]:
    try:
        return json.loads(text, strict=False), ""  # strict=False: raw newlines inside strings are accepted
    except (ValueError, RecursionError) as exc:
        return None, f"invalid JSON ({str(exc).splitlines()[0][:120]})"


def _python_literal(text: str) -> tuple[object | None, str]:
    """A Python dict literal ({'a': 'b', 'ok': True}); (None, error) when it is not one."""
    try:
        return ast.literal_eval(text), ""
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        return None, f"not a Python literal either ({type(exc).__name__})"


def normalise(data: dict, repairs: list[str]) -> tuple[tuple[str, int, list[str]] | None, str]:
    """(reasoning, correctness, repairs) per the module's table, or (None, problem)."""
    import jsonschema

    fields = {str(key).strip().lower(): value for key, value in data.items()}
    extra = sorted(set(fields) - set(MODEL_SCHEMA["properties"]))
    repairs = repairs + ([f"dropped keys {', '.join(extra)}"] if extra else [])
    reasoning = fields.get("reasoning")
    if isinstance(reasoning, list) and all(isinstance(item, str) for item in reasoning):
        reasoning, repairs = " ".join(reasoning), repairs + ["joined reasoning list"]
    correctness = coerce_correctness(fields.get("correctness"))
    answer = {"reasoning": reasoning, "correctness": correctness}
    try:
        jsonschema.validate(answer, MODEL_SCHEMA)
    except jsonschema.ValidationError as exc:
        return None, f"{'/'.join(map(str, exc.path)) or 'answer'}: {exc.message[:120]}"
    if correctness != fields.get("correctness") or isinstance(fields.get("correctness"), bool):
        repairs.append(f"correctness {fields.get('correctness')!r} read as {correctness}")
    return (reasoning, correctness, repairs), ""


def coerce_correctness(value: object) -> object:
    """The module table's mapping to 0/1; unknown values are returned unchanged (and fail validation)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return int(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("0", "1"):
            return int(word)
        return TRUE_WORDS.get(word, FALSE_WORDS.get(word, value))
    return value


@dataclass(frozen=True)
class ModelAnswer:
    """The outcome of asking the model for a verdict.

    status "ok" | "unparsed". raw_texts: every answer the model gave, in order (never dropped).
    p_anomalous: from the generation whose answer was parsed. messages: the conversation as sent,
    including the re-ask turn when there was one (so a follow-up can continue from it).
    """

    status: str
    reasoning: str | None
    correctness: int | None
    p_anomalous: float | None
    raw_texts: tuple[str, ...]
    generations: tuple[Generation, ...]
    messages: list[Message] = field(default_factory=list)
    problem: str | None = None

    @property
    def raw_text(self) -> str:
        return "\n\n".join(self.raw_texts)


def verdict_from_model(backend: Backend, messages: list[Message], *, max_new_tokens: int | None = None,
                       guided: bool = False) -> ModelAnswer:
    """Generate, parse, re-ask once if needed. Backend errors propagate; parsing never raises."""
    first = backend.generate(messages, max_new_tokens=max_new_tokens, guided=guided)
    parsed = parse_answer(first.text)
    if parsed.ok:
        return _answer(parsed, (first,), messages + [assistant(first.text)])
    retry = messages + [assistant(first.text), user(render("conversation", "reask", problem=parsed.problem))]
    second = backend.generate(retry, max_new_tokens=max_new_tokens, guided=guided)
    reparsed = parse_answer(second.text)
    return _answer(reparsed, (first, second), retry + [assistant(second.text)])


def _answer(parsed: ParsedAnswer, generations: tuple[Generation, ...], messages: list[Message]) -> ModelAnswer:
    return ModelAnswer(status=parsed.status, reasoning=parsed.reasoning, correctness=parsed.correctness,
                       p_anomalous=generations[-1].p_anomalous if parsed.ok else None,
                       raw_texts=tuple(g.text for g in generations), generations=generations,
                       messages=messages, problem=parsed.problem)
