"""Operator input -> a validated RGB image with its provenance.

Every way an image can be bad gets one line that says what is wrong and what to do (a `BadInput`):
missing, empty, too large, not an image, named as one format but holding another, truncated, or over
the pixel limit. Cost is judged from the header before anything is decoded: the pixel count
(`inputs.max_pixels`; a decompression bomb says "too large" and which limit to change) and the memory
the decoded pixels would take (`inputs.max_decoded_bytes`). Images larger than `inputs.work_side` are
decoded reduced — JPEG by its DCT draft, others by an integer `reduce` right after decoding — so nothing
downstream (map, overlay, run log) ever holds the full-size pixels; `source_size` keeps the file's size.
Valid but unusual encodings are converted faithfully: 16-bit is scaled (not clipped) to 8-bit,
transparency is composited on white, CMYK / palette / grayscale become RGB, EXIF orientation is applied.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.config import InputConfig
from retrieval.errors import BadInput

SUFFIX_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tif": "TIFF",
                  ".tiff": "TIFF", ".webp": "WEBP", ".gif": "GIF"}
IMAGE_SUFFIXES = tuple(SUFFIX_FORMATS)
_CANONICAL_SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "BMP": ".bmp", "TIFF": ".tif", "WEBP": ".webp", "GIF": ".gif"}
_READABLE = "PNG, JPEG, BMP, TIFF, WEBP or GIF"
# bytes per pixel Pillow holds for a mode while decoding (1-bit and 8-bit: 1; 16-bit: 2; the rest 4),
# plus the 4 of the RGB result, plus 16 for the float arrays that scale 32-bit modes
_DECODE_BYTES = {"1": 5, "L": 5, "P": 5, "I;16": 6, "I;16L": 6, "I;16B": 6, "I;16N": 6, "I": 24, "F": 24}


@dataclass(frozen=True)
class LoadedImage:
    image: object          # PIL.Image.Image, RGB
    sha256: str            # of the file's bytes
    path: str | None
    source_mode: str       # PIL mode before conversion, e.g. "I;16", "CMYK"
    source_format: str
    source_size: tuple[int, int] | None = None   # (width, height) of the file, when decoded reduced
    rendered: object = None   # `modal_inputs.RenderedInput` when the image is a render of a point cloud / series

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size


def load_image(source: str | Path | bytes, limits: InputConfig = InputConfig(), name: str | None = None) -> LoadedImage:
    """Read, validate and decode one image file (or its bytes) to RGB."""
    data, label, suffix = _read_bytes(source, limits, name)
    image = _open(data, label, limits)
    if suffix in SUFFIX_FORMATS and image.format != SUFFIX_FORMATS[suffix]:
        raise BadInput(f"{label} is named {suffix} but holds {image.format} data; rename it to "
                       f"{_CANONICAL_SUFFIX.get(image.format, 'its real extension')} or re-export it as {suffix}")
    mode, fmt, size = image.mode, image.format, image.size
    rgb = _reduced(to_rgb(_decode(image, label, limits.work_side)), limits.work_side)
    path = None if isinstance(source, bytes) else str(Path(source).resolve())
    return LoadedImage(rgb, hashlib.sha256(data).hexdigest(), path, mode, fmt,
                       size if rgb.size != size else None)


def _read_bytes(source, limits: InputConfig, name: str | None) -> tuple[bytes, str, str]:
    if isinstance(source, bytes):
        label = name or "the uploaded image"
        data = source
    else:
        path = Path(source)
        label = str(path)
        if not path.exists():
            raise BadInput(f"{path} does not exist; check the path")
        if path.is_dir():
            raise BadInput(f"{path} is a folder, not an image file")
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise BadInput(f"{path} is {size} bytes, over the limit of {limits.max_bytes}; "
                           "downscale it or raise inputs.max_bytes")
        data = path.read_bytes()
    if not data:
        raise BadInput(f"{label} is empty (0 bytes); re-export or re-copy the image")
    suffix = Path(name or label).suffix.lower()
    return data, label, suffix


def _open(data: bytes, label: str, limits: InputConfig):
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadInput(f"{label} is too large to decode ({exc}); downscale it (the limit is "
                       f"inputs.max_pixels = {limits.max_pixels})") from None
    except UnidentifiedImageError:
        raise BadInput(f"{label} is not an image Normalcy can read; use {_READABLE}") from None
    _check_cost(image, label, limits)
    return image


def _check_cost(image, label: str, limits: InputConfig) -> None:
    """Refuse, from the header alone, images over the pixel or decoded-memory limit (or under 8x8)."""
    width, height = image.size
    if width * height > limits.max_pixels:
        raise BadInput(f"{label} is too large: {width}x{height} = {width * height} pixels, over the limit of "
                       f"{limits.max_pixels}; downscale it or raise inputs.max_pixels")
    memory = width * height * _DECODE_BYTES.get(image.mode, 8)
    if memory > limits.max_decoded_bytes:
        raise BadInput(f"{label} is too large: decoding its {width}x{height} {image.mode} pixels takes about "
                       f"{memory // 1_000_000} MB, over inputs.max_decoded_bytes = {limits.max_decoded_bytes}; "
                       "downscale it or raise inputs.max_decoded_bytes")
    if width < 8 or height < 8:
        raise BadInput(f"{label} is only {width}x{height} pixels; inspection needs at least 8x8")


def _reduced(image, work_side: int):
    """`image` reduced by the integer factor that brings its longest side to about `work_side`."""
    factor = max(image.size) // work_side
    return image.reduce(factor) if factor >= 2 else image


def _decode(image, label: str, work_side: int):
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if image.format == "JPEG" and max(image.size) > 2 * work_side:
                scale = max(image.size) // work_side
                image.draft(image.mode, (image.size[0] // scale, image.size[1] // scale))
            image.load()
            return ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
        raise BadInput(f"{label} is truncated or corrupt ({exc}); re-export or re-copy the image") from None


def to_rgb(image):
    """Any PIL mode -> RGB: 16/32-bit scaled into 8 bits, transparency composited on white."""
    from PIL import Image

    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        array = np.asarray(image, dtype=np.uint16).astype(np.float32) / 257.0
        return Image.fromarray(array.round().astype(np.uint8)).convert("RGB")
    if image.mode in ("I", "F"):
        array = np.asarray(image, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        scaled = (array - low) / (high - low) * 255.0 if high > low else np.zeros_like(array)
        return Image.fromarray(scaled.round().astype(np.uint8)).convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return image.convert("RGB")
