"""The data home: one folder holding everything Normalcy persists.

    HOME/store/            Chroma (references, rules)
    HOME/features/ENCODER+AGGREGATION+ENCODING/ab/SHA256.nrf   reference patch features, compact
                           (`retrieval/feature_cache.py`; older homes' ENCODER+AGGREGATION/SHA256.npy are converted)
    HOME/features/clip/SPACE/ab/SHA256.npy  reference CLIP patches for the CLIP text map's few-shot half, float16
                           (`retrieval/text_space/clip_patch_cache.py`; a cache: recomputed from the copies)
    HOME/references/ab/SHA256.EXT  the reference images as ingested (original bytes), shown to the model and
                           the UI (`assistant/inspection/reference_copies.py`; older homes' SHA256.png are read)
    HOME/text_heads/       per-class CLAD text-map heads with their provenance (`retrieval/text_space/clad_store.py`)
    HOME/calibration.json  per-class thresholds
    HOME/calibration_targets.json  per-class overkill targets set by an engineer
    HOME/rules/            rules added by operators (YAML), next to the shipped ones
    HOME/normalities.json  normalities added by text (`retrieval/normality_store.py`)
    HOME/modality_profiles.json  each class's modality and render profile (`modalities/class_profiles.py`)
    HOME/renders/ab/SHA256.png  renders of point clouds / time series ingested as references, by source hash
    HOME/runs/             the run log (JSONL) and HOME/runs/images/ (inspected images by sha256)

With a Chroma server (`retrieval.store.host`) the store is on the server and every file above but the
run log lives in the shared folder (`retrieval.store.shared`, e.g. an NFS mount every line machine
reaches), with the store lock and generation: `Home.for_store`. The home itself keeps the run log only,
so a missing home is created even for a read. The shared folder must already exist and be writable (a
missing mount is never replaced by an empty local folder).

`check` is asked before the store is opened: a home that is a file, is read-only, or (for a read) does
not exist is one line saying so — a read never creates a home or a store.
"""

from __future__ import annotations

import os
from pathlib import Path

from retrieval.errors import BadInput, EmptyStore

DEFAULT_HOME = "~/.normalcy"


class Home:
    def __init__(self, root: str | Path, shared: str | Path | None = None, server: str | None = None):
        """shared, server: the shared folder and the Chroma server (`host:port`) of a many-lines site."""
        self.root = Path(os.path.expanduser(str(root))).resolve()
        self.server = server
        self.shared = Path(os.path.expanduser(str(shared))).resolve() if shared else None

    def for_store(self, store) -> Home:
        """This home as the store configuration (`StoreConfig`) places it: embedded as it is, or with a
        server and its shared folder."""
        if not store.host or self.server:
            return self
        return Home(self.root, store.shared, f"{store.host}:{store.port}")

    @property
    def _blobs(self) -> Path:
        """Where references, features, calibration and operator rules live (the shared folder on a server)."""
        return self.shared or self.root

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
        if self.server:
            self.check_shared()
            create = True                       # the store is on the server: the home keeps the run log only
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

    def check_shared(self) -> None:
        """Raise BadInput (one line) unless the shared folder of a server store is set, exists and is writable."""
        if self.shared is None:
            raise BadInput(f"retrieval.store.host is set ({self.server}) but retrieval.store.shared is not; set it "
                           "to the folder every line machine mounts (e.g. an NFS mount) for reference copies, "
                           "features, calibration and rules")
        if not self.shared.is_dir():
            raise BadInput(f"shared folder {self.shared} (retrieval.store.shared) does not exist or is not a folder; "
                           "mount it (or create it) on this machine")
        if not os.access(self.shared, os.W_OK | os.X_OK):
            raise BadInput(f"shared folder {self.shared} (retrieval.store.shared) is read-only here; "
                           "mount it writable on this machine")

    def writable(self) -> bool:
        return all(os.access(p, os.W_OK) for p in (self.root, self.store) if p.exists())

    @property
    def store(self) -> Path:
        return self.root / "store"

    @property
    def features(self) -> Path:
        return self._blobs / "features"

    @property
    def references(self) -> Path:
        return self._blobs / "references"

    @property
    def text_heads(self) -> Path:
        return self._blobs / "text_heads"

    @property
    def calibration(self) -> Path:
        return self._blobs / "calibration.json"

    @property
    def calibration_targets(self) -> Path:
        return self._blobs / "calibration_targets.json"

    @property
    def rules(self) -> Path:
        return self._blobs / "rules"

    @property
    def normalities(self) -> Path:
        return self._blobs / "normalities.json"

    @property
    def modality_profiles(self) -> Path:
        return self._blobs / "modality_profiles.json"

    @property
    def renders(self) -> Path:
        return self._blobs / "renders"

    @property
    def calibration_scores(self) -> Path:
        return self._blobs / "calibration-scores"

    @property
    def model_calibration(self) -> Path:
        return self._blobs / "model_calibration.json"

    @property
    def lock_root(self) -> Path:
        """The folder of the store lock and generation: every process that uses the same store shares it."""
        return self._blobs

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    def __repr__(self) -> str:
        return f"Home({str(self.root)!r})"
