"""Where each rule applies on the part ("which rule applies here?"): in the class's patch <-> text space,
the cell whose patch embedding is closest (cosine) to the rule's text embedding, as a pixel box.

Only with a text map configured (`retrieval.text_map.provider`); without one there is nothing to ground
rules in and `rule_regions` returns no boxes. The space is the one the text map uses, so a rule's box and
the text map come from the same embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from assistant.inspection.text_spaces import text_space_for
from retrieval import anomaly_map


@dataclass(frozen=True)
class RuleRegion:
    """box: [x0, y0, x1, y1] pixels of the best-matching cell; cosine: its similarity to the rule's text."""

    box: list[int]
    cosine: float


def rule_regions(workspace, evidence, rules) -> dict[str, RuleRegion]:
    """rule id -> where its text best matches the query's patches; {} without a text space."""
    with workspace.using_store():
        space = text_space_for(workspace, evidence.class_name)
    if space is None or not rules:
        return {}
    patches = F.normalize(space.patch_embeddings(evidence.query.image).float(), dim=-1)     # (H, W, D)
    texts = F.normalize(torch.as_tensor(space.text_embeddings([r.text for r in rules])).float(), dim=-1)
    height, width = patches.shape[:2]
    cosines = (patches.reshape(height * width, -1) @ texts.T)                                # (H*W, N)
    best, cells = cosines.max(dim=0)
    regions = {}
    for rule, cell, cosine in zip(rules, cells.tolist(), best.tolist()):
        gy, gx = divmod(cell, width)
        box = anomaly_map.scale_box((gx, gy, gx + 1, gy + 1), (height, width), evidence.query.size)
        regions[rule.id] = RuleRegion(box, float(cosine))
    return regions
