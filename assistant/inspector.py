"""The Inspector facade: what the CLI and the UI call. One image and a class in, a verdict out.

It gathers the evidence (references, rules, anomaly map, calibrated threshold), asks the language model
when one is configured, or writes the verdict from the evidence alone when none is, and appends the
inspection to the run log.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from assistant.config import NormalcyConfig
from assistant.evidence import Evidence, EvidenceGatherer
from assistant.home import Home
from assistant.inputs import LoadedImage, load_image
from assistant.run_log import RunLog
from assistant.verdict import Verdict
from assistant.vision_only import NOTICE, explain
from assistant.workspace import Workspace


@dataclass
class Inspection:
    id: str
    verdict: Verdict
    evidence: Evidence


class Inspector:
    def __init__(self, config: NormalcyConfig, home: Home):
        self.config = config
        self.home = home
        self.workspace = Workspace(config, home)
        self.gatherer = EvidenceGatherer(self.workspace)
        self.log = RunLog(home.runs)

    def classes(self) -> dict[str, int]:
        """Product classes in the store and their number of references."""
        return self.workspace.references.classes()

    def load(self, source: str | Path | bytes | LoadedImage, name: str | None = None) -> LoadedImage:
        if isinstance(source, LoadedImage):
            return source
        return load_image(source, self.config.inputs, name=name)

    def inspect(self, source, class_name: str, question: str | None = None, log: bool = True) -> Inspection:
        """Inspect one image (path, bytes or LoadedImage) as a part of `class_name`."""
        query = self.load(source)
        evidence = self.gatherer.gather(query, class_name, question)
        inspection = Inspection(uuid.uuid4().hex[:12], vision_only_verdict(evidence), evidence)
        if log:
            self.record(inspection, question)
        return inspection

    def record(self, inspection: Inspection, question: str | None) -> dict:
        """Append an inspection to the run log, with its image and overlay stored by hash."""
        evidence = inspection.evidence
        image_sha = self.log.store_image(evidence.query.image, evidence.query.sha256)
        overlay_sha = self.log.store_image(evidence.overlay("all"))
        return self.log.append({
            "kind": "inspection", "id": inspection.id, "class": evidence.class_name, "question": question,
            "image": image_sha, "overlay": overlay_sha, "source": evidence.query.path,
            "verdict": inspection.verdict.to_dict(), "encoder": self.workspace.encoder.id,
            "config_hash": self.config.hash()})


def vision_only_verdict(evidence: Evidence) -> Verdict:
    return Verdict(
        reasoning=explain(evidence), correctness=0 if evidence.anomalous else 1,
        anomaly_score=round(evidence.anomaly_score, 4), threshold=round(evidence.threshold, 6),
        status="vision_only", class_name=evidence.class_name, map_score=round(evidence.map_score, 6),
        image_sha256=evidence.query.sha256, references=[r.to_dict() for r in evidence.references],
        rules=[r.to_dict() for r in evidence.rules], defect_box=evidence.defect_box, notice=NOTICE)
