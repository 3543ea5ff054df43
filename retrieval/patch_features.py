"""Pure math from backbone feature maps to patch features and image embeddings.

PatchCore-style: every layer's map is upsampled (bilinear) to the finest grid, the channels are
concatenated, and one small average over the neighbourhood gives each patch its local context. Zero
padding counts in that average, so a border cell is shrunk toward 0 (edge cells of a constant map by 6/9,
corners by 4/9): distances at the border shrink with it, which damps the backbone's own zero-padding
artefacts there — without it the warmest spot of a normal part is nearly always an image corner (issue 9:
bench/map_quality.py --ablation, "zero padding counted", +0.03 to +0.2 image AUROC on ELPV poly and the
textures). The image embedding used for retrieval is the channel-wise mean of the patch features,
L2-normalised.
"""

from __future__ import annotations

FEATURES_VERSION = "up-cat-avgpad"   # names the aggregation: cached features made otherwise are not reused


def aggregate(layer_maps, neighbourhood: int = 3):
    """list of (B, C_i, H_i, W_i) -> (B, sum C_i, H_0, W_0) on the grid of the finest (first) map.

    Upsample to (H_0, W_0), concatenate, then a `neighbourhood`-wide average, stride 1, zero padding counted.
    """
    import torch
    import torch.nn.functional as F

    size = layer_maps[0].shape[-2:]
    parts = [fmap.float() if fmap.shape[-2:] == size else
             F.interpolate(fmap.float(), size=size, mode="bilinear", align_corners=False) for fmap in layer_maps]
    features = torch.cat(parts, dim=1)
    if neighbourhood > 1:
        features = F.avg_pool2d(features, neighbourhood, stride=1, padding=neighbourhood // 2,
                                count_include_pad=True)
    return features


def embedding(features):
    """(B, C, H, W) patch features -> (B, C) unit-length image embeddings."""
    import torch.nn.functional as F

    return F.normalize(features.mean(dim=(2, 3)), dim=1)


def as_patches(features):
    """(C, H, W) -> (H*W, C), the row layout the nearest-patch search works on."""
    return features.flatten(1).transpose(0, 1).contiguous()
