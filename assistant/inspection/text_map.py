"""The text-conditioned map of one inspection, and its fusion with the few-shot map.

When `retrieval.text_map.provider` is set, the query's patches are compared with the class's normal and
abnormal texts (`class_texts`) in the class's patch <-> text space: `state_map` gives each cell the
probability that it is abnormal. To fuse two maps they must share a scale, so both are put in
anomaly-score units, where 1.0 is the decision level: the few-shot map divided by the class threshold,
the text map divided by 0.5 (even odds between the two states). The verdict's map is then

    fused = (1 - w) * few_shot / threshold + w * text / 0.5        (w = text_map.weight)

kept in the few-shot map's raw units (times the threshold) so everything built on `Evidence.grid` and
the threshold reads it unchanged. With w = 0 the text map is shown beside the few-shot map and the
verdict's map is the few-shot map itself, bit for bit.

With provider clip and the inspection's retrieved references, the text map is WinCLIP+'s: the zero-shot
map above combined with the few-shot CLIP patch memory of those references (`clip_few_shot`: each
patch's CLIP distance to the references' patches, over the references' own leave-one-out level), both
in anomaly-score units, averaged (WinCLIP+ and APRIL-GAN add the two maps; the mean keeps 1.0 the
decision level):

    text = FEW_SHOT_SHARE * few_shot_clip + (1 - FEW_SHOT_SHARE) * zero_shot / 0.5

A CLAD space is trained on the class's references already, so its map takes no references.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assistant.inspection.class_texts import state_texts
from assistant.inspection.clip_few_shot import few_shot_units
from assistant.inspection.text_spaces import text_space_for
from retrieval import anomaly_map
from retrieval.text_space.space import state_map

EVEN_ODDS = 0.5
FEW_SHOT_SHARE = 0.5


@dataclass(frozen=True)
class Maps:
    """grid: the map the verdict rests on (raw few-shot units); text: the text map in anomaly-score units
    on the same cells (None without a text space); space: the id of the space that made it."""

    grid: np.ndarray
    text: np.ndarray | None = None
    space: str | None = None


def text_map(workspace, class_name: str, image, features, shape: tuple[int, int],
             references=None) -> tuple[np.ndarray, str] | None:
    """(text map in anomaly-score units on `shape` cells, space id), or None when the text map is off.
    features: the query's (C, H, W) patch features, reused by a space built on them (CLAD); references:
    the inspection's retrieved `Reference`s, whose CLIP patch memory joins a CLIP map (None: zero-shot)."""
    space = text_space_for(workspace, class_name)
    if space is None:
        return None
    settings = workspace.config.retrieval.text_map
    texts = state_texts(workspace, class_name)
    reuse = getattr(space, "from_features", None)
    patches = reuse(features) if reuse is not None else space.patch_embeddings(image)
    text = state_map(patches, space.text_embeddings(texts.normal), space.text_embeddings(texts.abnormal),
                     settings.temperature) / EVEN_ODDS
    if references and settings.provider == "clip":
        few_shot = few_shot_units(workspace, space, patches, references)
        text = text if few_shot is None else combined(text, few_shot)
    if text.shape != tuple(shape):
        text = anomaly_map.upsample(text, *shape)
    return text, space.id


def combined(zero_shot: np.ndarray, few_shot: np.ndarray) -> np.ndarray:
    """WinCLIP+'s map from the zero-shot and few-shot CLIP maps, both (H, W) in anomaly-score units."""
    return FEW_SHOT_SHARE * few_shot + (1 - FEW_SHOT_SHARE) * zero_shot


def fuse(workspace, class_name: str, image, features, grid: np.ndarray, threshold: float,
         references=None) -> Maps:
    """The few-shot `grid` fused with the class's text map (see the module docstring); references: the
    ones `grid` was scored against, for the CLIP few-shot memory."""
    made = text_map(workspace, class_name, image, features, grid.shape, references)
    if made is None:
        return Maps(grid)
    text, space = made
    weight = workspace.config.retrieval.text_map.weight
    fused = grid if weight == 0 else ((1 - weight) * grid + weight * threshold * text).astype(grid.dtype)
    return Maps(fused, text.astype(np.float32), space)
