"""Pure math from backbone feature maps to patch features and image embeddings.

PatchCore-style: each layer's map is averaged over a small neighbourhood (local context), the coarser
maps are upsampled to the finest grid, and the channels are concatenated. The image embedding used for
retrieval is the channel-wise mean of the patch features, L2-normalised.
"""

from __future__ import annotations


def aggregate(layer_maps, neighbourhood: int = 3):
    """list of (B, C_i, H_i, W_i) -> (B, sum C_i, H_0, W_0) on the grid of the finest (first) map."""
    import torch
    import torch.nn.functional as F

    size = layer_maps[0].shape[-2:]
    parts = []
    for fmap in layer_maps:
        fmap = fmap.float()
        if neighbourhood > 1:
            fmap = F.avg_pool2d(fmap, neighbourhood, stride=1, padding=neighbourhood // 2,
                                count_include_pad=False)
        if fmap.shape[-2:] != size:
            fmap = F.interpolate(fmap, size=size, mode="bilinear", align_corners=False)
        parts.append(fmap)
    return torch.cat(parts, dim=1)


def embedding(features):
    """(B, C, H, W) patch features -> (B, C) unit-length image embeddings."""
    import torch.nn.functional as F

    return F.normalize(features.mean(dim=(2, 3)), dim=1)


def as_patches(features):
    """(C, H, W) -> (H*W, C), the row layout the nearest-patch search works on."""
    return features.flatten(1).transpose(0, 1).contiguous()
