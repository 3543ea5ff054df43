"""Normalities added by text, applied to the evidence (NAND): the class's few-shot map A becomes
A' = A * (1 - A_sup) before the image score is taken from it.

A_sup comes from the class's patch <-> text space (`text_spaces.text_space_for`), with the normality's
phrases in the place of the abnormal prompts (f_add replaces f_abn) and the other kinds of defect beside
them (`defect_kinds.other_defects`: the kinds the normality does not name, and the class's defect texts that
do not name it): per patch, the share of f_add in a softmax over [normal prompts, f_add, each other defect]
(`space.contrast_map`, at `text_map.normality_temperature`), resized to the map's grid. So "a stain is
acceptable" suppresses a patch that looks like a stain, not one that looks more like a scratch or a piece
out of place (all of them are nearer "stain" than the normal prompts). Several normalities suppress in
turn (A * prod_i (1 - A_sup_i)). A class without added normalities is not touched (no text space is built),
so removing the last one gives back exactly the scores of before. With the text map switched off (`retrieval.text_map.provider: none`) the normalities stay listed, not applied.
"""

from __future__ import annotations

import numpy as np

from assistant.inspection.class_texts import class_words, state_texts
from assistant.inspection.text_spaces import text_space_for
from retrieval.anomaly_map import upsample
from retrieval.normality_store import NormalityStore
from retrieval.text_space.defect_kinds import other_defects
from retrieval.text_space.normality_phrases import appearance, normal_prompts


def suppression_map(space, patches, normal, phrases, temperature: float, shape: tuple[int, int],
                    others=()) -> np.ndarray:
    """A_sup of one normality on a grid of `shape` (h, w): (H, W, D) patch embeddings of the query, (N, D)
    text features of the class's normal prompts, the normality's phrases and `others` (text lists: the
    other defects it is contrasted with) -> (h, w) in [0, 1]."""
    from retrieval.text_space.space import contrast_map   # torch: only once a class has added normalities

    added = contrast_map(patches, normal, space.text_embeddings(list(phrases)),
                         [space.text_embeddings(list(texts)) for texts in others], temperature)
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

    temperature = workspace.config.retrieval.text_map.normality_temperature
    patches = space.patch_embeddings(image)
    normal = space.text_embeddings(list(normal_prompts(class_name)))
    defects = state_texts(workspace, class_name).abnormal
    for normality in normalities:
        others = other_defects(appearance(normality.text), class_words(class_name), defects)
        grid = suppress(grid, suppression_map(space, patches, normal, normality.phrases, temperature, grid.shape,
                                              others))
    return grid.astype(np.float32)
