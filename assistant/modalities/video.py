"""Video as frames (issue 15): sampled uniformly and at scene changes, shown as a grid, located in time.

Unlike a point cloud or a series, a video is not one render: `read_frames` turns one file (mp4 / avi /
mkv / mov / webm / animated gif, or a folder of PNG/JPEG frames) into up to `max_frames` `Frame`s, each
inspected against the class's references like a still image. The sample is `max_frames` frames spread
uniformly over the video plus the frames where the scene changes (the mean absolute difference of 32x32
grayscale thumbnails of consecutive decoded frames above `scene_threshold`), de-duplicated, sorted by time
and capped at `max_frames`, scene changes kept first. `frame_grid` is the contact sheet a model is shown
(timestamps, scores, the anomalous frames outlined in red); `frame_location` says which frames are
anomalous, for the verdict. Decoding lives in `video_frames` (PyAV, whose wheel ships its own FFmpeg).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.modalities.contact_sheet import Tile, contact_sheet, tile_box
from assistant.modalities.video_frames import VIDEO_SUFFIXES, Decoded, decoded_frames

__all__ = ["VIDEO_SUFFIXES", "Frame", "is_animated_gif", "read_frames", "frame_grid", "frame_location",
           "tile_box", "ANOMALOUS", "SCENE_THRESHOLD"]

SCENE_THRESHOLD = 0.008     # mean |Δgray| in [0, 1]: noise ~0.002-0.004; a red square over 6% of a frame 0.0098
ANOMALOUS = 1.0             # a frame whose score is at least this is anomalous (the calibrated threshold)


@dataclass(frozen=True)
class Frame:
    image: object           # PIL.Image.Image, RGB
    t: float                # seconds from the first frame
    index: int              # decoded frame number, 0-based
    scene_change: bool      # the scene changed from the previous decoded frame to this one


def is_animated_gif(path: str | Path) -> bool:
    """True for a .gif of more than one frame (a video here); False for a still or unreadable one, which
    the still-image path then reads (and reports) as it does any image."""
    from PIL import Image, UnidentifiedImageError

    if Path(path).suffix.lower() != ".gif":
        return False
    try:
        with Image.open(path) as image:
            return getattr(image, "n_frames", 1) > 1
    except (OSError, UnidentifiedImageError):
        return False


class _Uniform:
    """The frames on screen at `cap` times spread evenly over the stated duration (the middle of each of
    `cap` equal spans), at most `cap` images held. With no stated duration: every `stride`-th decoded
    frame, the stride doubling whenever more than 2 x `cap` are held (even over any length)."""

    def __init__(self, cap: int, seconds: float | None):
        self.cap, self.held, self.stride, self.shown, self.next = cap, [], 1, None, 0
        self.targets = [(k + 0.5) * seconds / cap for k in range(cap)] if seconds else None

    def offer(self, item: Decoded) -> None:
        if self.targets is None:
            return self._by_stride(item)
        while self.shown is not None and self.next < self.cap and item.t > self.targets[self.next]:
            self._hold(self.shown)
            self.next += 1
        self.shown = item

    def close(self) -> None:
        """The last frame stays on screen to the end: it is the one shown at the targets left."""
        if self.targets is not None and self.shown is not None and self.next < self.cap:
            self._hold(self.shown)

    def _hold(self, item: Decoded) -> None:
        if not self.held or self.held[-1][0] != item.index:
            self.held.append((item.index, item.t, item.image()))

    def _by_stride(self, item: Decoded) -> None:
        if item.index % self.stride:
            return
        self.held.append((item.index, item.t, item.image()))
        if len(self.held) > 2 * self.cap:
            self.stride *= 2
            self.held = [h for h in self.held if h[0] % self.stride == 0]


class _SceneChanges:
    """The (at most `cap`) frames with the largest scene change above `threshold`."""

    def __init__(self, cap: int, threshold: float):
        self.cap, self.threshold, self.heap = cap, threshold, []

    def offer(self, item: Decoded, change: float) -> None:
        if change <= self.threshold:
            return
        if len(self.heap) < self.cap:
            heapq.heappush(self.heap, (change, item.index, item.t, item.image()))
        elif change > self.heap[0][0]:
            heapq.heapreplace(self.heap, (change, item.index, item.t, item.image()))


def read_frames(path: str | Path, max_frames: int = 32, max_seconds: float = 3600.0,
                scene_threshold: float = SCENE_THRESHOLD, fps: float = 1.0,
                max_side: int | None = 1280) -> list[Frame]:
    """Up to `max_frames` frames of the video (or folder of frames, at `fps`), sorted by time.

    Every frame is decoded once (scene changes need consecutive frames), but only its thumbnail is
    compared, and at most 2 x `max_frames` images (scaled to `max_side`) are held, 3 x when the duration
    is not stated. A `BadInput` (one line) for anything that is not a decodable video
    of at most `max_seconds`.
    """
    if max_frames < 1:
        raise ValueError(f"max_frames must be at least 1, not {max_frames}")
    seconds, decoded = decoded_frames(Path(path), fps=fps, max_seconds=max_seconds, max_side=max_side)
    uniform, scenes = _Uniform(max_frames, seconds), _SceneChanges(max_frames, scene_threshold)
    previous = None
    for item in decoded:
        if previous is not None:
            scenes.offer(item, float(np.abs(item.thumb - previous).mean()))
        previous = item.thumb
        uniform.offer(item)
    uniform.close()
    return _merged(scenes.heap, uniform.held, max_frames)


def _merged(scenes: list[tuple], uniform: list[tuple], cap: int) -> list[Frame]:
    """Scene changes first, then the uniform frames spread evenly over the slots left, sorted by time."""
    frames = [Frame(image, t, index, True) for _, index, t, image in scenes]
    taken = {f.index for f in frames}
    rest = [u for u in uniform if u[0] not in taken]
    slots = cap - len(frames)
    if slots < len(rest):
        rest = [rest[round(i)] for i in np.linspace(0, len(rest) - 1, slots)] if slots > 0 else []
    frames += [Frame(image, t, index, False) for index, t, image in rest]
    return sorted(frames, key=lambda f: f.t)


def _stamp(t: float) -> str:
    """mm:ss.s (minutes past 59 keep counting: 75:02.5)."""
    tenths = round(t * 10)
    return f"{tenths // 600:02d}:{tenths % 600 / 10:04.1f}"


def _checked_scores(frames: list[Frame], scores) -> list[float] | None:
    if scores is None:
        return None
    scores = [float(s) for s in scores]
    if len(scores) != len(frames):
        raise ValueError(f"{len(scores)} scores for {len(frames)} frames")
    return scores


def frame_grid(frames: list[Frame], scores=None, columns: int = 4, cell: int = 224):
    """The contact sheet a model is shown (`contact_sheet`): each frame fitted in a `cell` square (aspect
    kept) over a label with its timestamp (mm:ss.s), its score when `scores` are given and "scene" at a
    scene change; the frames scoring at least ANOMALOUS outlined in red. Size (min(columns, n) * cell,
    rows * (cell + label))."""
    if not frames:
        raise ValueError("frame_grid needs at least one frame")
    scores = _checked_scores(frames, scores)
    tiles = [Tile(frame.image, _caption(frame, None if scores is None else scores[i]),
                  scores is not None and scores[i] >= ANOMALOUS) for i, frame in enumerate(frames)]
    return contact_sheet(tiles, columns, cell)


def _caption(frame: Frame, score: float | None) -> str:
    words = [_stamp(frame.t)]
    if score is not None:
        words.append(f"score {score:.2f}")
    if frame.scene_change:
        words.append("scene")
    return "  ".join(words)


def frame_location(frames: list[Frame], scores) -> dict:
    """Where in time the video is anomalous (JSON-ready): the frames scoring at least ANOMALOUS, by time,
    and the span from the first to the last of them (None when no frame is)."""
    scores = _checked_scores(frames, scores)
    hits = sorted(((f, s) for f, s in zip(frames, scores) if s >= ANOMALOUS), key=lambda hit: hit[0].t)
    listed = [{"t": round(f.t, 3), "index": f.index, "score": s} for f, s in hits]
    span = [listed[0]["t"], listed[-1]["t"]] if listed else None
    return {"frames": listed, "time_range": span}
