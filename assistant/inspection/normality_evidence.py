"""Normalities added by text, applied to the evidence (NAND): the class's few-shot map A becomes
A' = A * (1 - A_sup) before the image score is taken from it.

A_sup is the two-state map of the class's patch <-> text space (`text_spaces.text_space_for`) with the
normality's phrases in the place of the abnormal prompts (f_add replaces f_abn): per patch, the probability
that it looks like the added normality rather than like a normal part of the class, resized to the map's
grid. Several normalities suppress in turn (A * prod_i (1 - A_sup_i)). A class without added normalities is
not touched (no text space is built), so removing the last one gives back exactly the scores of before. With
the text map switched off (`retrieval.text_map.provider: none`) the normalities stay listed, not applied.
"""

from __future__ import annotations

import numpy as np

from assistant.inspection.text_spaces import text_space_for
from retrieval.anomaly_map import upsample
from retrieval.normality_store import NormalityStore
from retrieval.text_space.normality_phrases import normal_prompts


def suppression_map(space, patches, normal, phrases, temperature: float, shape: tuple[int, int]) -> np.ndarray:
    """A_sup of one normality on a grid of `shape` (h, w): (H, W, D) patch embeddings of the query and
    (N, D) text features of the class's normal prompts vs the normality's phrases -> (h, w) in [0, 1]."""
    from retrieval.text_space.space import state_map      # torch: only once a class has added normalities

    added = state_map(patches, normal, space.text_embeddings(list(phrases)), temperature)
    return added if added.shape == tuple(shape) else np.clip(upsample(added, *shape), 0.0, 1.0)


def suppressed(workspace, image, class_name: str, grid: np.ndarray) -> np.ndarray:
    """(h, w) few-shot map of `image` (PIL RGB) -> the map with the class's added normalities suppressed
    (the same array when there are none, or no text space is configured)."""
    normalities = NormalityStore(workspace.home.normalities).of_class(class_name)
    if not normalities:
        return grid
    space = text_space_for(workspace, class_name)
    if space is None:
        return grid
    from retrieval.text_space.space import suppress

    temperature = workspace.config.retrieval.text_map.temperature
    patches = space.patch_embeddings(image)
    normal = space.text_embeddings(list(normal_prompts(class_name)))
    for normality in normalities:
        grid = suppress(grid, suppression_map(space, patches, normal, normality.phrases, temperature, grid.shape))
    return grid.astype(np.float32)
