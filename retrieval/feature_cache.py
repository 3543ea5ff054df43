"""On-disk cache of reference patch features, so an inspection never recomputes them.

One file per image sha256 in the compact encoding of `retrieval.features` (`feature_codec`: int8 by
default, optionally a greedy coreset of the patches), in folders sharded by hash prefix:

    FEATURES/<encoder id>+<aggregation>+<encoding id>/ab/abcdef….nrf
    FEATURES/<encoder id>+<aggregation>+<encoding id>/bases/<basis id>.nrb     (with `pca`: class bases,
    FEATURES/<encoder id>+<aggregation>+<encoding id>/bases/<class>-<hash>.json   and which is each class's)

The folder names the encoder, the aggregation (`patch_features.FEATURES_VERSION`) and the encoding, so
features made by another encoder, aggregated otherwise or encoded otherwise are never mixed in (a miss is
recomputed from the stored reference copy). With `pca` each class's bank patches are stored on its PCA
basis (`feature_basis`); a file names its basis, so it decodes with exactly that one whatever the class's
basis is now. A home from before issue 14 kept float16 grids as
`FEATURES/<encoder id>+<aggregation>/SHA256.npy`: such a file is converted to the configured encoding
when first read (and removed), so an old home keeps working without re-ingesting. Files are written to a
temporary name and renamed, so an interrupted write leaves no half file. A small in-memory LRU keeps the
hot references of the current class. A file that does not decode is a `CorruptState` naming it (never a
library error); `check` says what is wrong with one file without raising (for `normalcy doctor`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from pathlib import Path

import numpy as np

from retrieval import feature_basis, feature_codec
from retrieval.atomic_file import write_bytes
from retrieval.config import FeaturesConfig
from retrieval.errors import DOCTOR_HINT, CorruptState
from retrieval.feature_basis import Basis
from retrieval.feature_codec import StoredFeatures
from retrieval.patch_features import FEATURES_VERSION

SUFFIX = ".nrf"


def _folder(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.@-]+", "_", name)


class FeatureCache:
    """Stored patch features by image sha256, for one encoder and one encoding."""

    def __init__(self, root: Path, encoder_id: str, encoding: FeaturesConfig = FeaturesConfig(),
                 memory_items: int = 256):
        self.encoding = encoding
        self.dir = Path(root) / _folder(f"{encoder_id}+{FEATURES_VERSION}+{encoding.id}")
        self.legacy_dir = Path(root) / _folder(f"{encoder_id}+{FEATURES_VERSION}")   # float16 .npy, before issue 14
        self._memory: OrderedDict[str, StoredFeatures] = OrderedDict()
        self._memory_items = memory_items
        self._bases: dict[str, Basis] = {}

    @property
    def projects(self) -> bool:
        """Whether bank patches are stored on a class basis (`retrieval.features.pca`)."""
        return self.encoding.pca > 0

    def path(self, sha256: str) -> Path:
        return self.dir / sha256[:2] / f"{sha256}{SUFFIX}"

    def legacy_path(self, sha256: str) -> Path:
        return self.legacy_dir / f"{sha256}.npy"

    def put(self, sha256: str, features: np.ndarray, basis: Basis | None = None) -> StoredFeatures:
        """Encode and store (C, H, W) features (projected on `basis`, a class's) -> what a read gives back."""
        problem = _problem(np.asarray(features))
        if problem:
            raise CorruptState(f"features computed for image {sha256[:12]} are unusable ({problem}); "
                               "the image or the encoder weights are damaged")
        data = feature_codec.encode(features, self.encoding, basis)
        stored, problem = feature_codec.decode(data, lambda _: basis)
        if problem:
            raise CorruptState(f"features computed for image {sha256[:12]} do not encode ({problem})")
        write_bytes(self.path(sha256), data)
        self._remember(sha256, stored)
        return stored

    def get(self, sha256: str) -> StoredFeatures | None:
        if sha256 in self._memory:
            self._memory.move_to_end(sha256)
            return self._memory[sha256]
        path = self.path(sha256)
        if not path.is_file():
            return self._migrated(sha256)
        stored, problem = self._load(path)
        if problem:
            raise CorruptState(f"cached features {path} are damaged ({problem}); {DOCTOR_HINT}")
        self._remember(sha256, stored)
        return stored

    def _migrated(self, sha256: str) -> StoredFeatures | None:
        """A float16 grid of the older layout, re-stored in this encoding (None when there is none)."""
        legacy = self.legacy_path(sha256)
        if not legacy.is_file():
            return None
        grid, problem = _load_npy(legacy)
        if problem:
            raise CorruptState(f"cached features {legacy} are damaged ({problem}); {DOCTOR_HINT}")
        stored = self.put(sha256, grid)
        legacy.unlink(missing_ok=True)
        return stored

    def check(self, sha256: str) -> str | None:
        """What is wrong with the stored file of `sha256` ("missing", "not a Normalcy feature file", …),
        None if fine (an older-layout file that reads is fine: it is converted when used)."""
        path = self.path(sha256)
        if path.is_file():
            try:
                return self._load(path)[1]
            except CorruptState:
                return "the class basis it was projected on is damaged"
        if self.legacy_path(sha256).is_file():
            return _load_npy(self.legacy_path(sha256))[1]
        return "missing"

    def discard(self, sha256: str) -> None:
        """Forget a (damaged) file, so the next use recomputes it."""
        self._memory.pop(sha256, None)
        self.path(sha256).unlink(missing_ok=True)
        self.legacy_path(sha256).unlink(missing_ok=True)

    def _load(self, path: Path) -> tuple[StoredFeatures | None, str | None]:
        try:
            data = path.read_bytes()
        except OSError as exc:
            return None, f"not readable: {exc.strerror}"
        return feature_codec.decode(data, self._basis)

    def basis_of(self, class_name: str) -> Basis | None:
        """The class's basis (None: not fitted yet, or `pca` is off)."""
        pointer = self._pointer(class_name)
        if not self.projects or not pointer.is_file():
            return None
        try:
            named = json.loads(pointer.read_text(encoding="utf-8"))
            basis_id = named["basis"] if named.get("class") == class_name else None
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
            raise CorruptState(f"{pointer} is damaged (not the class's basis id); {DOCTOR_HINT}") from None
        basis = None if basis_id is None else self._basis(basis_id)
        if basis_id is not None and basis is None:
            raise CorruptState(f"the basis {basis_id} of class {class_name!r} is gone from {self.dir / 'bases'}; "
                               f"{DOCTOR_HINT}")
        return basis

    def basis_problem(self, class_name: str) -> str | None:
        """What is wrong with the class's basis files (None: fine, or none kept), for `normalcy doctor`."""
        try:
            self.basis_of(class_name)
        except CorruptState as exc:
            return str(exc).split("; ")[0]
        return None

    def forget_basis(self, class_name: str) -> None:
        """Drop which basis the class has (a damaged one): the next features stored fit a new one."""
        self._pointer(class_name).unlink(missing_ok=True)

    def fit(self, class_name: str, grids: list[np.ndarray]) -> Basis | None:
        """Fit and keep the class's basis on (C, H, W) `grids` (None: too few of them, see `feature_basis`)."""
        basis = feature_basis.fit(grids, self.encoding.pca) if self.projects else None
        if basis is not None:
            write_bytes(self.dir / "bases" / f"{basis.id}.nrb", feature_basis.to_bytes(basis))
            named = {"class": class_name, "basis": basis.id, "fitted_on": basis.fitted_on}
            write_bytes(self._pointer(class_name), json.dumps(named).encode())
            self._bases[basis.id] = basis
        return basis

    def _pointer(self, class_name: str) -> Path:
        digest = hashlib.sha256(class_name.encode()).hexdigest()[:8]
        return self.dir / "bases" / f"{_folder(class_name)[:48]}-{digest}.json"

    def _basis(self, basis_id: str) -> Basis | None:
        """The basis of an id, read once (None when its file is not there)."""
        if basis_id not in self._bases:
            path = self.dir / "bases" / f"{_folder(basis_id)}.nrb"
            if not path.is_file():
                return None
            basis, problem = feature_basis.from_bytes(path.read_bytes())
            if problem or basis.id != basis_id:
                raise CorruptState(f"class basis {path} is damaged ({problem or 'its values changed'}); {DOCTOR_HINT}")
            self._bases[basis_id] = basis
        return self._bases[basis_id]

    def _remember(self, sha256: str, stored: StoredFeatures) -> None:
        self._memory[sha256] = stored
        self._memory.move_to_end(sha256)
        while len(self._memory) > self._memory_items:
            self._memory.popitem(last=False)


def _load_npy(path: Path) -> tuple[np.ndarray | None, str | None]:
    try:
        features = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        return None, f"not a readable .npy file: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    return features, _problem(features)


def _problem(features: np.ndarray) -> str | None:
    if not isinstance(features, np.ndarray) or features.ndim != 3 or min(features.shape) < 1:
        return f"shape {getattr(features, 'shape', None)}, expected (C, H, W)"
    if not np.issubdtype(features.dtype, np.floating):
        return f"dtype {features.dtype}, expected float"
    if not np.isfinite(features).all():
        return "holds NaN or infinite values"
    return None
