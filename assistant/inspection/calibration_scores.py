"""The leave-one-out scores behind a class's calibration, kept so the next recalibration can reuse them.

    HOME/calibration-scores/<hash of the class>.json
        {"calibration": digest of the calibration they made, "scores": {sha256: {"score": s, "neighbours": [sha256, ...]}}}

A reference's leave-one-out score depends only on its features, its k nearest other references and the
scoring settings (which are in the calibration's digest). So after an ingest or an accept-as-normal only
the sampled references whose neighbours changed are scored again. The scores are reused only when the
calibration they made is still the intact stored entry of the class: a deleted, damaged or hand-edited
calibration is recomputed from the features, every score of it. The file is a cache: an unreadable one
is ignored (and replaced).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from retrieval.atomic_file import write_text


class CalibrationScores:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path(self, class_name: str) -> Path:
        return self.folder / f"{hashlib.sha256(class_name.encode()).hexdigest()[:24]}.json"

    def reusable(self, class_name: str, calibration) -> dict[str, dict]:
        """{sha256: {"score", "neighbours"}} made by `calibration` (a stored, usable entry), else {}."""
        if calibration is None or not calibration.usable():
            return {}
        try:
            data = json.loads(self.path(class_name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return {}
        if not isinstance(data, dict) or data.get("calibration") != calibration.digest:
            return {}
        scores = data.get("scores")
        return scores if isinstance(scores, dict) else {}

    def save(self, class_name: str, calibration, scores: dict[str, dict]) -> None:
        write_text(self.path(class_name), json.dumps({"calibration": calibration.digest, "scores": scores},
                                                     allow_nan=False))
