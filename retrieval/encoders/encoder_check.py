"""What `normalcy models check` says about a vision-backbone folder (DINOv2 / DINOv3, CLIP or SigLIP vision).

Unlike the language-model check, this one loads the folder exactly as the configured encoder would
(`retrieval.encoder` layers, pooling and image size, with `path` set to the folder) and runs one blank
image through it: what it is, its patch grid, the feature dims per layer, and that it loads. A folder
that does not load raises the encoder's own one-line error (`MissingWeights` / `ConfigError`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from retrieval.config import EncoderConfig
from retrieval.encoders.transformers_encoder import folder_model_type

__all__ = ["EncoderReport", "check_encoder_dir", "encoder_report_lines", "folder_model_type"]


@dataclass
class EncoderReport:
    """layer_channels: channels of each configured layer's patch map; feature_dim: their sum (per patch)."""

    path: str
    model_type: str
    family: str
    loads: bool
    encoder_id: str
    n_params: int
    patch_size: int
    image_size: int
    grid: list[int]
    layers: list[int] = field(default_factory=list)
    layer_channels: list[int] = field(default_factory=list)
    feature_dim: int = 0
    pooling: str = "mean"
    embedding_dim: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def check_encoder_dir(path, configured: EncoderConfig | None = None) -> EncoderReport:
    """Load `path` as the transformers encoder (the configured layers / pooling / size when the configured
    encoder is one) and run a blank image through it; raises the loader's one-line error when it fails."""
    import torch

    from retrieval.encoders.transformers_encoder import TransformersEncoder

    base = configured if configured is not None and configured.name == "transformers" else EncoderConfig(
        name="transformers")
    encoder = TransformersEncoder(replace(base, path=str(path)))
    maps, pooled = encoder.encode(torch.zeros(1, 3, encoder.image_size, encoder.image_size))
    channels = [int(m.shape[1]) for m in maps]
    return EncoderReport(
        path=str(path), model_type=encoder.model_type, family=encoder.family.label, loads=True,
        encoder_id=encoder.id, n_params=sum(p.numel() for p in encoder.tower.parameters()),
        patch_size=encoder.patch_size, image_size=encoder.image_size, grid=[int(s) for s in maps[0].shape[-2:]],
        layers=list(encoder.layers), layer_channels=channels, feature_dim=sum(channels), pooling=encoder.pooling,
        embedding_dim=int(pooled.shape[1]) if pooled is not None else sum(channels))


def encoder_report_lines(report: EncoderReport) -> list[str]:
    """Human-readable summary, one fact per line."""
    per_layer = " + ".join(f"block {layer} ({dim})" for layer, dim in zip(report.layers, report.layer_channels))
    return [
        f"{report.path}: vision backbone, loads",
        f"  family: {report.family} ({report.model_type}), {report.n_params:,} parameters",
        f"  input: {report.image_size} px, patch {report.patch_size} -> patch grid "
        f"{report.grid[0]}x{report.grid[1]}",
        f"  patch features: {per_layer} = {report.feature_dim} dims per patch",
        f"  global embedding: {report.pooling}, {report.embedding_dim} dims",
        f"  encoder id: {report.encoder_id}",
        f"  use it: retrieval.encoder: {{name: transformers, path: {report.path}, "
        f"image_size: {report.image_size}, layers: {report.layers}, pooling: {report.pooling}}}",
    ]
