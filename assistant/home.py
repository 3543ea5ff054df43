"""The data home: one folder holding everything Normalcy persists.

    HOME/store/            Chroma (references, rules)
    HOME/features/ENCODER+AGGREGATION+ENCODING/ab/SHA256.nrf   reference patch features, compact
                           (`retrieval/feature_cache.py`; older homes' ENCODER+AGGREGATION/SHA256.npy are converted)
    HOME/references/ab/SHA256.EXT  the reference images as ingested (original bytes), shown to the model and
                           the UI (`assistant/inspection/reference_copies.py`; older homes' SHA256.png are read)
    HOME/calibration.json  per-class thresholds
    HOME/calibration_targets.json  per-class overkill targets set by an engineer
    HOME/rules/            rules added by operators (YAML), next to the shipped ones
    HOME/runs/             the run log (JSONL) and HOME/runs/images/ (inspected images by sha256)

`check` is asked before the store is opened: a home that is a file, is read-only, or (for a read) does
not exist is one line saying so — a read never creates a home or a store.
"""

from __future__ import annotations

import os
from pathlib import Path

from retrieval.errors import BadInput, EmptyStore

DEFAULT_HOME = "~/.normalcy"


class Home:
    def __init__(self, root: str | Path):
        self.root = Path(os.path.expanduser(str(root))).resolve()

    @classmethod
    def resolve(cls, explicit: str | Path | None = None) -> Home:
        """--home beats $NORMALCY_HOME beats ~/.normalcy."""
        return cls(explicit or os.environ.get("NORMALCY_HOME") or DEFAULT_HOME)

    def check(self, create: bool) -> None:
        """Raise BadInput / EmptyStore (one line, what to do) unless the home can be used; `create`: a
        write (ingest, rules) may create a missing home, a read may not."""
        where = f"data home {self.root}"
        if self.root.exists() and not self.root.is_dir():
            raise BadInput(f"{where} is a file, not a folder; pass --home (or NORMALCY_HOME) a folder")
        if not self.root.exists() and not create:
            raise EmptyStore(f"{where} does not exist, so its reference store is empty; add normal images with "
                             "`normalcy ingest DIR --class NAME --home ...`, or pass the home you ingested into")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BadInput(f"{where} cannot be created ({exc.strerror}); pass --home a folder you can write") from None
        if not self.writable():
            raise BadInput(f"{where} is read-only; Normalcy keeps its store, calibration and run log there: "
                           "make it writable or pass --home a writable folder")

    def writable(self) -> bool:
        return all(os.access(p, os.W_OK) for p in (self.root, self.store) if p.exists())

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
    def calibration_targets(self) -> Path:
        return self.root / "calibration_targets.json"

    @property
    def rules(self) -> Path:
        return self.root / "rules"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    def __repr__(self) -> str:
        return f"Home({str(self.root)!r})"
