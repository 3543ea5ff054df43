"""Decoding a video (PyAV, whose wheel ships its own FFmpeg) or a folder of frames into a stream of frames.

Each decoded frame comes as a `Decoded`: its number, its time in seconds from the first frame, a 32x32
grayscale thumbnail (what scene-change detection compares) and its full RGB image made only on demand, so
a long video passes through with one thumbnail in memory, not its frames. Every way an input can be bad is
one `BadInput` line saying what is wrong and what to do: not a video, no video stream, no decodable frame,
damaged or truncated, longer than the limit (judged from the container's duration before decoding when it
is known, else as soon as a frame passes the limit).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from retrieval.errors import BadInput

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".gif")
FRAME_SUFFIXES = (".png", ".jpg", ".jpeg")
THUMB = 32                      # side of the grayscale thumbnail scene changes are measured on
INSTALL_HINT = "install PyAV (its wheel ships FFmpeg): pip install -c constraints.txt av"
KINDS = f"give a video ({', '.join(VIDEO_SUFFIXES)}) or a folder of PNG/JPEG frames"


@dataclass
class Decoded:
    index: int                              # decoded frame number, 0-based
    t: float                                # seconds from the first frame
    thumb: np.ndarray                       # (THUMB, THUMB) float32 in [0, 1]
    _make: Callable[[], object] = field(repr=False)
    _image: object = field(default=None, repr=False)

    def image(self):
        """The frame as a PIL RGB image, made once on first use."""
        if self._image is None:
            self._image = self._make()
        return self._image


def clock(seconds: float) -> str:
    """H:MM:SS, with tenths when the seconds are not whole (3:00:00, 0:00:05.5)."""
    whole = int(seconds)
    tenths = round((seconds - whole) * 10)
    text = f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"
    return text + (f".{tenths}" if 0 < tenths < 10 else "")


def _too_long(name: str, seconds: float | None, max_seconds: float) -> BadInput:
    """Over the length limit: `seconds` when known before decoding, None when a frame ran past it."""
    said = f"is {clock(seconds)} long, over" if seconds is not None else "runs past"
    return BadInput(f"{name} {said} the limit of {clock(max_seconds)} (inputs longer than max_seconds are "
                    f"refused so an inspection stays bounded); cut it into shorter clips or raise max_seconds")


def decoded_frames(path: Path, fps: float = 1.0, max_seconds: float = 3600.0,
                   max_side: int | None = 1280) -> tuple[float | None, Iterator[Decoded]]:
    """(seconds, frames): the duration as stated before decoding (None when unknown) and the frames of a
    video file or of a folder of frames (t = index / fps), in order, each once.

    Images wider or taller than `max_side` are scaled down (aspect kept) when made.
    """
    path = Path(path)
    if path.is_dir():
        return _folder_frames(path, fps, max_seconds, max_side)
    if not path.is_file():
        raise BadInput(f"{path} does not exist; {KINDS}")
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise BadInput(f"{path.name} is not a video ({path.suffix or 'no extension'}); {KINDS}")
    return _video_frames(path, max_seconds, max_side)


def _natural(path: Path):
    """Sort key: frame_2 before frame_10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def _scaled(image, max_side: int | None):
    from PIL import Image

    if max_side is not None and max(image.size) > max_side:
        ratio = max_side / max(image.size)
        size = (max(1, round(image.width * ratio)), max(1, round(image.height * ratio)))
        image = image.resize(size, Image.Resampling.BILINEAR)
    return image


def _folder_frames(folder: Path, fps: float, max_seconds: float, max_side: int | None):
    from PIL import Image, UnidentifiedImageError

    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in FRAME_SUFFIXES), key=_natural)
    if not files:
        raise BadInput(f"{folder} holds no PNG/JPEG frames; put the frames in it named in order "
                       f"(frame_0001.png, frame_0002.png, …)")
    if fps <= 0:
        raise BadInput(f"fps must be above 0 for a folder of frames, not {fps}")
    if len(files) / fps > max_seconds:
        raise _too_long(folder.name, len(files) / fps, max_seconds)

    def frames() -> Iterator[Decoded]:
        for index, file in enumerate(files):
            try:
                with Image.open(file) as opened:
                    image = _scaled(opened.convert("RGB"), max_side)
            except (OSError, UnidentifiedImageError) as error:
                raise BadInput(f"{file} is not a readable PNG/JPEG frame ({error}); "
                               f"replace or remove it") from None
            thumb = np.asarray(image.convert("L").resize((THUMB, THUMB)), dtype=np.float32) / 255.0
            yield Decoded(index, index / fps, thumb, lambda image=image: image)
    return len(files) / fps, frames()


def _open(path: Path):
    try:
        import av
    except ImportError:
        raise BadInput(f"cannot read {path.name}: {INSTALL_HINT}") from None
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as error:
        raise BadInput(f"{path.name} is not a readable video ({_reason(error)}); {KINDS}") from None
    if not container.streams.video:
        container.close()
        raise BadInput(f"{path.name} has no video stream; {KINDS}")
    return av, container


def _reason(error) -> str:
    return getattr(error, "strerror", None) or str(error).split(":")[0]


def stated_seconds(container) -> float | None:
    """The video's duration as its container states it (the stream's own when known), before decoding."""
    stream = container.streams.video[0]
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return container.duration / 1_000_000 if container.duration is not None else None


def _video_frames(path: Path, max_seconds: float, max_side: int | None):
    av, container = _open(path)
    stated = stated_seconds(container)
    if stated is not None and stated > max_seconds:
        container.close()
        raise _too_long(path.name, stated, max_seconds)
    return stated, _decode(av, container, path.name, stated, max_seconds, max_side)


def _decode(av, container, name: str, stated: float | None, max_seconds: float,
            max_side: int | None) -> Iterator[Decoded]:
    """Decode every frame once (scene changes need consecutive frames); convert only what is asked for."""
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    rate = float(stream.average_rate or stream.guessed_rate or 0) or None
    by_index = container.format.name == "avi"     # AVI stores no frame times, only a constant rate
    origin, t, end, index = None, 0.0, 0.0, -1
    with container:
        try:
            for index, frame in enumerate(container.decode(stream)):
                if by_index or frame.time is None:
                    t = index / rate if rate else float(index)
                else:
                    origin = frame.time if origin is None else origin
                    t = frame.time - origin
                if t > max_seconds:
                    raise _too_long(name, None, max_seconds)
                end = t + _shown_for(frame, rate)
                yield _decoded(frame, index, t, max_side)
        except av.error.FFmpegError as error:
            raise BadInput(f"{name} is damaged after {clock(t)} ({_reason(error)}); re-export or re-copy it") \
                from None
    _check_complete(name, index, end, stated)


def _shown_for(frame, rate: float | None) -> float:
    """How long the frame stays on screen: its own duration when the file says, else one frame at `rate`."""
    if frame.duration and frame.time_base is not None:
        return float(frame.duration * frame.time_base)
    return 1 / rate if rate else 0.0


def _decoded(frame, index: int, t: float, max_side: int | None) -> Decoded:
    thumb = frame.reformat(width=THUMB, height=THUMB, format="gray").to_ndarray().astype(np.float32) / 255.0
    width, height = frame.width, frame.height
    if max_side is not None and max(width, height) > max_side:
        ratio = max_side / max(width, height)
        width, height = max(2, round(width * ratio)), max(2, round(height * ratio))
    return Decoded(index, float(t), thumb,
                   lambda: frame.to_image(width=width, height=height).convert("RGB"))


def _check_complete(name: str, last_index: int, end: float, stated: float | None) -> None:
    """No frame at all, or far fewer seconds than the container states: the file is cut short."""
    if last_index < 0:
        raise BadInput(f"{name} has no decodable frame; re-export it or {KINDS}")
    if stated is not None and stated - end > 1.0 and end < 0.5 * stated:
        raise BadInput(f"{name} stops at {clock(end)} though it states {clock(stated)} (truncated?); "
                       f"re-export or re-copy it")
