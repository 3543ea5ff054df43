"""The data home: one folder holding everything Normalcy persists.

    HOME/store/            Chroma (references, rules)
    HOME/features/ENCODER/ cached reference patch features (.npy by sha256)
    HOME/references/       reduced copies of reference images (by sha256), shown to the model and the UI
    HOME/calibration.json  per-class thresholds
    HOME/rules/            rules added by operators (YAML), next to the shipped ones
    HOME/runs/             the run log (JSONL) and HOME/runs/images/ (inspected images by sha256)
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_HOME = "~/.normalcy"


class Home:
    def __init__(self, root: str | Path):
        self.root = Path(os.path.expanduser(str(root))).resolve()

    @classmethod
    def resolve(cls, explicit: str | Path | None = None) -> Home:
        """--home beats $NORMALCY_HOME beats ~/.normalcy."""
        return cls(explicit or os.environ.get("NORMALCY_HOME") or DEFAULT_HOME)

    @property
    def store(self) -> Path:
        return self.root / "store"

    @property
    def features(self) -> Path:
        return self.root / "features"

    @property
    def references(self) -> Path:
        return self.root / "references"

    @property
    def calibration(self) -> Path:
        return self.root / "calibration.json"

    @property
    def rules(self) -> Path:
        return self.root / "rules"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    def __repr__(self) -> str:
        return f"Home({str(self.root)!r})"
