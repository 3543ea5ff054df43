"""Keeping each class's threshold current: leave-one-out over its normal references, stored in
HOME/calibration.json, recomputed whenever the reference set or the scoring settings change (the class's
overkill target and the out-of-distribution knobs among them), or when a stored entry is not usable (not finite, or its digest does not match: edited by hand or damaged). A file
that is not a JSON object of entries is a `CorruptState`; a threshold that comes out non-finite is one too.
Whether a class changed is its store version (`ReferenceStore.fingerprint`: no record is read on an
inspection); a recalibration reads the ids of the class and the embeddings of the sampled references only,
finds their neighbours as a query would, and rescores only those whose neighbours changed
(`calibration_scores`). A class of time series also gets its band threshold here (`band_fusion`)."""

from __future__ import annotations

import json
import math
import time

import numpy as np

from assistant.inspection.band_fusion import band_settings, band_threshold
from assistant.inspection.calibration_scores import CalibrationScores
from assistant.inspection.overkill_targets import OverkillTargets
from assistant.inspection.text_calibration import fused_scores, fused_settings, prepare
from assistant.inspection.video_inputs import clip_maxima
from retrieval.anomaly_map import image_score
from retrieval.atomic_file import write_text
from retrieval.calibration import MIN_REFERENCES, Calibration, ood_limit_from_distances, threshold_at_overkill
from retrieval.patch_features import FEATURES_VERSION
from retrieval.errors import DOCTOR_HINT, BadInput, CorruptState


class ClassThresholds:
    """The map threshold of each class, kept current; one per workspace."""

    def __init__(self, workspace, scorer):
        """scorer: the `PatchScorer` that scores queries, so normals are scored exactly as queries are."""
        self.ws = workspace
        self.scorer = scorer
        self.scores = CalibrationScores(workspace.home.calibration_scores)
        self.reused = 0          # how many leave-one-out scores the last recalibration reused
        self.mates: dict[str, set[str]] = {}   # a video frame -> its clip's other frames (left out with it)
        self.targets = OverkillTargets(workspace.home, workspace.config.retrieval.calibration.target_overkill)

    def scoring(self, class_name: str) -> str:
        """What one leave-one-out score depends on besides the reference and its neighbours."""
        cfg = self.ws.config.retrieval
        features = self.ws.config.features_for(class_name).id
        return (f"{self.ws.encoder.id}|{FEATURES_VERSION}|{features}|k={cfg.map.k}|sigma={cfg.map.sigma}"
                f"|n={cfg.map.neighbourhood}|top={cfg.map.top_fraction}|window={cfg.map.window}"
                + ("|flips" if self.ws.config.for_class(class_name).flips else ""))

    def settings(self, class_name: str) -> str:
        """What a class's calibration is computed from besides its references; a change makes it stale."""
        cfg = self.ws.config.retrieval.calibration
        return (f"{self.scoring(class_name)}|target={self.targets.for_class(class_name)}"
                f"|max={cfg.max_references}|ood={cfg.ood_overkill}x{cfg.ood_margin}"
                + fused_settings(self.ws, class_name) + band_settings(self.ws, class_name))

    def stored(self) -> dict[str, dict]:
        path = self.ws.home.calibration
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CorruptState(f"{path} is damaged (not JSON: {exc}); {DOCTOR_HINT}") from None
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise CorruptState(f"{path} is damaged (not an object of per-class entries); {DOCTOR_HINT}")
        return data

    def known(self, class_name: str) -> Calibration | None:
        """The stored entry of a class as it is (None when absent or not even shaped like one)."""
        entry = self.stored().get(class_name)
        try:
            return Calibration(**entry) if entry else None
        except TypeError:
            return None

    def current(self, class_name: str) -> Calibration:
        """The class's calibration, recomputed first if its references or settings changed or the stored
        entry is not usable."""
        with self.ws.using_store():
            fingerprint = self.ws.references.fingerprint(class_name)
            calibration = self.known(class_name)
            if calibration is not None and calibration.is_current(fingerprint, self.settings(class_name)):
                return calibration
            return self.recalibrate(class_name, fingerprint)

    def set_target(self, class_name: str, rate: float) -> Calibration:
        """An engineer's overkill target for one class (kept in the home); that class is recalibrated."""
        with self.ws.using_store():
            self.ws.references.require_class(class_name)
            self.targets.set(class_name, rate)
            return self.recalibrate(class_name)

    def recalibrate(self, class_name: str, fingerprint: str | None = None) -> Calibration:
        """Score the class's sampled references leave-one-out (those whose neighbours did not change since
        the last calibration keep their score) and store the new threshold."""
        with self.ws.using_store():
            cfg = self.ws.config.retrieval
            store = self.ws.references
            shas = store.shas(class_name)
            if len(shas) < MIN_REFERENCES:
                raise BadInput(f"class {class_name!r} has {len(shas)} reference(s); calibration needs at least "
                               f"{MIN_REFERENCES} normal images (ideally more than k={cfg.map.k})")
            references, embeddings = store.with_embeddings(class_name, sample(shas, cfg.calibration.max_references))
            self.mates = self._clip_mates(class_name)
            known = self.known(class_name)     # its scores are reused only if they were scored the same way
            same = known is not None and known.settings.startswith(self.scoring(class_name) + "|target=")
            reusable = self.scores.reusable(class_name, known) if same else {}
            scored = {r.sha256: self._scored(r, e, len(shas), reusable) for r, e in zip(references, embeddings)}
            self.reused = sum(1 for sha, entry in scored.items() if reusable.get(sha) is entry)
            target = self.targets.for_class(class_name)
            values = np.array([entry["score"] for entry in scored.values()])
            scale = None
            if prepare(self.ws, class_name) is not None and self.ws.config.retrieval.text_map.weight > 0:
                scale = self._threshold(class_name, values, target)[0]       # the few-shot map's own level
                values = fused_scores(self, class_name, references, embeddings, scale)
            if self.mates:              # a class of videos: a clip is judged by its worst frame, so is its normal
                values = clip_maxima(values, [r.sha256 for r in references], self.mates)
            threshold, mean, std, expected = self._threshold(class_name, values, target)
            nearest = np.array([entry["nearest"] for entry in scored.values()])
            band, band_normals = band_threshold(self.ws, class_name, shas, target)   # a series' band part
            calibration = Calibration(class_name, threshold, mean, std, len(values), len(shas),
                                      fingerprint or store.fingerprint(class_name), self.settings(class_name),
                                      target_overkill=target, expected_overkill=round(expected, 4),
                                      ood_limit=self._ood_limit(nearest), ood_normals=len(nearest),
                                      few_shot_threshold=scale, band_threshold=band, band_normals=band_normals,
                                      computed_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())).sealed()
            self._save(calibration)
            self.scores.save(class_name, calibration, scored)
            return calibration

    def _ood_limit(self, nearest: np.ndarray) -> float | None:
        """The class's out-of-distribution limit from the sampled references' cosine distances to their
        nearest other reference of the class (None: check off)."""
        cfg = self.ws.config.retrieval.calibration
        if cfg.ood_margin is None:
            return None
        limit = ood_limit_from_distances(nearest, cfg.ood_overkill, cfg.ood_margin)
        return round(limit, 6) if math.isfinite(limit) else None

    def _threshold(self, class_name: str, values: np.ndarray, target: float) -> tuple[float, float, float, float]:
        threshold, mean, std, expected = threshold_at_overkill(values, target)
        if not all(math.isfinite(v) for v in (threshold, mean, std)) or threshold <= 0:
            raise CorruptState(f"class {class_name!r}: the leave-one-out scores give threshold {threshold!r}, "
                               f"which is unusable (their cached features are probably damaged); {DOCTOR_HINT}")
        return threshold, mean, std, expected

    def _scored(self, reference, embedding: np.ndarray, n: int, reusable: dict) -> dict:
        """{"score", "neighbours", "nearest"} of one reference scored against its k nearest *other*
        references of the class (found as a query's are; "nearest" is the cosine distance to the first),
        the score reused from the last calibration when the neighbours are the same."""
        neighbours = self._neighbours(reference, embedding, n)
        names = [r.sha256 for r in neighbours]
        nearest = float(neighbours[0].distance)
        known = reusable.get(reference.sha256)
        if isinstance(known, dict) and known.get("neighbours") == names and isinstance(known.get("score"), float):
            return {**known, "nearest": nearest} if known.get("nearest") != nearest else known
        grid = self._grid(reference, neighbours)[0]
        return {"score": float(image_score(grid, self.ws.config.retrieval.map.top_fraction)), "neighbours": names,
                "nearest": nearest}

    def _neighbours(self, reference, embedding: np.ndarray, n: int) -> list:
        mates = self.mates.get(reference.sha256, set())
        k = max(1, min(self.ws.config.retrieval.map.k, n - 1 - len(mates)))
        return self.ws.references.nearest(reference.class_name, embedding, k, exclude={reference.sha256, *mates})

    def _clip_mates(self, class_name: str) -> dict[str, set[str]]:
        """For a class of videos, each frame's clip mates (`video_inputs.clip_mates`); {} for other classes."""
        from assistant.inspection.video_inputs import VIDEO, clip_mates
        from assistant.modalities.class_profiles import ClassProfiles

        found = ClassProfiles(self.ws.home.modality_profiles).of(class_name)
        return clip_mates(self.ws.references.of_class(class_name)) if found and found.modality == VIDEO else {}

    def loo_grid(self, reference, embedding: np.ndarray, n: int, with_image: bool = False):
        """(few-shot grid, (C, H, W) features, decoded copy or None, the neighbours) of one reference scored
        as a query against its k nearest other references of the class (n: how many it has); `with_image`:
        decode the copy for a text space that reads pixels (CLIP)."""
        neighbours = self._neighbours(reference, embedding, n)
        decode = with_image and self.ws.config.retrieval.text_map.provider == "clip"
        return (*self._grid(reference, neighbours, decode), neighbours)

    def _grid(self, reference, neighbours: list, decode: bool = False):
        """(grid, features, decoded copy or None) of a reference scored against `neighbours`; the copy is
        decoded when flips or `decode` need it, once for both."""
        import torch

        flips = self.ws.config.for_class(reference.class_name).flips
        image = self.scorer.copy_of(reference).image if flips or decode else None
        features = torch.from_numpy(self.scorer.query_features(reference, image).astype(np.float32))
        return self.scorer.score_grid(features, neighbours, image if flips else None), features, image

    def _save(self, calibration: Calibration) -> None:
        try:
            data = self.stored()
        except CorruptState:
            data = {}                   # a damaged file is replaced, entry by entry, as classes recalibrate
        data[calibration.class_name] = calibration.to_dict()
        write_text(self.ws.home.calibration, json.dumps(data, indent=2, sort_keys=True, allow_nan=False))


def sample(shas: list[str], limit: int) -> list[str]:
    """The references scored: the `limit` smallest sha256 of the class (sorted). Content hashes are
    uniform, so this is a uniform sample, and adding m references changes at most m of its members."""
    return sorted(shas)[:limit]
