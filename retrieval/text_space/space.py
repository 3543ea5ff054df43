"""The patch <-> text contract and the map arithmetic built on it (providers live beside this module).

A provider embeds an image's patches and any number of texts into one space, unit length, so cosine
similarity compares a region with a description. Everything a text-conditioned map needs follows:
`state_map` (WinCLIP / APRIL-GAN: softmax over the mean normal and mean abnormal text features per patch),
`contrast_map` (the same softmax over more ensembles, one share taken: NAND's A_sup, the added normality
against the normal prompts and the other kinds of defect) and `suppress` (NAND: a normality added by text
turns an existing map A into A * (1 - A_sup)).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F


class PatchTextSpace(Protocol):
    """One patch <-> text space. `id` names the provider and everything its output depends on
    (weights' hashes, trained heads' digest), so stored maps and calibrations can refuse another space."""

    id: str

    def patch_embeddings(self, image) -> torch.Tensor:
        """PIL RGB image -> (H, W, D) float32 unit-length patch embeddings."""
        ...

    def text_embeddings(self, texts: Sequence[str]) -> torch.Tensor:
        """texts -> (N, D) float32 unit-length text embeddings."""
        ...


def mean_text(features: torch.Tensor) -> torch.Tensor:
    """(N, D) unit-length text features -> (D,) their unit-length mean (a prompt ensemble's feature)."""
    if features.ndim != 2 or features.shape[0] == 0:
        raise ValueError("a prompt ensemble needs at least one text feature, shape (N, D)")
    return F.normalize(features.float().mean(0), dim=0)


def state_map(patches: torch.Tensor, normal: torch.Tensor, abnormal: torch.Tensor,
              temperature: float = 0.07) -> np.ndarray:
    """(H, W, D) patch embeddings, (N, D) normal and (M, D) abnormal text features -> (H, W) probability
    that each patch is abnormal: softmax over its cosine similarity to the two ensembles' mean features."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    states = torch.stack([mean_text(normal), mean_text(abnormal)])          # (2, D)
    logits = F.normalize(patches.float(), dim=-1) @ states.T / temperature  # (H, W, 2)
    return logits.softmax(-1)[..., 1].numpy()


def contrast_map(patches: torch.Tensor, normal: torch.Tensor, added: torch.Tensor,
                 others: Sequence[torch.Tensor] = (), temperature: float = 0.07) -> np.ndarray:
    """(H, W, D) patch embeddings, (N, D) normal and (M, D) added text features, and any number of (K_i, D)
    other ensembles -> (H, W) probability that each patch is the added one: softmax over its cosine
    similarity to the mean features of [normal, added, *others], the added share. A patch that looks like
    another kind of defect more than like the added normality keeps a low share (it is not suppressed);
    with no others this is `state_map(patches, normal, added)`."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    states = torch.stack([mean_text(normal), mean_text(added), *(mean_text(o) for o in others)])   # (2 + k, D)
    logits = F.normalize(patches.float(), dim=-1) @ states.T / temperature                      # (H, W, 2 + k)
    return logits.softmax(-1)[..., 1].numpy()


def suppress(anomaly: np.ndarray, suppression: np.ndarray) -> np.ndarray:
    """NAND: A' = A * (1 - A_sup), with A_sup (same shape, values in [0, 1]) the map of the added normality."""
    if anomaly.shape != suppression.shape:
        raise ValueError(f"map shapes differ: {anomaly.shape} vs {suppression.shape}")
    return anomaly * (1.0 - np.clip(suppression, 0.0, 1.0))
