"""Video through the image pipeline: its sampled frames against the class's references.

References: each normal video's frames (sampled uniformly and at scene changes, `modalities/video.py`)
become references of its class, as PNGs under HOME/renders; the class is marked "video" in
HOME/modality_profiles.json. A query video is sampled the same way and every frame is scored like a photo
of the class (its own nearest references, its map, the class threshold); the inspection's evidence is the
worst frame's, so the overlay, the references shown and the image the model inspects are that frame's, and the
verdict's `location` lists every frame at or above the threshold with its timestamp and score, their time span,
and the worst frame with the box on it. The worst frame is gathered once: its evidence (without rules) rides on
the query to the inspection's gather, which adds the rules (`EvidenceGatherer.gather`). The class is calibrated
per clip: a reference frame is scored leaving its whole clip out, and each clip counts once, by its worst frame,
as a query clip is judged. The frame sheet (every sampled frame with its timestamp and score, the anomalous ones
outlined) goes into the model's prompt right after the worst frame (`ModelReasoner`), is shown in the chat with
the verdict, and is kept with the inspection in the run log.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from pathlib import Path

VIDEO = "video"
MAX_FRAMES = 32             # frames sampled per video (references and queries alike)
MAX_SECONDS = 3600.0        # longer videos are refused before decoding: cut them into clips


def is_video(path: Path, override: str | None = None) -> bool:
    """A video by `--modality video`, or by extension (a .gif only when animated)."""
    from assistant.modalities.video import VIDEO_SUFFIXES, is_animated_gif

    if override is not None:
        return override == VIDEO
    suffix = Path(path).suffix.lower()
    return is_animated_gif(path) if suffix == ".gif" else suffix in VIDEO_SUFFIXES


def frames_of(path: Path):
    from assistant.modalities.video import read_frames

    return read_frames(path, max_frames=MAX_FRAMES, max_seconds=MAX_SECONDS)


def video_references(workspace, paths: list[Path]) -> list[Path]:
    """Every sampled frame of each video written as a PNG under HOME/renders (all read before any is written)."""
    from retrieval.atomic_file import png_bytes, write_bytes

    sampled = [(path, frames_of(path)) for path in paths]
    written = []
    for path, frames in sampled:
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        for frame in frames:
            target = workspace.home.renders / sha[:2] / f"{path.stem}.{sha[:12]}.t{frame.t:08.3f}.png"
            write_bytes(target, png_bytes(frame.image))
            written.append(target)
    return written


def load_video(workspace, gatherer, path: Path, label: str, class_name: str):
    """The worst frame of the video as the `LoadedImage` to inspect, its `rendered` telling which frames
    are anomalous (see the module docstring)."""
    from assistant.inspection.inputs import load_image
    from assistant.inspection.modal_inputs import RenderedInput
    from assistant.modalities.video import frame_grid, frame_location
    from retrieval.atomic_file import png_bytes

    if gatherer is None:
        raise ValueError("a video is inspected frame by frame: pass the evidence gatherer")
    frames = frames_of(path)
    loaded = [load_image(png_bytes(f.image), workspace.config.inputs, name=f"{Path(label).name}@{f.t:.2f}s.png")
              for f in frames]
    gathered = [gatherer.gather(image, class_name, with_rules=False) for image in loaded]
    scores = [evidence.anomaly_score for evidence in gathered]
    worst = max(range(len(frames)), key=scores.__getitem__)
    found = frame_location(frames, scores)

    def location(box):
        return {**found, "worst_frame": {"t": round(frames[worst].t, 3), "index": frames[worst].index,
                                         "score": round(scores[worst], 4), "box": box}}

    data = path.read_bytes()
    notes = [f"{len(frames)} frames sampled; worst at {frames[worst].t:.2f} s (score {scores[worst]:.2f})"]
    rendered = RenderedInput(VIDEO, location, hashlib.sha256(data).hexdigest(), Path(label).name, class_name,
                             data, {"frame_scores": [round(s, 4) for s in scores]}, notes,
                             sheet=frame_grid(frames, scores), evidence=gathered[worst])
    return replace(loaded[worst], path=label, rendered=rendered)


FRAME_NAME = re.compile(r"\.([0-9a-f]{12})\.t\d+\.\d+\.png$")    # a frame written by `video_references`


def clip_mates(references) -> dict[str, set[str]]:
    """sha256 of each video frame reference -> the sha256s of the other frames of its clip. A class's
    leave-one-out scores leave the whole clip out: frames of one clip are near copies of each other, so
    scoring a frame against its clip mates would set the threshold as if every new clip were one of them."""
    clips: dict[str, set[str]] = {}
    for reference in references:
        found = FRAME_NAME.search(Path(reference.path).name)
        if found:
            clips.setdefault(found.group(1), set()).add(reference.sha256)
    return {sha: clip - {sha} for clip in clips.values() for sha in clip}


def clip_maxima(values, shas: list[str], mates: dict[str, set[str]]):
    """(N,) leave-one-out scores of frames (sha256 `shas`) -> one score per clip, its worst frame's: the
    calibration of a class of videos, whose clips are judged by their worst frame, so the stated overkill is
    per clip (a frame of no known clip counts alone)."""
    import numpy as np

    worst: dict[frozenset, float] = {}
    for sha, value in zip(shas, values):
        clip = frozenset(mates.get(sha, set()) | {sha})
        worst[clip] = max(worst.get(clip, -np.inf), float(value))
    return np.array(list(worst.values()))
