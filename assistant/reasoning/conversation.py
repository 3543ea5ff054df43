"""A conversation about one inspection, over any `Backend`.

`Session` keeps the inspection context — the initial messages (query, references, overlay, rules),
the model's verdict answer — so follow-up questions are answered with the images still in context.
`look_closer(box)` adds a zoomed crop of the query as an extra image turn.

History policy when the context fills up: the system turn, the first user turn (with the images)
and the model's first answer are always kept, then the newest turns; whole user/assistant pairs are
dropped from the middle, and the first kept newer user turn starts with a note saying how many turns
were dropped; `Session.notes` says which turns and why. Tokens are counted exactly by the backend's
`count_tokens` (the transformers backend runs the real processor, so image tokens are the model's),
else estimated (characters / 4 + a fixed cost per image). The context size is the backend's
`context_tokens` (the model's window, or the configured one), minus the answer budget.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from PIL import Image

from assistant.reasoning.answer_parser import ModelAnswer, verdict_from_model
from assistant.reasoning.prompt_builder import render
from assistant.vlm.backend import Backend, Generation
from assistant.vlm.messages import ImagePart, Message, TextPart, assistant, user
from retrieval.errors import BadInput

CHARS_PER_TOKEN = 4
IMAGE_TOKENS = 768  # rough cost of one image when the backend cannot count (Qwen-VL at 512 px ~ 330-600)
DEFAULT_CONTEXT_TOKENS = 8192


def estimate_tokens(messages: list[Message]) -> int:
    """Character heuristic: text / 4 + IMAGE_TOKENS per image + 4 per turn of template overhead."""
    return sum(len(m.text) // CHARS_PER_TOKEN + IMAGE_TOKENS * len(m.images) + 4 for m in messages)


def zoom_region(image: Image.Image, box: tuple[int, int, int, int], *, pad: float = 0.15,
                min_side: int = 448) -> Image.Image:
    """Crop `box` = (x0, y0, x1, y1) in image pixels, padded by `pad` x its size on each side (at least
    8 px), clamped to the image, then upscaled (bicubic, aspect kept) so the shorter side is >= min_side.
    """
    if len(box) != 4:
        raise BadInput(f"box must be x0,y0,x1,y1 in image pixels, got {box!r}")
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    width, height = image.size
    if x1 <= x0 or y1 <= y0:
        raise BadInput(f"box {box} is empty; give x0 < x1 and y0 < y1 in image pixels")
    pad_x, pad_y = max(8, int((x1 - x0) * pad)), max(8, int((y1 - y0) * pad))
    left, top = max(0, x0 - pad_x), max(0, y0 - pad_y)
    right, bottom = min(width, x1 + pad_x), min(height, y1 + pad_y)
    if right <= left or bottom <= top:
        raise BadInput(f"box {box} lies outside the {width}x{height} image to inspect")
    crop = image.crop((left, top, right, bottom))
    scale = max(1.0, min_side / min(crop.size))
    if scale > 1.0:
        crop = crop.resize((round(crop.width * scale), round(crop.height * scale)), Image.Resampling.BICUBIC)
    return crop


def fit_history(messages: list[Message], budget: int,
                count: Callable[[list[Message]], int]) -> tuple[list[Message], int]:
    """(messages that fit in `budget` tokens, number of turns dropped). See the module's policy.

    The whole history is counted first; only when it does not fit are turns dropped: as many as the
    per-turn counts say, then more, one pair at a time, until `count` of what would be sent fits.
    The head (system turns, first user turn, the answer right after it) and the last user turn are
    always kept, even when they alone exceed the budget.
    """
    head_end = _head_length(messages)
    head, tail = messages[:head_end], messages[head_end:]
    if len(tail) <= 1 or count(messages) <= budget:
        return list(messages), 0
    head_cost, costs = count(head), [count([m]) for m in tail]
    dropped = 0
    while len(tail) - dropped > 1 and head_cost + sum(costs[dropped:]) + 40 > budget:
        dropped = _drop_pair(tail, dropped)
    while True:
        fitted = _with_note(head, tail, dropped)
        if dropped >= len(tail) - 1 or (dropped and count(fitted) <= budget):
            return fitted, dropped
        dropped = _drop_pair(tail, dropped)


def _drop_pair(tail: list[Message], dropped: int) -> int:
    """Drop one more user/assistant pair; the kept part starts with a user turn, so roles keep alternating."""
    dropped += 2 if len(tail) - dropped > 2 else 1
    while dropped < len(tail) - 1 and tail[dropped].role != "user":
        dropped += 1
    return dropped


def _with_note(head: list[Message], tail: list[Message], dropped: int) -> list[Message]:
    if dropped == 0:
        return head + tail
    first = tail[dropped]
    noted = Message(first.role, (TextPart(render("conversation", "dropped_turns", n=dropped)),) + first.parts)
    return head + [noted] + tail[dropped + 1:]


def _head_length(messages: list[Message]) -> int:
    index = 0
    while index < len(messages) and messages[index].role == "system":
        index += 1
    index += 1  # the first user turn, with the inspection images
    if index < len(messages) and messages[index].role == "assistant":
        index += 1
    return min(index, len(messages))


class Session:
    """One inspection's conversation.

    backend: any Backend. messages: the initial message list (from `prompt_builder.build_messages`).
    query: the image to inspect (for `look_closer`). context_tokens: the model's context size.
    count_tokens: exact counter (e.g. `TransformersBackend.count_tokens`); None = character heuristic.
    """

    def __init__(self, backend: Backend, messages: list[Message], query: Image.Image, *,
                 context_tokens: int | None = None, count_tokens: Callable[[list[Message]], int] | None = None,
                 max_new_tokens: int | None = None):
        self.backend = backend
        self.history: list[Message] = list(messages)
        self.query = query
        self.answer: ModelAnswer | None = None
        self.notes: list[str] = []
        self.max_new_tokens = max_new_tokens
        self.context_tokens = context_tokens or getattr(backend, "context_tokens", None) or DEFAULT_CONTEXT_TOKENS
        self.answer_tokens = max_new_tokens or getattr(backend, "max_new_tokens", None) or 512
        self._counter = count_tokens or getattr(backend, "count_tokens", None) or estimate_tokens
        self._counts: dict[tuple[int, ...], tuple[tuple[Message, ...], int]] = {}

    def _count(self, messages: list[Message]) -> int:
        """Token count, cached per run of messages (the cache keeps them alive, so their ids stay unique)."""
        key = tuple(id(m) for m in messages)
        if key not in self._counts:
            self._counts[key] = (tuple(messages), self._counter(messages))
        return self._counts[key][1]

    def inspect(self, *, guided: bool = True) -> ModelAnswer:
        """Ask for the verdict (parse, one re-ask if needed); the answer joins the history."""
        self._check_fits(self.history)
        self.answer = verdict_from_model(self.backend, self.history, max_new_tokens=self.max_new_tokens,
                                         guided=guided)
        self.history = list(self.answer.messages)
        return self.answer

    @property
    def budget(self) -> int:
        """Prompt tokens that leave room for the answer in the context window."""
        return self.context_tokens - self.answer_tokens

    def fits(self) -> bool:
        """Whether the history as it stands fits the prompt budget (no turn dropped)."""
        return self._count(self.history) <= self.budget

    def context(self) -> list[Message]:
        """The history as it will be sent: fitted to the context budget (see `fit_history`); what was
        dropped, or that the inspection prompt alone is too long, is said in `notes`."""
        fitted, dropped = fit_history(self.history, self.budget, self._count)
        if dropped:
            first = _head_length(self.history) + 1
            self.notes.append(f"messages {first}-{first + dropped - 1} of {len(self.history)} (earlier follow-up "
                              f"turns) were left out: the conversation needs {self._count(self.history)} tokens, "
                              f"the model's context of {self.context_tokens} leaves {self.budget} for the prompt")
        self._check_fits(fitted)
        return fitted

    def _check_fits(self, messages: list[Message]) -> None:
        needed = self._count(messages)
        if needed > self.budget:
            self.notes.append(f"the prompt needs {needed} tokens, more than the {self.budget} the model's context of "
                              f"{self.context_tokens} leaves; nothing more can be dropped (show fewer reference "
                              "images or lower max_pixels)")

    def ask(self, question: str, *images: ImagePart) -> Generation:
        """A follow-up question (optionally with extra images); the answer joins the history."""
        self.history.append(user(*images, question))
        generation = self.backend.generate(self.context(), max_new_tokens=self.max_new_tokens)
        self.history.append(assistant(generation.text))
        return generation

    def ask_stream(self, question: str, *images: ImagePart | tuple[str, Image.Image]) -> Iterator[str]:
        """Like `ask`, streaming text deltas; the full answer joins the history when the stream ends.
        `images` may also be (label, image) pairs (e.g. a follow-up's crops, `FollowUp.for_model`).

        When the consumer stops early, the answer so far joins the history (the operator cut it short).
        When the backend fails mid-answer (e.g. the server died), the question is taken back out and
        nothing of the partial answer is kept; the error propagates.
        """
        images = tuple(part if isinstance(part, ImagePart) else ImagePart(part[1], part[0]) for part in images)
        self.history.append(user(*images, question))
        pieces: list[str] = []
        failed = False
        try:
            for delta in self.backend.stream(self.context(), max_new_tokens=self.max_new_tokens):
                pieces.append(delta)
                yield delta
        except Exception:
            failed = True
            self.history.pop()
            raise
        finally:
            if not failed:
                self.history.append(assistant("".join(pieces)))

    def look_closer(self, box: tuple[int, int, int, int], question: str | None = None) -> Generation:
        """Zoom into `box` (x0, y0, x1, y1 in query pixels) and ask about it as an extra image turn."""
        crop = zoom_region(self.query, box)
        x0, y0, x1, y1 = box
        text = render("conversation", "look_closer", x0=x0, y0=y0, x1=x1, y1=y1)
        return self.ask(text + ("\n" + question if question else ""),
                        ImagePart(crop, render("conversation", "look_closer_label")))
