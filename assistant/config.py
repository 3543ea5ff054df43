"""Top-level configuration: one frozen dataclass tree, defaults in code, YAML overrides.

`load_config(path)` merges a YAML file over the defaults; unknown keys and wrong types are a
`ConfigError` that names the key, and so are NaN / infinite numbers and values out of range (each
dataclass checks itself when built). Every YAML shipped under `configs/` is loaded by a test.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.config import RetrievalConfig, one_of, within
from retrieval.errors import ConfigError

# = assistant.reasoning.prompt_builder.STRATEGIES and retrieval.overlay.STYLES (tests/test_config.py keeps them so)
STRATEGY_NAMES = ("naive", "class", "rules", "reference", "rules_reference", "overlay")
OVERLAY_STYLES = ("heatmap", "contour", "box", "all")

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class InputConfig:
    """Limits on what an operator may hand in.

    max_pixels: images with more pixels are refused, from the header, before decoding (bomb guard).
    max_bytes: files larger than this are refused before decoding.
    max_decoded_bytes: images whose decoded pixels would take more memory than this are refused
      (judged from the header: pixels x bytes per pixel of the file's mode).
    work_side: larger images are decoded reduced (JPEG draft, else an integer reduce) to about this
      longest side; the map and the model see no more than this anyway.
    max_seconds: an inspection taking longer than this stops with an error (checked between stages).
    """

    max_pixels: int = 40_000_000
    max_bytes: int = 200_000_000
    max_decoded_bytes: int = 400_000_000
    work_side: int = 2048
    max_seconds: float = 120.0

    def __post_init__(self):
        within("max_pixels", self.max_pixels, 64)
        within("max_bytes", self.max_bytes, 1)
        within("max_decoded_bytes", self.max_decoded_bytes, 1)
        within("work_side", self.work_side, 64, 16384)
        within("max_seconds", self.max_seconds, 0, above=True)


@dataclass(frozen=True)
class VLMConfig:
    """The language model that reads the evidence; `model` None means vision-only mode.

    model: a preset name from `configs/models/` or a local weights directory.
    path / backend / url / max_new_tokens / timeout_s / context_tokens: when set, override the preset's value
      (e.g. the preset's model folder moved, or the OpenAI-compatible server has another address).
    guided: constrain the answer to the verdict JSON schema (grammar on the transformers backend,
      the server's json_schema response format on the openai backend).
    strategy: prompting strategy (naive, class, rules, reference, rules_reference, overlay).
    fusion_weight: weight of the model's calibrated P(anomalous) in the fused anomaly score (0 = map only).
    review_margin: when the model's answer and the fused score disagree by more than this (a PASS at a
      score >= 1 + margin, a FAIL at a score < 1 - margin), the verdict is "needs_review".
    calibration_samples: normal references the model is run on to calibrate its P(anomalous) per class.
    overlay_style: which overlay the model is shown (heatmap, contour, box, all).
    reference_images: how many of the k retrieved references are shown to the model (the map uses all k).
    """

    model: str | None = None
    path: str | None = None
    backend: str | None = None
    url: str | None = None
    max_new_tokens: int | None = None
    timeout_s: float | None = None
    context_tokens: int | None = None
    guided: bool = True
    strategy: str = "overlay"
    fusion_weight: float = 0.5
    review_margin: float = 0.25
    calibration_samples: int = 6
    overlay_style: str = "heatmap"
    reference_images: int = 2

    def __post_init__(self):
        one_of("strategy", self.strategy, STRATEGY_NAMES, "prompt strategy")
        one_of("overlay_style", self.overlay_style, OVERLAY_STYLES, "overlay style")
        within("fusion_weight", self.fusion_weight, 0, 1)
        within("calibration_samples", self.calibration_samples, 0)
        within("reference_images", self.reference_images, 0)
        within("max_new_tokens", self.max_new_tokens, 1, optional=True)
        within("timeout_s", self.timeout_s, 0, above=True, optional=True)


@dataclass(frozen=True)
class RecordsConfig:
    """What the run log keeps of each inspection's stored image and overlay; its verdict line is always kept.

    keep_images_days: the images of inspections older than this many days are removed (None: no age limit).
    keep_images: the images of at most this many newest inspections are kept (None: no count limit).
    """

    keep_images_days: float | None = None
    keep_images: int | None = None

    def __post_init__(self):
        within("keep_images_days", self.keep_images_days, 0, above=True, optional=True)
        within("keep_images", self.keep_images, 0, optional=True)

    @property
    def active(self) -> bool:
        return self.keep_images_days is not None or self.keep_images is not None


@dataclass(frozen=True)
class ClassConfig:
    """One product class's own settings (`classes: {NAME: {...}}`).

    mm_per_px: millimetres per pixel of the image file as the camera takes it (the class's scale); with it,
      box sizes are also given in mm. None: sizes in px only.
    flips: score the query's horizontal flip, vertical flip and 180-degree turn too, against the same k
      references, and take the per-cell geometric mean of the four maps with the flips undone (test-time
      augmentation; 4 encoder passes per inspection, and per calibrated reference). A per-class opt-in: on
      the dev split (bench/map_quality.py --ablation) it raises ELPV poly 0.885 -> 0.905 image AUROC but
      lowers ELPV mono 0.932 -> 0.917 and grass; it needs map.window 0 (a flipped cell is not at its position).
    coreset: this class's fraction of each reference's patches kept (`retrieval.features.coreset` for every
      other class; None = that). With flips a 25 % coreset lost ELPV poly 0.904 -> 0.899 on the dev split
      and 0.5 keeps it (0.904), at twice the feature bytes of the class.
    """

    mm_per_px: float | None = None
    flips: bool = False
    coreset: float | None = None

    def __post_init__(self):
        within("mm_per_px", self.mm_per_px, 0, above=True, optional=True)
        within("coreset", self.coreset, 0, 1, above=True, optional=True)


@dataclass(frozen=True)
class PointCloudConfig:
    """How a point cloud is shown beside its render.

    views: draw its multi-view sheet (top, front, side, oblique, the flagged region outlined in red) and show
      it to the model right after the render and in the chat, and keep it in the run log. Off: the render alone
      (one image less in the prompt, e.g. for a model with a small context).
    """

    views: bool = True


@dataclass(frozen=True)
class NormalcyConfig:
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    inputs: InputConfig = field(default_factory=InputConfig)
    vlm: VLMConfig = field(default_factory=VLMConfig)
    records: RecordsConfig = field(default_factory=RecordsConfig)
    rules_dir: str = str(REPO_ROOT / "data" / "rules")
    classes: dict[str, ClassConfig] = field(default_factory=dict)
    point_cloud: PointCloudConfig = field(default_factory=PointCloudConfig)

    def __post_init__(self):
        flipped = sorted(name for name, setting in self.classes.items() if setting.flips)
        if flipped and self.retrieval.map.window > 0:
            raise ConfigError(f"classes.{flipped[0]}.flips: flipped queries are not matched by position; set "
                              f"retrieval.map.window: 0 or flips: false")
        cored = sorted(name for name in self.classes if not self.features_for(name).keeps_grid)
        if cored and self.retrieval.map.window > 0:
            raise ConfigError(f"classes.{cored[0]}.coreset: map.window matches each cell against the references' "
                              f"patches near it, which needs their whole grids; set coreset: 1.0 or window: 0")

    def for_class(self, name: str) -> ClassConfig:
        """The class's own settings (the defaults for a class the config does not name)."""
        return self.classes.get(name) or ClassConfig()

    def features_for(self, name: str):
        """How the class's reference features are stored: `retrieval.features`, with the class's coreset."""
        coreset = self.for_class(name).coreset
        features = self.retrieval.features
        return features if coreset is None else dataclasses.replace(features, coreset=coreset)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def hash(self) -> str:
        """Short stable hash of the whole configuration (for reports and result caches); no class settings
        and the default point-cloud settings hash as before there were any."""
        added = {"classes": {}, "point_cloud": dataclasses.asdict(PointCloudConfig())}   # keys added later
        settings = {key: value for key, value in self.to_dict().items() if added.get(key, object()) != value}
        blob = json.dumps(settings, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


def from_dict(cls: type, data: dict, where: str = "config"):
    """Build dataclass `cls` from `data`, recursing into nested dataclasses; unknown keys are errors."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(names))}")
    kwargs = {key: _coerce(hints[key], value, f"{where}.{key}") for key, value in data.items()}
    try:
        return cls(**kwargs)
    except ConfigError as exc:          # a dataclass's own check names the key; prefix where it is
        raise ConfigError(f"{where}.{exc}") from None


def _coerce(hint, value, where: str):
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where)
    if typing.get_origin(hint) is dict:             # NAME -> settings dataclass, e.g. classes
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping of names to settings, got {value!r}")
        item = typing.get_args(hint)[1]
        return {str(name): from_dict(item, settings or {}, f"{where}.{name}") for name, settings in value.items()}
    if typing.get_origin(hint) is tuple:
        item = typing.get_args(hint)[0]
        kinds = typing.get_args(item) if isinstance(item, types.UnionType) else (item,)
        if not isinstance(value, (list, tuple)) or not all(
                isinstance(v, kinds) and not isinstance(v, bool) for v in value):
            names = " or ".join("strings" if k is str else "integers" for k in kinds)
            raise ConfigError(f"{where}: expected a list of {names}, got {value!r}")
        return tuple(value)
    allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if value is None and type(None) in allowed:
        return None
    for kind in allowed:
        if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ConfigError(f"{where}: expected a finite number, got {value!r}")
            return float(value)
        if isinstance(kind, type) and isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return value
    names = " or ".join(getattr(k, "__name__", str(k)) for k in allowed)
    raise ConfigError(f"{where}: expected {names}, got {value!r}")


def load_config(path: str | Path | None = None) -> NormalcyConfig:
    """Defaults, overridden by the YAML file at `path` when given."""
    if path is None:
        return NormalcyConfig()
    import yaml

    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"config file {file} does not exist; pass an existing YAML file to --config")
    try:
        data = yaml.safe_load(file.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {file} is not valid YAML: {str(exc).splitlines()[0]}") from None
    return from_dict(NormalcyConfig, data, where=file.name)
