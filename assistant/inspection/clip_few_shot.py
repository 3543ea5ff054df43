"""The few-shot half of the CLIP text map: the CLIP patch memory of the references an inspection retrieved.

WinCLIP+ (and APRIL-GAN's few-shot mode) add a few-shot map to the zero-shot text map: each query patch's
distance to its nearest patch among the normal references' CLIP patches (`1 - max cos`,
`retrieval.text_space.clip_maps`). The references are the k the inspection retrieved for its own few-shot
map; their CLIP patch embeddings are read from the home (`clip_patch_cache`), embedded from the stored
copy only the first time, so an inspection pays one CLIP forward: the query's. A reference whose copy
is gone (and whose CLIP patches are not cached) is a one-line MissingWeights.

**Its scale.** To be combined with the zero-shot map (probability / 0.5), the distance is put in
anomaly-score units, 1.0 = the decision level: it is divided by the retrieved references' own
leave-one-out level, the largest image score (`map.top_fraction`, as the verdict's) of each reference's
map against the other k - 1 — the conformal k/(k+1) quantile of a normal part of this neighbourhood.
So a normal query scores about 1.0 or below and a patch none of the references shows goes above, on
the class's and the neighbourhood's own CLIP distances (a fixed 0.5 * (1 - cos), WinCLIP's, would put
every CLIP patch far below any level: their cosines are near 1). It costs no forward and no stored
state: k * (k - 1) patch comparisons, milliseconds. Caveats: a memory of k - 1 references is a little
sparser than the query's k, so the level is a little high (conservative); with fewer than two references
there is no level and the text map is the zero-shot map alone; a level below MIN_LEVEL (duplicate
references) is raised to it. Both sides are compared in float16, the cache's precision, so a query that
is one of its references is at distance 0 there, cold or warm cache alike.
"""

from __future__ import annotations

import numpy as np

from assistant.inspection.patch_scorer import PatchScorer
from retrieval.errors import MissingWeights
from retrieval.text_space.clip_maps import leave_one_out_scores, nearest_distance, patch_memory
from retrieval.text_space.clip_patch_cache import ClipPatchCache

CACHES = "_clip_patch_caches"      # workspace attribute: {space id: ClipPatchCache}
MIN_LEVEL = 1e-3


def patch_cache(workspace, space) -> ClipPatchCache:
    """The workspace's cache of `space`'s reference patches (in the home when it exists and is writable)."""
    caches = vars(workspace).setdefault(CACHES, {})
    if space.id not in caches:
        home = workspace.home
        folder = home.features if home.root.is_dir() and home.writable() else None
        caches[space.id] = ClipPatchCache(folder, space.id)
    return caches[space.id]


def reference_patches(workspace, space, references, shape: tuple[int, ...]) -> list:
    """(H, W, D) float32 CLIP patches of each reference: from the cache, else embedded from its stored
    copy and kept (a copy that is gone is the scorer's one-line MissingWeights)."""
    cache = patch_cache(workspace, space)
    scorer = None
    grids = []
    for reference in references:
        patches = cache.get(reference.sha256, shape)
        if patches is None:
            scorer = scorer or PatchScorer(workspace)
            patches = cache.put(reference.sha256, space.patch_embeddings(_copy(scorer, reference)))
        grids.append(patches)
    return grids


def _copy(scorer: PatchScorer, reference):
    """The reference's stored copy (RGB PIL); gone: the one line the evidence gives for it."""
    try:
        return scorer.copy_of(reference).image
    except MissingWeights:
        raise MissingWeights(f"the stored copy of reference {reference.path} is gone; "
                             f"re-ingest class {reference.class_name}") from None


def few_shot_units(workspace, space, patches, references) -> np.ndarray | None:
    """(H, W) few-shot CLIP map of the query's (H, W, D) `patches` against `references`, in anomaly-score
    units (see the module docstring); None with fewer than two references."""
    if len(references) < 2:
        return None
    grids = reference_patches(workspace, space, references, tuple(patches.shape))
    top = workspace.config.retrieval.map.top_fraction
    level = max(float(leave_one_out_scores(grids, top).max()), MIN_LEVEL)
    distance = nearest_distance(patches.half().float(), patch_memory(None, grids))
    return (distance / level).astype(np.float32)
