"""The backend-neutral conversation: a list of `Message`s, each a tuple of text and image parts.

A turn may carry several images (k references, the query, an overlay); an image's optional `label`
is rendered by every backend as a text line right before that image, so the model knows which
picture is which. History is just the list: append the assistant's answer and the next question.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Union

from PIL import Image

Role = Literal["system", "user", "assistant"]
ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class TextPart:
    text: str


@dataclass(frozen=True)
class ImagePart:
    """One RGB image in a turn; `label` (e.g. "Reference 1 (normal)") is shown just before it."""

    image: Image.Image
    label: str | None = None


Part = Union[TextPart, ImagePart]


@dataclass(frozen=True)
class Message:
    role: Role
    parts: tuple[Part, ...]

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"message role must be one of {ROLES}, got {self.role!r}")
        if not isinstance(self.parts, tuple):
            object.__setattr__(self, "parts", tuple(self.parts))
        for part in self.parts:
            if not isinstance(part, (TextPart, ImagePart)):
                raise TypeError(f"message parts must be TextPart or ImagePart, got {type(part).__name__}")

    @property
    def images(self) -> list[Image.Image]:
        return [part.image for part in self.parts if isinstance(part, ImagePart)]

    @property
    def text(self) -> str:
        """All text of the turn (labels included), joined by newlines."""
        return "\n".join(chunk for kind, chunk in iter_chunks(self) if kind == "text")


def system(text: str) -> Message:
    return Message("system", (TextPart(text),))


def user(*parts: Part | str | Image.Image) -> Message:
    """A user turn; plain strings become `TextPart`s, bare PIL images unlabelled `ImagePart`s."""
    return Message("user", tuple(TextPart(p) if isinstance(p, str) else ImagePart(p) if isinstance(p, Image.Image)
                                 else p for p in parts))


def assistant(text: str) -> Message:
    return Message("assistant", (TextPart(text),))


def iter_chunks(message: Message):
    """Yield ("text", str) and ("image", PIL.Image) in display order, labels as text before their image.

    This is the one place that decides how a labelled image is laid out; backends consume it.
    """
    for part in message.parts:
        if isinstance(part, TextPart):
            yield "text", part.text
        else:
            if part.label:
                yield "text", part.label
            yield "image", part.image


def layout_chunks(message: Message, layout: str = "interleaved") -> list[tuple[str, object]]:
    """The turn's chunks in the order a chat template should see them.

    layout "interleaved": text and images in message order, each label right before its image.
    layout "images_first": every image first, then one text holding a legend ("Image 2: <label>") and
    the texts, for families whose chat template renders a turn's images before its text (LLaVA's).
    """
    if layout == "interleaved":
        return list(iter_chunks(message))
    if layout != "images_first":
        raise ValueError(f"layout must be 'interleaved' or 'images_first', got {layout!r}")
    images = [("image", part.image) for part in message.parts if isinstance(part, ImagePart)]
    legend = [f"Image {i}: {part.label}" for i, part in
              enumerate((p for p in message.parts if isinstance(p, ImagePart)), start=1) if part.label]
    texts = legend + [part.text for part in message.parts if isinstance(part, TextPart)]
    return images + ([("text", "\n".join(texts))] if texts else [])


def count_images(messages: list[Message]) -> int:
    return sum(len(m.images) for m in messages)
