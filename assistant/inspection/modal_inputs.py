"""Point clouds and time series as the image pipeline's input: each file rendered against its class's profile.

A query (`load_query`) becomes a `LoadedImage` of its render whose `rendered` says which modality it was,
where a box on the render lies in the file's own terms (`RenderedInput.location`: a 3D box, a time range),
the modality's own scores and notes, and the file's sha256 and bytes (the run log keeps the original).
References (`render_references`) are rendered against the class's profile — fitted on this batch when the
class has none yet, and kept (`class_profiles`) — into HOME/renders/ab/STEM.SHA12.png, and the image
pipeline ingests those PNGs unchanged: retrieval, maps and calibration work on renders as on photos.

Which modality a file is: `--modality` when given, else its extension, with three files whose extension
is shared told apart by content: a .tif/.tiff holding an organised xyz grid (MVTec-3D-AD) is a point cloud
(any other TIFF a still image), a .npy of shape N x 3 or H x W x 3 a point cloud (else a time series), and
a .csv whose columns are x, y, z a point cloud (else a time series). A class holds one modality.
"""

from __future__ import annotations

import hashlib
import importlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from assistant.inspection.band_fusion import fused_location, held_out_entry
from assistant.modalities import rendering
from assistant.modalities.class_profiles import ClassProfile, ClassProfiles
from assistant.inspection.video_inputs import MAX_FRAMES, VIDEO, is_video, load_video, video_references
from assistant.verdict import location_words
from retrieval.errors import BadInput

MODULES = ("assistant.modalities.point_cloud", "assistant.modalities.time_series")


AUTO = "auto"          # the class of a query whose class the operator left to Normalcy


@dataclass(frozen=True)
class RenderedInput:
    modality: str
    location: Callable[[list[int] | None], dict | None]
    source_sha256: str
    source_name: str
    class_name: str                   # the class whose profile rendered it (the chosen one, or found for "auto")
    source_data: bytes = field(repr=False, default=b"")
    scores: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    sheet: object = None              # a video's frame sheet (PIL RGB), kept with the inspection, shown to the model
    evidence: object = field(repr=False, default=None)   # a video's worst frame's `Evidence`, gathered once
    deviation: dict | None = None     # where the modality's own score finds it leaves its normal (`Rendered`)
    views: Callable[[list[int] | None], object] | None = field(repr=False, default=None)  # a point cloud's
                                      # views for the map's box (`Rendered.views`); None: off (`point_cloud.views`)


def load_modalities() -> None:
    """Import every modality module (each registers itself)."""
    for module in MODULES:
        importlib.import_module(module)


def modality_of(path: str | Path, override: str | None = None):
    """The `Modality` of a file, or None for a still image (see the module docstring)."""
    load_modalities()
    if override is not None:
        return rendering.modality_for(path, override)
    suffix = Path(path).suffix.lower()
    if suffix in (".tif", ".tiff"):
        from assistant.modalities.point_cloud import is_organised_xyz_tiff

        return rendering.modality_for(path, "point_cloud") if is_organised_xyz_tiff(Path(path)) else None
    if suffix == ".npy":
        return rendering.modality_for(path, _npy_modality(Path(path)))
    if suffix == ".csv":
        from assistant.modalities.time_series import looks_like_point_csv

        if looks_like_point_csv(Path(path)):
            return rendering.modality_for(path, "point_cloud")
    return rendering.modality_for(path)


def _npy_modality(path: Path) -> str:
    import numpy as np

    from assistant.modalities.time_series import looks_like_series

    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise BadInput(f"{path} is not a readable .npy array ({exc}); re-save it with numpy.save") from None
    return "time_series" if looks_like_series(array) else "point_cloud"


def load_query(workspace, source, name: str | None, class_name: str, override: str | None = None, gatherer=None):
    """The render of a modality file (path or bytes named `name`) as a `LoadedImage`, or None when it is a
    still image; BadInput when it does not fit the class (no profile, another modality). Class "auto": the
    class of that modality whose nearest reference is nearest to the file's render against its profile."""
    with _as_path(source, name) as path:
        label = name or str(source if not isinstance(source, bytes) else "the upload")
        if is_video(path, override):
            return load_video(workspace, gatherer, path, label, _video_class(workspace, label, class_name))
        modality = modality_of(path, override)
        if class_name == AUTO:
            return None if modality is None else _nearest_class(workspace, path, label, modality)
        stored = ClassProfiles(workspace.home.modality_profiles).of(class_name)
        if modality is None:
            if stored is not None:
                kind = stored.modality.replace("_", " ")
                raise BadInput(f"{label} is a still image but class {class_name!r} holds {kind} references; "
                               f"inspect a {kind} file, or pick the class of this part")
            return None
        if stored is None or stored.modality != modality.name:
            held = "no references of that kind" if stored is None else f"{stored.modality} references"
            raise BadInput(f"{label} is a {modality.name.replace('_', ' ')} but class {class_name!r} holds {held}; "
                           f"ingest normal {modality.name.replace('_', ' ')} files into it first, or pick its class")
        return _loaded(workspace, path, label, modality, stored.profile, class_name)


def _video_class(workspace, label: str, class_name: str) -> str:
    """The class a video is inspected in: the one given if it holds videos, or for "auto" the only one that does."""
    entries = ClassProfiles(workspace.home.modality_profiles).read()
    videos = sorted(c for c, entry in entries.items() if entry["modality"] == VIDEO)
    if class_name == AUTO:
        if len(videos) != 1:
            raise BadInput(f"{label} is a video and {len(videos)} classes hold videos; pick its class"
                           + ("" if videos else " after ingesting normal videos into one"))
        return videos[0]
    if class_name not in videos:
        held = entries.get(class_name, {}).get("modality")
        raise BadInput(f"{label} is a video but class {class_name!r} holds "
                       f"{'no videos' if held is None else held.replace('_', ' ') + ' references'}; "
                       "ingest normal videos into it first, or pick its class")
    return class_name


def _nearest_class(workspace, path: Path, label: str, modality):
    """The render of `path` for the class of its modality it is nearest to (one class: that one)."""
    from assistant.inspection.patch_scorer import PatchScorer

    with workspace.using_store():
        held = workspace.references.classes()
        entries = ClassProfiles(workspace.home.modality_profiles).read()
        candidates = sorted(c for c, entry in entries.items() if entry["modality"] == modality.name and held.get(c))
        if not candidates:
            kind = modality.name.replace("_", " ")
            raise BadInput(f"{label} is a {kind} and no class holds {kind} references; ingest normal {kind} files "
                           "into a class first (`normalcy ingest DIR --class NAME`)")
        renders = [_loaded(workspace, path, label, modality, entries[c]["profile"], c) for c in candidates]
        if len(renders) == 1:
            return renders[0]
        scorer = PatchScorer(workspace)
        distance = [workspace.references.nearest(c, scorer.featurize([r.image])[1][0], 1)[0].distance
                    for c, r in zip(candidates, renders)]
        return renders[distance.index(min(distance))]


def _loaded(workspace, path: Path, label: str, modality, profile: dict, class_name: str):
    from assistant.inspection.inputs import load_image
    from retrieval.atomic_file import png_bytes

    data = path.read_bytes()
    made = modality.render(modality.read(path), profile)
    loaded = load_image(png_bytes(made.image), workspace.config.inputs, name=f"{Path(label).name}.png")
    views = made.views if workspace.config.point_cloud.views else None
    rendered = RenderedInput(made.modality, made.location, hashlib.sha256(data).hexdigest(), Path(label).name,
                             class_name, data, dict(made.scores), list(made.notes), deviation=made.deviation,
                             views=views)
    return replace(loaded, path=label, rendered=rendered)


class _as_path:
    """A path for `source`: itself, or uploaded bytes written to a temporary file with `name`'s suffix."""

    def __init__(self, source, name: str | None):
        self.source, self.name, self.folder = source, name, None

    def __enter__(self) -> Path:
        if not isinstance(self.source, bytes):
            return Path(self.source)
        self.folder = tempfile.TemporaryDirectory(prefix="normalcy-upload-")
        path = Path(self.folder.name) / Path(self.name or "upload").name
        path.write_bytes(self.source)
        return path

    def __exit__(self, *exc) -> None:
        if self.folder is not None:
            self.folder.cleanup()


def render_references(workspace, items: list[tuple[str, Path]], override: str | None = None) -> list[tuple[str, Path]]:
    """(class, path) pairs of an ingest -> the same with each modality file replaced by its render's PNG
    (HOME/renders), the class profile fitted first where the class has none. Refused, before anything is
    written, for a class that would mix modalities (in this batch, or with what it already holds)."""
    kinds = {}
    for class_name, path in items:
        if is_video(Path(path), override):       # an animated-gif check opens the file: asked once per file
            kinds.setdefault(class_name, set()).add(VIDEO)
            continue
        modality = modality_of(path, override)
        kinds.setdefault(class_name, set()).add(None if modality is None else modality.name)
    rendered = {}
    profiles = ClassProfiles(workspace.home.modality_profiles)
    for class_name, found in sorted(kinds.items()):
        stored = profiles.of(class_name) if found == {None} else None
        if stored is not None:
            raise BadInput(f"class {class_name!r} holds {stored.modality.replace('_', ' ')} references; these are "
                           "still images: put them in a class of their own")
        if found != {None}:
            rendered[class_name] = _render_class(workspace, class_name, found,
                                                 [Path(p) for c, p in items if c == class_name])
    return [(c, r) for c, p in items for r in (rendered[c].pop(0) if c in rendered else [p])]


def _render_class(workspace, class_name: str, found: set, paths: list[Path]) -> list[Path]:
    from retrieval.atomic_file import png_bytes, write_bytes

    if len(found) > 1:
        kinds = " and ".join(sorted("still image" if k is None else k.replace("_", " ") for k in found))
        raise BadInput(f"class {class_name!r}: this ingest mixes {kinds} files; a class holds one kind of input, "
                       "so put each kind in a class of its own")
    (name,) = found
    profiles = ClassProfiles(workspace.home.modality_profiles)
    stored = _usable_profile(workspace, profiles, class_name, name)
    if name == VIDEO:
        renders = [video_references(workspace, [path]) for path in paths]
        if stored is None:
            profiles.save(ClassProfile(class_name, VIDEO, {"max_frames": MAX_FRAMES}, len(paths)))
        return renders
    modality = rendering.modality_for("", name)
    raws = [modality.read(path) for path in paths]
    profile = stored.profile if stored is not None else modality.profile(raws)
    renders, shas = [], []
    for path, raw in zip(paths, raws):
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        target = workspace.home.renders / sha[:2] / f"{path.stem}.{sha[:12]}.png"
        data = png_bytes(modality.render(raw, profile).image)
        write_bytes(target, data)
        renders.append([target])
        shas.append(hashlib.sha256(data).hexdigest())         # the render's id in the reference store
    held = held_out_entry(modality, raws, profile, stored is None, shas)
    if stored is None or held:
        profiles.save(ClassProfile(class_name, name, {**profile, **held}, stored.fitted_on if stored else len(raws)))
    return renders


def _usable_profile(workspace, profiles: ClassProfiles, class_name: str, name: str) -> ClassProfile | None:
    """The class's stored profile for modality `name` (None: fit one); refused for another modality, or for a
    class of still images."""
    stored = profiles.of(class_name)
    with workspace.using_store():
        held = workspace.references.classes().get(class_name, 0)
    if stored is not None and stored.modality != name:
        raise BadInput(f"class {class_name!r} holds {stored.modality.replace('_', ' ')} references; these are "
                       f"{name.replace('_', ' ')} files: put them in a class of their own")
    if stored is None and held:
        raise BadInput(f"class {class_name!r} holds still images; these are {name.replace('_', ' ')} files: put "
                       "them in a class of their own")
    return stored if held else None        # a profile whose references never landed is fitted again


def input_suffixes() -> tuple[str, ...]:
    """Every file suffix an ingest folder may hold: still images and each modality's files."""
    from assistant.inspection.inputs import IMAGE_SUFFIXES

    from assistant.modalities.video import VIDEO_SUFFIXES

    load_modalities()
    found = {*VIDEO_SUFFIXES} | {suffix for name in rendering.names() if name != rendering.IMAGE
             for suffix in rendering.modality_for("", name).suffixes}
    return tuple(dict.fromkeys((*IMAGE_SUFFIXES, *sorted(found), ".npy")))


def verdict_with_source(verdict, evidence):
    """The verdict of a render, told what it is a render of: its modality, where its box lies in the file's
    own terms, or where a series leaves its band when the band decides (`band_fusion`; also said in the
    reasoning) and the file's hash. A still image's verdict is returned as is."""
    rendered = evidence.query.rendered
    if rendered is None:
        return verdict
    location = fused_location(evidence, verdict.defect_box)
    said = location_words(location)
    return replace(verdict, modality=rendered.modality, location=location, source_sha256=rendered.source_sha256,
                   reasoning=f"{verdict.reasoning} {said}".strip() if said else verdict.reasoning)
