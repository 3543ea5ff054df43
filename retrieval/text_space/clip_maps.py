"""The two CLIP anomaly maps of an image, on the patch grid of its space.

`zero_shot_map`: WinCLIP / APRIL-GAN's text map, each patch's probability of the abnormal state (softmax
over its similarity to the mean normal and mean abnormal prompt features). `few_shot_map`: the CLIP patch
memory of the retrieved normal references, each patch's distance to its nearest reference patch
(`1 - max cos`, in [0, 2]; CLIP patches rarely point apart, so in practice [0, 1]), which is 0 where the
query is made of the references' patches.
`leave_one_out_scores`: each reference against the others, what puts the few-shot map on a scale.
Both take an image or its patch embeddings (embed a query once, use it for both maps); any
`PatchTextSpace` will do.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from retrieval.text_space.space import PatchTextSpace, state_map


def patches_of(space: PatchTextSpace, image) -> torch.Tensor:
    """(H, W, D) patch embeddings of `image` (a PIL image), or `image` itself when already embedded."""
    return image if isinstance(image, torch.Tensor) else space.patch_embeddings(image)


def zero_shot_map(space: PatchTextSpace, image, normal_texts: Sequence[str], abnormal_texts: Sequence[str],
                  temperature: float = 0.07) -> np.ndarray:
    """(H, W) probability that each patch is abnormal, from the two prompt ensembles alone."""
    return state_map(patches_of(space, image), space.text_embeddings(normal_texts),
                     space.text_embeddings(abnormal_texts), temperature)


def patch_memory(space: PatchTextSpace, reference_images) -> torch.Tensor:
    """(R * H * W, D) unit patch embeddings of the normal references (images or their embeddings)."""
    grids = [patches_of(space, reference) for reference in reference_images]
    if not grids:
        raise ValueError("a few-shot map needs at least one normal reference")
    return F.normalize(torch.cat([g.reshape(-1, g.shape[-1]) for g in grids]).float(), dim=-1)


def nearest_distance(patches: torch.Tensor, memory: torch.Tensor) -> np.ndarray:
    """(H, W, D) query patches, (N, D) unit memory -> (H, W) 1 - the best cosine over the memory."""
    query = F.normalize(patches.float(), dim=-1)
    best = (query.reshape(-1, query.shape[-1]) @ memory.T).amax(dim=1)
    return (1.0 - best.clamp(-1.0, 1.0)).reshape(query.shape[:2]).numpy()


def few_shot_map(space: PatchTextSpace, image, reference_images) -> np.ndarray:
    """(H, W) distance of each patch to the nearest patch of the normal references (0 = seen in them)."""
    return nearest_distance(patches_of(space, image), patch_memory(space, reference_images))


def leave_one_out_scores(reference_patches: Sequence[torch.Tensor], top_fraction: float = 0.0) -> np.ndarray:
    """(R,) image score (`anomaly_map.image_score`) of each reference's few-shot map against the patch
    memory of the other R - 1: how far a normal part is from its normal neighbours. R >= 2."""
    from retrieval.anomaly_map import image_score

    grids = [patches_of(None, g) for g in reference_patches]
    if len(grids) < 2:
        raise ValueError("leave-one-out scores need at least two references")
    scores = []
    for i, grid in enumerate(grids):
        memory = patch_memory(None, grids[:i] + grids[i + 1:])
        scores.append(image_score(nearest_distance(grid, memory), top_fraction))
    return np.array(scores, dtype=np.float64)
