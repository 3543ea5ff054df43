"""Normality addition by example: an inspected image the operator accepts as normal joins its class's
references, and the class is recalibrated, so the same appearance is not flagged again.

The image is ingested through the ordinary ingest path (validated, features cached, copy kept, idempotent
by sha256); the threshold before and after is reported, and the addition is logged against the inspection.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ReferenceAddition:
    class_name: str
    added: bool                 # False when the image was already a reference of the class
    threshold_before: float
    threshold_after: float
    n_references: int

    def summary(self) -> str:
        if not self.added:
            return (f"This image is already a normal reference of {self.class_name}; "
                    f"threshold unchanged at {self.threshold_after:.4f}.")
        return (f"Added to {self.class_name} ({self.n_references} references). Threshold recalibrated: "
                f"{self.threshold_before:.4f} -> {self.threshold_after:.4f}.")


def add_reference(workspace, scorer, thresholds, image_path: Path, class_name: str) -> ReferenceAddition:
    """Ingest one image file as a normal reference of `class_name` and recalibrate the class."""
    from assistant.records.ingestion import ingest

    before = thresholds.current(class_name).threshold
    report = ingest(workspace, scorer, thresholds, [(class_name, Path(image_path))])
    after = thresholds.current(class_name)
    return ReferenceAddition(class_name, report.added.get(class_name, 0) > 0, before, after.threshold,
                             after.n_references)
