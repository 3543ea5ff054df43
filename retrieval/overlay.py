"""Anomaly overlays as images: heatmap, contour of the threshold level, bounding box of the hot region.

Maps are given in anomaly-score units (1.0 = the class threshold), so colours mean the same thing for
every class: blue well below the threshold, yellow at it, red above.
"""

from __future__ import annotations

import numpy as np

STYLES = ("heatmap", "contour", "box", "all")
# (position in [0, 1], RGB) anchors of the colour scale; score 0 -> 0.0, score 2 (twice the threshold) -> 1.0
_ANCHORS = [(0.0, (20, 30, 140)), (0.3, (30, 140, 230)), (0.5, (250, 220, 40)),
            (0.75, (245, 110, 20)), (1.0, (200, 0, 20))]
_BOX_COLOUR = (255, 40, 40)
_CAPTION_INK, _CAPTION_BACK = (255, 255, 255), (0, 0, 0)


def colorize(score_map: np.ndarray) -> np.ndarray:
    """(H, W) scores (1.0 = threshold) -> (H, W, 3) uint8 colours."""
    position = np.clip(score_map / 2.0, 0.0, 1.0)
    stops = np.array([a for a, _ in _ANCHORS])
    colours = np.array([c for _, c in _ANCHORS], dtype=np.float32)
    channels = [np.interp(position, stops, colours[:, i]) for i in range(3)]
    return np.stack(channels, axis=-1).astype(np.uint8)


def heatmap(image, score_map: np.ndarray, alpha: float = 0.45):
    """RGB PIL image + (H, W) scores at the image's size -> blended PIL image."""
    from PIL import Image

    base = np.asarray(image.convert("RGB"), dtype=np.float32)
    blended = (1 - alpha) * base + alpha * colorize(score_map).astype(np.float32)
    return Image.fromarray(blended.clip(0, 255).astype(np.uint8))


def contour(image, score_map: np.ndarray, level: float = 1.0):
    """Draw the outline of the region where scores >= level."""
    from PIL import Image

    inside = score_map >= level
    edge = np.zeros_like(inside)
    edge[1:, :] |= inside[1:, :] != inside[:-1, :]
    edge[:, 1:] |= inside[:, 1:] != inside[:, :-1]
    thick = edge | np.roll(edge, 1, 0) | np.roll(edge, 1, 1)
    out = np.asarray(image.convert("RGB")).copy()
    out[thick] = _BOX_COLOUR
    return Image.fromarray(out)


def box(image, rect: list[int] | None, width: int = 3):
    """Draw a rectangle [x0, y0, x1, y1] (pixels) on a copy of the image; None draws nothing."""
    from PIL import ImageDraw

    out = image.convert("RGB").copy()
    if rect:
        x0, y0, x1, y1 = rect
        ImageDraw.Draw(out).rectangle([x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)], outline=_BOX_COLOUR, width=width)
    return out


def caption(image, text: str | None):
    """Write `text` (which map this is) small in the top-left corner, white on black, so the model and the
    operator both read which map an overlay shows; None writes nothing. The image keeps its size: on a
    narrow image the words wrap and the letters shrink (to 6 px at least) to fit its width."""
    from PIL import ImageDraw

    if not text:
        return image
    draw = ImageDraw.Draw(image)
    words, font = _fitted(draw, text, image.width - 4)
    *_, right, bottom = draw.multiline_textbbox((2, 2), words, font=font)
    draw.rectangle([0, 0, right + 2, bottom + 2], fill=_CAPTION_BACK)
    draw.multiline_text((2, 2), words, fill=_CAPTION_INK, font=font)
    return image


def _fitted(draw, text: str, width: int):
    """(text, font): one line at the image's caption size if it fits in `width`, else wrapped before " + "
    and " (", shrunk until it fits (or 6 px)."""
    from PIL import ImageFont

    wrapped = text.replace(" + ", "\n+ ").replace(" (", "\n(")
    for size in range(max(10, width // 40), 5, -1):
        font = ImageFont.load_default(size=size)
        for words in (text, wrapped):
            if draw.multiline_textbbox((0, 0), words, font=font)[2] <= width:
                return words, font
    return wrapped, font


def render(image, score_map: np.ndarray, rect: list[int] | None, style: str = "all", title: str | None = None):
    """One overlay in the requested style ("heatmap", "contour", "box" or "all" of them), captioned `title`."""
    if style not in STYLES:
        raise ValueError(f"overlay style must be one of {STYLES}, got {style!r}")
    if style == "heatmap":
        drawn = heatmap(image, score_map)
    elif style == "contour":
        drawn = contour(image, score_map)
    elif style == "box":
        drawn = box(image, rect)
    else:
        drawn = box(contour(heatmap(image, score_map), score_map), rect)
    return caption(drawn, title)
