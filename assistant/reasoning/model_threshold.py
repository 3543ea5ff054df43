"""Per-class threshold for the language model's P(anomalous), from normal references only.

The model is asked about a few normal references of the class — each inspected like a query, against
its nearest *other* references — and the threshold sits z standard deviations above the mean of its
P(anomalous) on them (`score_fusion.model_threshold`). Stored in HOME/model_calibration.json per
(class, model and prompt settings) and recomputed when the class's references change.
"""

from __future__ import annotations

import json

from assistant.inspection.inputs import load_image
from assistant.reasoning.score_fusion import model_threshold
from retrieval.atomic_file import write_text
from retrieval.calibration import spread_indices


class ModelThresholds:
    """The P(anomalous) threshold of each (class, model and prompt settings); one per workspace."""

    def __init__(self, workspace, gatherer):
        """gatherer: the `EvidenceGatherer` that gathers each normal's evidence as a query's would be."""
        self.ws = workspace
        self.gatherer = gatherer

    @property
    def path(self):
        return self.ws.home.root / "model_calibration.json"

    def threshold(self, class_name: str, setting: str, ask) -> float:
        """setting: names the model and prompt settings; ask(evidence) -> ModelAnswer asks the model
        exactly as the inspection being scored was asked."""
        key = f"{class_name}|{setting}"
        fingerprint = self.ws.references.fingerprint(class_name)
        stored = json.loads(self.path.read_text()) if self.path.is_file() else {}
        entry = stored.get(key)
        if entry and entry["fingerprint"] == fingerprint:
            return entry["threshold"]
        p_normals = self._normal_probabilities(class_name, ask)
        entry = {"threshold": model_threshold(p_normals, self.ws.config.retrieval.calibration.z),
                 "p_normals": p_normals, "fingerprint": fingerprint}
        self._save({**stored, key: entry})
        return entry["threshold"]

    def _normal_probabilities(self, class_name: str, ask) -> list[float]:
        with self.ws.using_store():
            references = self.ws.references.of_class(class_name)
            picked = spread_indices(len(references), self.ws.config.vlm.calibration_samples)
            values = []
            for index in picked:
                reference = references[index]
                query = load_image(self.ws.home.references / f"{reference.sha256}.png", self.ws.config.inputs)
                evidence = self.gatherer.gather(query, class_name, exclude={reference.sha256})
                answer = ask(evidence)
                if answer.p_anomalous is not None:
                    values.append(float(answer.p_anomalous))
            return values

    def _save(self, data: dict) -> None:
        write_text(self.path, json.dumps(data, indent=2, sort_keys=True))
