"""Keeping each class's threshold current: leave-one-out over its normal references, stored in
HOME/calibration.json, recomputed whenever the reference set or the scoring settings change (the class's
overkill target and the out-of-distribution knobs among them), or when a stored entry is not usable (not finite, or its digest does not match: edited by hand or damaged). A file
that is not a JSON object of entries is a `CorruptState`; a threshold that comes out non-finite is one too."""

from __future__ import annotations

import json
import math
import time

import numpy as np

from retrieval.anomaly_map import image_score
from retrieval.atomic_file import write_text
from assistant.inspection.overkill_targets import OverkillTargets
from retrieval.calibration import (MIN_REFERENCES, Calibration, nearest_other_distances, ood_limit_from_distances,
                                   spread_indices, threshold_at_overkill)
from retrieval.patch_features import FEATURES_VERSION
from retrieval.errors import DOCTOR_HINT, BadInput, CorruptState


class ClassThresholds:
    """The map threshold of each class, kept current; one per workspace."""

    def __init__(self, workspace, scorer):
        """scorer: the `PatchScorer` that scores queries, so normals are scored exactly as queries are."""
        self.ws = workspace
        self.scorer = scorer
        self.targets = OverkillTargets(workspace.home, workspace.config.retrieval.calibration.target_overkill)

    def settings(self, class_name: str) -> str:
        """What a class's calibration is computed from besides its references; a change makes it stale."""
        cfg = self.ws.config.retrieval
        return (f"{self.ws.encoder.id}|{FEATURES_VERSION}|k={cfg.map.k}|sigma={cfg.map.sigma}"
                f"|n={cfg.map.neighbourhood}|top={cfg.map.top_fraction}"
                f"|target={self.targets.for_class(class_name)}|max={cfg.calibration.max_references}"
                f"|ood={cfg.calibration.ood_overkill}x{cfg.calibration.ood_margin}")

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
        with self.ws.using_store():
            cfg = self.ws.config.retrieval
            references, embeddings = self.ws.references.of_class(class_name, with_embeddings=True)
            if len(references) < MIN_REFERENCES:
                raise BadInput(f"class {class_name!r} has {len(references)} reference(s); calibration needs at least "
                               f"{MIN_REFERENCES} normal images (ideally more than k={cfg.map.k})")
            scores = [self._leave_one_out(i, references, embeddings)
                      for i in spread_indices(len(references), cfg.calibration.max_references)]
            target = self.targets.for_class(class_name)
            threshold, mean, std, expected = threshold_at_overkill(np.array(scores), target)
            if not all(math.isfinite(v) for v in (threshold, mean, std)) or threshold <= 0:
                raise CorruptState(f"class {class_name!r}: the leave-one-out scores give threshold {threshold!r}, "
                                   f"which is unusable (their cached features are probably damaged); {DOCTOR_HINT}")
            calibration = Calibration(class_name, threshold, mean, std, len(scores), len(references),
                                      fingerprint or self.ws.references.fingerprint(class_name),
                                      self.settings(class_name), target_overkill=target,
                                      expected_overkill=round(expected, 4), ood_limit=self._ood_limit(embeddings),
                                      ood_normals=len(references),
                                      computed_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())).sealed()
            self._save(calibration)
            return calibration

    def _ood_limit(self, embeddings: np.ndarray) -> float | None:
        """The class's out-of-distribution limit from all its references' embeddings (None: check off)."""
        cfg = self.ws.config.retrieval.calibration
        if cfg.ood_margin is None:
            return None
        limit = ood_limit_from_distances(nearest_other_distances(embeddings), cfg.ood_overkill, cfg.ood_margin)
        return round(limit, 6) if math.isfinite(limit) else None

    def _leave_one_out(self, index: int, references, embeddings: np.ndarray) -> float:
        """Score reference `index` against its k nearest other references, as a query would be scored."""
        import torch

        similarity = embeddings @ embeddings[index]
        similarity[index] = -np.inf
        k = min(self.ws.config.retrieval.map.k, len(references) - 1)
        neighbours = [references[j] for j in np.argsort(-similarity)[:k]]
        features = torch.from_numpy(self.scorer.reference_features(references[index]).astype(np.float32))
        grid = self.scorer.score_grid(features, neighbours)
        return image_score(grid, self.ws.config.retrieval.map.top_fraction)

    def _save(self, calibration: Calibration) -> None:
        try:
            data = self.stored()
        except CorruptState:
            data = {}                   # a damaged file is replaced, entry by entry, as classes recalibrate
        data[calibration.class_name] = calibration.to_dict()
        write_text(self.ws.home.calibration, json.dumps(data, indent=2, sort_keys=True, allow_nan=False))
