"""Configuration of the evidence layer: frozen dataclasses with defaults in code.

YAML files only override these (see `assistant.config`); unknown keys are errors. Each dataclass checks
its own values when built (`within`): a NaN, an infinity or a value out of range is a `ConfigError` naming
the key, so nothing downstream ever runs (or writes) with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from retrieval.errors import ConfigError

ENCODER_NAMES = ("efficientnet-lite0", "open_clip", "torchvision", "transformers")   # = image_encoder.ENCODERS (a test keeps it)


POOLINGS = ("mean", "cls")
LAYER_KINDS = {int: "block indices (e.g. [-4, -1])", str: "node names (e.g. [layer2, layer3])"}


def within(name: str, value, low=None, high=None, *, above: bool = False, optional: bool = False) -> None:
    """Raise ConfigError unless `value` is a finite number with low <= value <= high (low < value if `above`)."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name}: expected a finite number, got {value!r}")
    too_low = low is not None and (value <= low if above else value < low)
    if too_low or (high is not None and value > high):
        bound = f"{'>' if above else '>='} {low}" if low is not None else ""
        bound += (" and " if bound and high is not None else "") + (f"<= {high}" if high is not None else "")
        raise ConfigError(f"{name}: must be {bound}, got {value!r}")


def one_of(name: str, value, names, what: str = "value") -> None:
    if value not in names:
        raise ConfigError(f"{name}: unknown {what} {value!r}; choose one of {', '.join(names)}")


@dataclass(frozen=True)
class EncoderConfig:
    """Which image backbone produces patch features and embeddings.

    name: a key of `retrieval.encoders.image_encoder.ENCODERS`
      ("efficientnet-lite0" embedded; "open_clip", "torchvision" load `path`; "transformers" loads a
      DINOv2 / DINOv3 / CLIP / SigLIP vision folder at `path`).
    path: local weights file (a model folder for "transformers") for the non-embedded encoders.
    arch: architecture name for open_clip / torchvision (e.g. "ViT-B-32", "resnet18").
    image_size: square input side in pixels (for "transformers", a multiple of the model's patch size).
    layers: feature nodes for the torchvision encoder (default layer2, layer3); for "transformers",
      block indices whose patch tokens become patch features (1 = first block, -1 = last; default [-1]).
    pooling: the global embedding used for retrieval: "mean" of the patch features, or "cls" (the
      class token of the last block; "transformers" models that have one).
    """

    name: str = "efficientnet-lite0"
    path: str | None = None
    arch: str | None = None
    image_size: int = 224
    layers: tuple[int | str, ...] = ()
    pooling: str = "mean"

    def __post_init__(self):
        one_of("name", self.name, ENCODER_NAMES, "image encoder")
        within("image_size", self.image_size, 32, 4096)
        one_of("pooling", self.pooling, POOLINGS, "pooling")
        if self.pooling == "cls" and self.name != "transformers":
            raise ConfigError(f"pooling: 'cls' needs a class token; {self.name} has none (use mean)")
        kind = {"transformers": int, "torchvision": str}.get(self.name)
        if kind and not all(isinstance(v, kind) and not isinstance(v, bool) for v in self.layers):
            raise ConfigError(f"layers: {self.name} takes a list of {LAYER_KINDS[kind]}, got {list(self.layers)!r}")


@dataclass(frozen=True)
class MapConfig:
    """Few-shot anomaly map: nearest-patch distance of the query against k references.

    k: number of retrieved normal references.
    sigma: Gaussian smoothing of the map, in feature-grid cells.
    neighbourhood: side of the local average pooling applied to patch features (PatchCore-style).
    top_fraction: the image score is the mean of this top fraction of map cells (0 = the max). Default
      0.0128 = the top 10 of the 28 x 28 grid at 224 px: on the dev split (bench/map_quality.py --ablation)
      it is >= the max on every set (ELPV mono +0.001, poly +0.001, grass +0.004, brick and gravel equal).
    window: a query cell is matched only against reference patches within +-window cells of its own
      position (0 = anywhere in the references); for aligned parts, e.g. cells of one module type.
    """

    k: int = 8
    sigma: float = 1.0
    neighbourhood: int = 3
    top_fraction: float = 0.0128
    window: int = 0

    def __post_init__(self):
        within("k", self.k, 1, 1000)
        within("sigma", self.sigma, 0, 100)
        within("neighbourhood", self.neighbourhood, 1, 15)
        within("top_fraction", self.top_fraction, 0, 1)
        within("window", self.window, 0, 1000)
        if not isinstance(self.window, int):
            raise ConfigError(f"window: expected a whole number of cells, got {self.window!r}")


@dataclass(frozen=True)
class CalibrationConfig:
    """Per-class threshold from normal references only (leave-one-out).

    target_overkill: the stated false-alarm rate; the threshold is the conformal quantile of the
      leave-one-out scores for it (`retrieval.calibration.threshold_at_overkill`).
    z: the language model's P(anomalous) threshold sits z std above its mean on normal references
      (`reasoning.model_threshold`); the map threshold uses target_overkill.
    max_references: at most this many references are scored (a uniform sample: the smallest sha256) to
      bound time. A 2 % quantile needs many normals: from 64 the threshold is their maximum, and which 64
      decides the overkill (ELPV poly, 460 references: 1-7 % between random 64-subsets; 2 % from all 460).
    ood_overkill: the out-of-distribution limit is the conformal quantile, at this rate, of each normal's
      embedding distance to its nearest other normal (leave-one-out) ...
    ood_margin: ... times this margin (>= 1; null switches the check off). Measured with
      bench/out_of_distribution.py: test normals reach 1.4 x that quantile, synthetic texture defects 2.3 x,
      other products and photos 7 x and more (similar ones less: ELPV mono vs poly 1.3 x, grass vs gravel 1.7 x).
    """

    target_overkill: float = 0.02
    z: float = 2.0
    max_references: int = 512
    ood_overkill: float = 0.01
    ood_margin: float | None = 3.0

    def __post_init__(self):
        overkill_rate("target_overkill", self.target_overkill)
        within("z", self.z, 0, 100)
        within("max_references", self.max_references, 2)
        overkill_rate("ood_overkill", self.ood_overkill)
        within("ood_margin", self.ood_margin, 1, 100, optional=True)


def overkill_rate(name: str, value) -> None:
    """A stated false-alarm rate: a finite number with 0 < value < 0.5, else a ConfigError naming `name`."""
    within(name, value)
    if not 0 < value < 0.5:
        raise ConfigError(f"{name}: must be > 0 and < 0.5, got {value!r}")


@dataclass(frozen=True)
class StoreConfig:
    """Where the vector store lives: embedded on disk (default) or a Chroma server on the plant network.

    host, port: the Chroma server (`chroma run --host ... --port ...`) every line machine uses.
    shared: with a server, the folder every line machine mounts (e.g. NFS) for what Chroma does not
      hold: reference copies, cached features, calibration, operator rules, the store lock. Required
      with host: a per-machine default would silently give each line its own copies again.
    """

    host: str | None = None
    port: int = 8000
    shared: str | None = None

    def __post_init__(self):
        within("port", self.port, 1, 65535)
        if self.shared and not self.host:
            raise ConfigError("shared: a shared folder is only used with a Chroma server; set "
                              "retrieval.store.host too, or remove shared")


FEATURE_PRECISIONS = ("int8", "int4", "float16")
COPY_KINDS = ("original", "webp", "link")


@dataclass(frozen=True)
class FeaturesConfig:
    """How each reference's patch features and its copy are stored (`retrieval/feature_codec.py`,
    `assistant/inspection/reference_copies.py`; measured with bench/storage_size.py, issue 14).

    precision: "int8" (each channel quantized between its own min and max), "int4" (16 levels the same way,
      half the bytes) or "float16". int4 with a 20 % coreset (13.8 kB) lost one pair on the dev split's
      grass (0.988 vs 0.992), so int8 stays the default.
    coreset: fraction of the grid's patches kept for the nearest-patch bank (PatchCore's greedy coreset);
      1.0 keeps the whole grid. Default 0.2 (25.7 kB per 152 x 28 x 28 grid, float16 239 kB): with the
      top-10-mean score it is >= the float16 grid on every set of both splits (0.25, 31.7 kB, lost one
      pair on dev poly / grass and test gravel; 0.15 lost 0.012 on dev grass). Under a coreset a
      calibration recomputes each scored reference's grid from its copy (one encoder pass). Changing
      precision or coreset recomputes the features from the copies.
    copies: what is kept of each reference image, which recomputes its features (after an encoder or
      encoding change; each calibration under a coreset) and is shown in the gallery and to the model:
      "original" (default): the file's bytes (ELPV cell 34-37 kB, 64 px texture 3-8 kB);
      "webp": a lossless WebP of the decoded pixels where smaller (ELPV 28-32 kB, textures 1.6-3.4 kB;
        the same pixels, so the same features; costs ~0.1-0.6 s of encoding per ELPV cell at ingest);
      "link": the original's path + sha256 and a 256 px JPEG thumbnail (ELPV 6-8 kB, textures 1-2 kB),
        for plants whose images stay on a file server: features are recomputed from the original, and an
        original gone or changed since ingest is refused in one line (exit 2; put it back or re-ingest);
        gallery and model see the thumbnail; images of the home's run log are copied, never linked.
    pca: channels each bank patch keeps on its class's PCA basis (`feature_basis`: fitted once per class on
      every patch of 64 references spread over its first ingest, or of 64 of its references when features are
      recomputed; a class with fewer than 8 keeps the encoder's channels until an ingest brings 8); 0 = off.
      Files name their basis, so a refit (once the class has doubled, up to 64) leaves older files readable.
      A reference with a patch the basis cannot hold keeps the channels (`Basis.represents`).
      Default 64 (12.2 kB per reference with int8, 20 %; 25.7 kB without): on the dev split >= the float16
      grid on every set; on the test split -0.004 on gravel (one pair), +0.004 on poly, equal elsewhere.
      With `copies: link` a reference takes 17.5-20 kB on ELPV, 13.5-14.5 kB on textures (14.9-18.0x smaller
      than before issue 14); with the original copy 45-49 kB on ELPV (6.1-6.4x: the cell's PNG alone is
      34-37 kB), 16-21 kB on textures (12-15.5x). Changing it recomputes the features from the copies.
    """

    precision: str = "int8"
    coreset: float = 0.2
    copies: str = "original"
    pca: int = 64

    def __post_init__(self):
        one_of("precision", self.precision, FEATURE_PRECISIONS, "feature precision")
        one_of("copies", self.copies, COPY_KINDS, "kind of reference copy")
        within("coreset", self.coreset, 0, 1, above=True)
        within("pca", self.pca, 0, 4096)

    @property
    def id(self) -> str:
        """Names the encoding in the cache folder: files of another encoding are never read as this one."""
        return (self.precision + ("" if self.keeps_grid else f"-core{self.coreset:g}")
                + (f"-pca{self.pca}" if self.pca else ""))

    @property
    def keeps_grid(self) -> bool:
        return self.coreset >= 1


TEXT_MAP_PROVIDERS = ("none", "clad", "clip")


@dataclass(frozen=True)
class TextMapConfig:
    """The text-conditioned anomaly map (issue 12): patches compared with the class's normal / abnormal texts.

    provider: "none" (no text map), "clad" (projection heads trained per class over the embedded
      EfficientNet-Lite0 and all-MiniLM-L6-v2 encoders: works on a fresh machine) or "clip" (a local
      open_clip checkpoint at `path`, architecture `arch`).
    weight: share of the text map in the fused map the verdict rests on (0 = shown beside it, not fused).
    temperature: softmax temperature of the two-state (normal / abnormal) patch probability.
    normality_temperature: that of a normality added by text (NAND), whose suppression map weighs its phrases
      against the normal prompts and the other kinds of defect (colder than the text map: it must decide).
    """

    provider: str = "none"
    path: str | None = None
    arch: str | None = None
    weight: float = 0.0
    temperature: float = 0.07
    normality_temperature: float = 0.07

    def __post_init__(self):
        one_of("provider", self.provider, TEXT_MAP_PROVIDERS, "text-map provider")
        within("weight", self.weight, 0, 1)
        within("temperature", self.temperature, 0, 10, above=True)
        within("normality_temperature", self.normality_temperature, 0, 10, above=True)
        if self.provider == "clip" and not self.path:
            raise ConfigError("text_map.path: provider clip loads a local open_clip checkpoint; set its path")


@dataclass(frozen=True)
class RetrievalConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    map: MapConfig = field(default_factory=MapConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    text_map: TextMapConfig = field(default_factory=TextMapConfig)
    rules_top_n: int = 6

    def __post_init__(self):
        within("rules_top_n", self.rules_top_n, 0, 100)
        if self.map.window > 0 and not self.features.keeps_grid:
            raise ConfigError(f"map.window: {self.map.window} matches each cell against the references' patches "
                              f"near it, which needs their whole grids; set features.coreset: 1.0 or window: 0")
