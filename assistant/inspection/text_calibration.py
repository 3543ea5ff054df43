"""The text map in a class's calibration: its space built when the class is recalibrated, and the
threshold of the fused map.

**When the space is built.** A recalibration follows every change of a class's references (`normalcy
ingest`, accept as normal, a rebuild) and of its scoring settings, so that is where the class's text space
is built (`prepare`): CLAD heads trained then, in seconds, with a progress bar on stderr (the browser
shows the same bar: the accept handler tracks tqdm), not on the next inspection. Heads whose provenance
still matches are loaded, and no bar is drawn.

**The threshold of the fused map.** With `text_map.weight` w > 0 the verdict rests on

    fused = (1 - w) * few_shot + w * scale * text          (scale: the few-shot threshold)

whose image scores are not the few-shot map's, so a threshold set on the few-shot scores alone would not
keep the stated overkill. The calibration therefore scores the class's sampled references twice, leave
one out as a query would be: on the few-shot map (its conformal quantile is `scale`, which puts the two
maps in the same units) and on the fused map built with that scale (its quantile is the threshold the
verdict uses). The fused pass rescores every sampled reference: the text space of a CLAD class changes
with every reference added, so none of its scores can be reused. The space's id is part of the
calibration's settings, so a new space (rules edited, references added) makes the calibration stale.
A CLIP map's few-shot half (`clip_few_shot`) is built, as at inspection, from each reference's k nearest
other references, the ones its few-shot map was scored against.
Caveat: CLAD's heads are trained on up to 12 of these references, whose text scores are lower than an
unseen part's.
"""

from __future__ import annotations

import sys

import numpy as np

from assistant.inspection.text_map import fuse
from assistant.inspection.text_spaces import text_space_for
from retrieval.anomaly_map import image_score

FEW_SHOT_RECIPE = "clip-memory-loo-max"   # the CLIP map's few-shot half (`clip_few_shot`): a calibration made
                                          # before it, or with another recipe, is stale


def prepare(workspace, class_name: str):
    """The class's text space, built now (CLAD heads trained when stale, a progress bar on stderr);
    None when the text map is off."""
    settings = workspace.config.retrieval.text_map
    if settings.provider == "none":
        return None
    if settings.provider != "clad":
        return text_space_for(workspace, class_name)
    from assistant.inspection.clad_provider import clad_space

    bar = _Bar(f"training the text heads of {class_name}")
    try:
        return clad_space(workspace, class_name, progress=bar.step)
    finally:
        bar.close()


def fused_settings(workspace, class_name: str) -> str:
    """What a fused calibration depends on besides the few-shot scoring ("" when nothing is fused)."""
    settings = workspace.config.retrieval.text_map
    if settings.provider == "none" or settings.weight == 0:
        return ""
    space = prepare(workspace, class_name)
    recipe = f"|few={FEW_SHOT_RECIPE}" if settings.provider == "clip" else ""
    return f"|text={space.id}|w={settings.weight}|T={settings.temperature}{recipe}"


def fused_scores(thresholds, class_name: str, references, embeddings, scale: float) -> np.ndarray:
    """(N,) leave-one-out image scores of `references` on the fused map built with `scale`."""
    workspace = thresholds.ws
    n = len(workspace.references.shas(class_name))
    top = workspace.config.retrieval.map.top_fraction
    scores = []
    for reference, embedding in zip(references, embeddings):
        grid, features, image, neighbours = thresholds.loo_grid(reference, embedding, n, with_image=True)
        maps = fuse(workspace, class_name, image, features, grid, scale, neighbours)
        scores.append(float(image_score(maps.grid, top)))
    return np.array(scores)


class _Bar:
    """A tqdm bar drawn on the first training step (loaded heads draw none)."""

    def __init__(self, description: str):
        self.description = description
        self.bar = None
        self.done = 0

    def step(self, step: int, steps: int, loss: float) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=steps, desc=self.description, unit="step", file=sys.stderr, leave=False)
        self.bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
        self.bar.update(step - self.done)
        self.done = step

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
