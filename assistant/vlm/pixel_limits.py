"""Image pixel limits: keep each image's pixel count within [min_pixels, max_pixels].

Image tokens grow with pixels (Qwen-VL: one token per 28x28 patch), so the limits bound the prompt
length and the memory of one inspection. Families whose processor resizes within limits itself get
the limits handed to the processor; for the others, and for HTTP backends, images are resized here.
"""

from __future__ import annotations

import dataclasses
import math

from PIL import Image


def fit_pixels(image: Image.Image, min_pixels: int | None, max_pixels: int | None) -> Image.Image:
    """`image` scaled (aspect kept, bicubic) so that min_pixels <= width*height <= max_pixels.

    Returns the image itself when it already fits or no limit is set. Sides never drop below 1 px.
    """
    width, height = image.size
    pixels = width * height
    scale = 1.0
    if max_pixels and pixels > max_pixels:
        scale = math.sqrt(max_pixels / pixels)
    elif min_pixels and pixels < min_pixels:
        scale = math.sqrt(min_pixels / pixels)
    if scale == 1.0:
        return image
    size = (max(1, int(width * scale)), max(1, int(height * scale)))
    return image.resize(size, Image.Resampling.BICUBIC)


def set_processor_limits(image_processor, min_pixels: int | None, max_pixels: int | None) -> None:
    """Qwen-VL style processors: `size` = {"shortest_edge": min pixels, "longest_edge": max pixels}."""
    changes = {}
    if min_pixels:
        changes["shortest_edge"] = min_pixels
    if max_pixels:
        changes["longest_edge"] = max_pixels
    if not changes:
        return
    size = image_processor.size
    if dataclasses.is_dataclass(size):
        image_processor.size = dataclasses.replace(size, **changes)
    else:
        image_processor.size = {**(size or {}), **changes}
