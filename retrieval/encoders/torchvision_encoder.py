"""A torchvision classification backbone with a state dict loaded from a local file.

`retrieval.encoder.arch` names the torchvision model ("resnet18", "wide_resnet50_2", ...),
`retrieval.encoder.path` its state dict, and `retrieval.encoder.layers` the nodes whose outputs
become patch features (default: layer2 and layer3, as PatchCore does for ResNets).
"""

from __future__ import annotations

from retrieval.config import EncoderConfig
from retrieval.encoders.image_encoder import ImageEncoder, require_local, weights_digest
from retrieval.errors import ConfigError, MissingWeights

DEFAULT_LAYERS = ("layer2", "layer3")


class TorchvisionEncoder(ImageEncoder):
    mean = (0.485, 0.456, 0.406)
    std = (0.229, 0.224, 0.225)

    def __init__(self, cfg: EncoderConfig):
        import torch
        import torchvision
        from torchvision.models.feature_extraction import create_feature_extractor

        path = require_local(cfg.path, "the torchvision encoder")
        if not cfg.arch or cfg.arch not in torchvision.models.list_models():
            raise ConfigError(f"retrieval.encoder.arch {cfg.arch!r} is not a torchvision model "
                              "(e.g. resnet18, wide_resnet50_2)")
        model = torchvision.models.get_model(cfg.arch, weights=None)
        state = torch.load(path, map_location="cpu", weights_only=True)
        missing = model.load_state_dict(state, strict=False).missing_keys
        if missing:
            raise MissingWeights(f"{path} is not a complete {cfg.arch} state dict (missing {missing[0]} ...)")
        self.layers = tuple(cfg.layers) or DEFAULT_LAYERS
        self.model = create_feature_extractor(model.eval(), return_nodes=list(self.layers))
        self.image_size = cfg.image_size
        self._id = f"torchvision:{cfg.arch}@{weights_digest(path)}"

    @property
    def id(self) -> str:
        return self._id

    def layer_maps(self, batch):
        import torch

        with torch.inference_mode():
            out = self.model(batch)
        return [out[name] for name in self.layers]
