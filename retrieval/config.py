"""Configuration of the evidence layer: frozen dataclasses with defaults in code.

YAML files only override these (see `assistant.config`); unknown keys are errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EncoderConfig:
    """Which image backbone produces patch features and embeddings.

    name: a key of `retrieval.encoders.image_encoder.ENCODERS`
      ("efficientnet-lite0" embedded; "open_clip", "torchvision" load `path`).
    path: local weights file for the non-embedded encoders.
    arch: architecture name for open_clip / torchvision (e.g. "ViT-B-32", "resnet18").
    image_size: square input side in pixels.
    layers: feature nodes for the torchvision encoder (default layer2, layer3).
    """

    name: str = "efficientnet-lite0"
    path: str | None = None
    arch: str | None = None
    image_size: int = 224
    layers: tuple[str, ...] = ()


@dataclass(frozen=True)
class MapConfig:
    """Few-shot anomaly map: nearest-patch distance of the query against k references.

    k: number of retrieved normal references.
    sigma: Gaussian smoothing of the map, in feature-grid cells.
    neighbourhood: side of the local average pooling applied to patch features (PatchCore-style).
    top_fraction: the image score is the mean of this top fraction of map cells (0 = the max).
    """

    k: int = 8
    sigma: float = 1.0
    neighbourhood: int = 3
    top_fraction: float = 0.0


@dataclass(frozen=True)
class CalibrationConfig:
    """Per-class threshold from normal references only (leave-one-out).

    target_overkill: the stated false-alarm rate; the threshold is the conformal quantile of the
      leave-one-out scores for it (`retrieval.calibration.threshold_at_overkill`).
    z: the older rule, threshold = mean + z * std of the leave-one-out scores (`threshold_from_scores`).
    max_references: at most this many references are scored (evenly spread) to bound time.
    """

    target_overkill: float = 0.02
    z: float = 2.0
    max_references: int = 64


@dataclass(frozen=True)
class StoreConfig:
    """Where the vector store lives: embedded on disk (default) or a Chroma server on the plant network."""

    host: str | None = None
    port: int = 8000


@dataclass(frozen=True)
class RetrievalConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    map: MapConfig = field(default_factory=MapConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    rules_top_n: int = 6
