"""Gathering the evidence for one inspection: nearest normal references, rules, anomaly map, threshold.

This is where the retrieval primitives meet: the query is encoded once; its embedding retrieves the k
nearest references of the class; its patch features are compared with the cached patch features of those
references; the class calibration turns the raw map score into `anomaly_score` (1.0 = threshold; a series'
band deviation fused in, `band_fusion`); a query too far
from its nearest reference of the class is marked out of distribution (`out_of_distribution`).
A score that is not finite is an error, never a verdict (NaN compares false, so it would read as PASS).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from assistant.inspection.band_fusion import band_ratio, fused
from assistant.inspection.inputs import LoadedImage
from assistant.inspection.normality_evidence import suppressed
from assistant.inspection.out_of_distribution import OutOfDistribution, check
from assistant.inspection.text_map import fuse
from retrieval import anomaly_map
from retrieval.calibration import Calibration
from retrieval.errors import DOCTOR_HINT, CorruptState, MissingWeights
from retrieval.reference_store import Reference
from retrieval.rule_store import RankedRule


@dataclass(frozen=True)
class Sheet:
    """A sheet of the whole file shown beside the one image inspected, to the model and in the chat."""
    image: object                 # PIL RGB
    modality: str                 # whose: "video" (its sampled frames) or "point_cloud" (its views)

    @property
    def is_the_file(self) -> bool:
        """A video's frame sheet is the clip itself (the frame inspected is one of many); a point cloud's
        views only show the render's part from other sides (`ModelReasoner._open`'s budget rule)."""
        from assistant.inspection.video_inputs import VIDEO

        return self.modality == VIDEO


@dataclass
class Evidence:
    query: LoadedImage
    class_name: str
    references: list[Reference]
    rules: list[RankedRule]
    grid: np.ndarray              # (h, w) raw nearest-patch distances, smoothed (fused with the text map if any)
    map_score: float              # image score from the grid (max or top-fraction mean)
    calibration: Calibration
    copies: object = None         # the stored reference copies (`ReferenceCopies`)
    out_of_distribution: OutOfDistribution | None = None   # set when the query is far outside its class
    mm_per_px: float | None = None  # millimetres per pixel of `query.image`: the class's scale (`scale_of`)
    few_shot_grid: np.ndarray | None = None  # (h, w) the few-shot map alone, raw (None: `grid` is it)
    text_grid: np.ndarray | None = None      # (h, w) the text map in anomaly-score units (None: no text map)
    text_space: str | None = None            # the id of the patch <-> text space that made it
    text_provider: str | None = None         # `retrieval.text_map.provider` that made it ("clad", "clip")
    text_weight: float = 0.0                 # its share in the fused map (`retrieval.text_map.weight`)

    @cached_property
    def sheet(self) -> Sheet | None:
        """The `Sheet` shown beside the image inspected: a video's frame sheet (every sampled frame with its
        time and score, `video_inputs`) or a point cloud's views with the map's box outlined in each
        (`point_cloud_views`, drawn once, here); None for other inputs or with the views switched off."""
        rendered = self.query.rendered
        if rendered is None:
            return None
        if rendered.sheet is not None:
            return Sheet(rendered.sheet, rendered.modality)
        return None if rendered.views is None else Sheet(rendered.views(self.defect_box), rendered.modality)

    @property
    def threshold(self) -> float:
        return self.calibration.threshold

    @property
    def map_ratio(self) -> float:
        return self.map_score / self.threshold

    @property
    def band_ratio(self) -> float | None:
        """A series' band deviation over its class's band threshold (None: no band part, `band_fusion`)."""
        return band_ratio(self.query.rendered, self.calibration)

    @property
    def anomaly_score(self) -> float:
        """The map's ratio, fused with a series' band ratio (`band_fusion`): 1.0 = the class limit."""
        return fused(self.map_ratio, self.band_ratio)

    @property
    def anomalous(self) -> bool:
        return self.anomaly_score >= 1.0

    @cached_property
    def score_map(self) -> np.ndarray:
        """(H, W) map at the query's size in anomaly-score units (1.0 = threshold)."""
        width, height = self.query.size
        return anomaly_map.upsample(self.grid / self.threshold, height, width)

    def maps(self) -> dict[str, np.ndarray]:
        """Each map at the query's size in anomaly-score units: "fused" (what the verdict rests on, the
        same as `score_map`), "few_shot" and, with a text space, "text"."""
        width, height = self.query.size
        few_shot = self.grid if self.few_shot_grid is None else self.few_shot_grid
        few_shot = anomaly_map.upsample(few_shot / self.calibration.scale, height, width)
        shown = {"fused": self.score_map, "few_shot": few_shot}
        if self.text_grid is not None:
            shown["text"] = anomaly_map.upsample(self.text_grid, height, width)
        return shown

    def map_caption(self, which: str = "fused") -> str:
        """Which map an overlay of `maps()[which]` shows, in words: written on the overlay, so the model and
        the operator both know whether the text map is in it."""
        if self.text_grid is None or which == "few_shot":
            return "few-shot map"
        text = f"{(self.text_provider or 'text').upper()} text map"
        if which == "text":
            return text
        if self.text_weight == 0:
            return f"few-shot map ({text} not fused, w=0)"
        return f"fused: few-shot + {text} (w={self.text_weight:g})"

    def _box_at(self, level: float, grid: np.ndarray | None = None) -> list[int] | None:
        grid = self.grid if grid is None else grid
        cells = anomaly_map.hot_region(grid, level)
        return None if cells is None else anomaly_map.scale_box(cells, grid.shape, self.query.size)

    def _map_box(self, which: str) -> list[int] | None:
        """The box of the region above the decision level on map `which` (the fused one: `defect_box`)."""
        if which == "text":
            return self._box_at(1.0, self.text_grid)
        if which == "few_shot" and self.few_shot_grid is not None:
            return self._box_at(self.calibration.scale, self.few_shot_grid)
        return self.defect_box

    @property
    def defect_box(self) -> list[int] | None:
        """Pixel box of the region above the threshold around the peak; None when nothing is above it."""
        return self._box_at(self.threshold)

    @property
    def focus_box(self) -> list[int]:
        """The defect box, or, for a normal part, the warmest region around the peak (for "look closer")."""
        median = float(np.median(self.grid))
        level = min(self.threshold, median + 0.5 * (self.map_score - median))
        return self._box_at(level) or [0, 0, *self.query.size]

    @property
    def peak(self) -> tuple[int, int]:
        """(x, y) pixel position of the map's maximum."""
        gy, gx = np.unravel_index(int(np.argmax(self.grid)), self.grid.shape)
        width, height = self.query.size
        return int((gx + 0.5) * width / self.grid.shape[1]), int((gy + 0.5) * height / self.grid.shape[0])

    def overlay(self, style: str = "all", which: str = "fused"):
        """The overlay of map `which` (a key of `maps()`) in `style`, captioned with the map's name."""
        from retrieval.overlay import render

        shown = self.maps()
        if which not in shown:
            raise ValueError(f"map must be one of {tuple(shown)}, got {which!r}")
        title = self.map_caption(which) if self.text_grid is not None else None   # one map: nothing to tell apart
        return render(self.query.image, shown[which], self._map_box(which), style, title)

    def reference_image(self, reference: Reference):
        """The stored copy of a reference image (RGB PIL)."""
        picture = self.copies.picture(reference.sha256)
        if picture is None:
            raise MissingWeights(f"the stored copy of reference {reference.path} is gone; "
                                 f"re-ingest class {reference.class_name}")
        return picture


def scale_of(config, class_name: str, query: LoadedImage) -> float | None:
    """Millimetres per pixel of the decoded image: the class's configured scale (per pixel of the file),
    times the reduction when the file was decoded reduced; None when the class has no scale."""
    setting = config.classes.get(class_name)
    if setting is None or setting.mm_per_px is None:
        return None
    file_width = (query.source_size or query.size)[0]
    return setting.mm_per_px * (file_width / query.size[0])


class EvidenceGatherer:
    """One inspection's evidence: the k nearest references of the class, its rules, the map and threshold."""

    def __init__(self, workspace, scorer, thresholds):
        """scorer: `PatchScorer`; thresholds: `ClassThresholds` (both of the same workspace)."""
        self.ws = workspace
        self.scorer = scorer
        self.thresholds = thresholds

    def gather(self, query: LoadedImage, class_name: str, question: str | None = None,
               k: int | None = None, with_rules: bool = True, exclude: set[str] = frozenset()) -> Evidence:
        """Evidence for one query; `exclude` keeps given reference sha256s out (leave-one-out)."""
        reused = self._reused(query, class_name, question, k, with_rules, exclude)
        if reused is not None:
            return reused
        with self.ws.using_store():
            cfg = self.ws.config.retrieval
            self.ws.references.require_class(class_name)
            calibration = self.thresholds.current(class_name)
            features, embeddings = self.scorer.featurize([query.image])
            references = self.ws.references.nearest(class_name, embeddings[0], k or cfg.map.k, exclude=exclude)
            flipped = self.scorer.flip_image(class_name, query.image)
            few_shot = self.scorer.score_grid(features[0], references, flipped)
            maps = fuse(self.ws, class_name, query.image, features[0], few_shot, calibration.scale,
                        references)
            grid = suppressed(self.ws, query.image, class_name, maps.grid)     # NAND: on the map the verdict rests on
            score = anomaly_map.image_score(grid, cfg.map.top_fraction)
            if not (math.isfinite(score) and math.isfinite(calibration.threshold) and calibration.threshold > 0):
                raise CorruptState(f"the anomaly score of {query.path or 'the image'} came out as {score!r} over "
                                   f"threshold {calibration.threshold!r}, not a finite number; {DOCTOR_HINT}")
            rules = self.ws.rules.for_class(class_name, question, cfg.rules_top_n) if with_rules else []
            outside = check(self.ws, self.thresholds, class_name, embeddings[0], references, calibration)
            return Evidence(query, class_name, references, rules, grid, score, calibration, self.scorer.copies,
                            outside, scale_of(self.ws.config, class_name, query),
                            None if maps.text is None else few_shot, maps.text, maps.space,
                            None if maps.text is None else cfg.text_map.provider, cfg.text_map.weight)

    def _reused(self, query: LoadedImage, class_name: str, question: str | None, k: int | None,
                with_rules: bool, exclude: set[str]) -> Evidence | None:
        """The evidence a video's worst frame brought from `load_video` (gathered there without rules, to
        score every frame), with the rules for `question` added: so that frame is not gathered twice. Only
        while its class's calibration is the current one (a reference added since: gathered anew); the query
        handed on no longer carries it, so a later gather of it (regenerate) gathers anew. None: gather."""
        rendered = query.rendered
        known = getattr(rendered, "evidence", None)
        if known is None or known.class_name != class_name or k is not None or exclude:
            return None
        with self.ws.using_store():
            if self.thresholds.current(class_name) != known.calibration:
                return None
            cfg = self.ws.config.retrieval
            rules = self.ws.rules.for_class(class_name, question, cfg.rules_top_n) if with_rules else []
        return replace(known, query=replace(query, rendered=replace(rendered, evidence=None)), rules=rules)
