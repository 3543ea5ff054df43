"""The text map's ablation rows of `normalcy eval` (issue 12): few-shot alone, text map alone, fused.

When `retrieval.text_map.provider` is set, every test image's evidence holds the few-shot map, the text map
and the map the verdict rests on (fused at `retrieval.text_map.weight`, `assistant/inspection/text_map.py`).
They are kept from the same gather that gives the verdicts (no second inspection), in anomaly-score units,
as one (3, h, w) float32 array: DIR/maps/CONFIG_HASH/SHA256.sources.npy. Per class, each source's image
AUROC (its image score as the evidence takes it: `retrieval.map.top_fraction`) and, where the class has
masks, its pixel AUROC over the same pixels as the ordinary pixel metrics. Means over the classes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from assistant.evaluation.kept_maps import class_pixel_metrics, needs_maps
from assistant.evaluation.metrics import auroc
from retrieval import anomaly_map
from retrieval.atomic_file import npy_bytes, write_bytes

SOURCES = ("few_shot", "text", "fused")
LABELS = {"few_shot": "few-shot alone", "text": "text map alone", "fused": "fused (weight {weight:g})"}


class SourceCache:
    """The three maps of each evaluated image; `source(i)` reads one of them like a `MapCache`."""

    def __init__(self, folder: str | Path, index: int = 0):
        self.folder, self.index = Path(folder), index

    def path(self, config: str, sha256: str) -> Path:
        return self.folder / config / f"{sha256}.sources.npy"

    def __contains__(self, item: tuple[str, str]) -> bool:
        return self.path(*item).is_file()

    def put(self, config: str, sha256: str, evidence) -> None:
        """Keep the evidence's few-shot, text and fused maps (written atomically)."""
        few_shot = evidence.grid if evidence.few_shot_grid is None else evidence.few_shot_grid
        stack = np.stack([few_shot / evidence.threshold, evidence.text_grid, evidence.grid / evidence.threshold])
        write_bytes(self.path(config, sha256), npy_bytes(stack.astype(np.float32)))

    def grid(self, config: str, sha256: str) -> np.ndarray:
        return np.load(self.path(config, sha256))[self.index]

    def source(self, name: str) -> "SourceCache":
        return SourceCache(self.folder, SOURCES.index(name))

    def at_size(self, config: str, sha256: str, height: int, width: int) -> np.ndarray:
        return anomaly_map.upsample(self.grid(config, sha256), height, width)


def _class_rows(samples: Sequence, shas: Mapping, cache: SourceCache, config: str, top: float) -> dict:
    labels = [int(s.label == 1) for s in samples]
    rows = {}
    for name in SOURCES:
        view = cache.source(name)
        scores = [anomaly_map.image_score(view.grid(config, shas[s]), top) for s in samples]
        pixel = class_pixel_metrics(samples, shas, view, config)["pixel_auroc"] if needs_maps(samples) else None
        rows[name] = {"auroc": auroc(labels, scores), "pixel_auroc": pixel}
    return rows


def _mean(classes: Mapping, source: str, key: str) -> float | None:
    values = [rows[source][key] for rows in classes.values() if rows[source][key] is not None]
    return sum(values) / len(values) if values else None


def text_map_rows(samples: Sequence, shas: Mapping, cache: SourceCache, hashes: Mapping, text_map, top: float) -> dict:
    """The metrics.json "text_map" block: {"provider", "weight", "temperature", "labels": {SOURCE: row label},
    "classes": {CLASS: {SOURCE:
    {"auroc", "pixel_auroc"}}}, "mean": {SOURCE: {...}}}. hashes: {class: evidence config hash}."""
    classes = {}
    for name in sorted({s.class_name for s in samples}):
        mine = [s for s in samples if s.class_name == name]
        classes[name] = _class_rows(mine, shas, cache, hashes[name], top)
    mean = {source: {key: _mean(classes, source, key) for key in ("auroc", "pixel_auroc")} for source in SOURCES}
    labels = {source: LABELS[source].format(weight=text_map.weight) for source in SOURCES}
    return {"provider": text_map.provider, "weight": text_map.weight, "temperature": text_map.temperature,
            "labels": labels, "classes": classes, "mean": mean}


def row_lines(block: Mapping) -> list[str]:
    """One human line per source of the block's mean: "text map alone: AUROC 0.812  pixel-AUROC 0.640"."""
    show = lambda v: "n/a" if v is None else f"{v:.3f}"      # noqa: E731
    return [f"{block['labels'][s]}: AUROC {show(block['mean'][s]['auroc'])}"
            f"  pixel-AUROC {show(block['mean'][s]['pixel_auroc'])}" for s in SOURCES]
