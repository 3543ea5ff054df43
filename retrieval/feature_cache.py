"""On-disk cache of reference patch features, so an inspection never recomputes them.

One file per image sha256 in the compact encoding of `retrieval.features` (`feature_codec`: int8 by
default, optionally a greedy coreset of the patches), in folders sharded by hash prefix:

    FEATURES/<encoder id>+<aggregation>+<encoding id>/ab/abcdef….nrf

The folder names the encoder, the aggregation (`patch_features.FEATURES_VERSION`) and the encoding, so
features made by another encoder, aggregated otherwise or encoded otherwise are never mixed in (a miss is
recomputed from the stored reference copy). A home from before issue 14 kept float16 grids as
`FEATURES/<encoder id>+<aggregation>/SHA256.npy`: such a file is converted to the configured encoding
when first read (and removed), so an old home keeps working without re-ingesting. Files are written to a
temporary name and renamed, so an interrupted write leaves no half file. A small in-memory LRU keeps the
hot references of the current class. A file that does not decode is a `CorruptState` naming it (never a
library error); `check` says what is wrong with one file without raising (for `normalcy doctor`).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from pathlib import Path

import numpy as np

from retrieval import feature_codec
from retrieval.atomic_file import write_bytes
from retrieval.config import FeaturesConfig
from retrieval.errors import DOCTOR_HINT, CorruptState
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

    def path(self, sha256: str) -> Path:
        return self.dir / sha256[:2] / f"{sha256}{SUFFIX}"

    def legacy_path(self, sha256: str) -> Path:
        return self.legacy_dir / f"{sha256}.npy"

    def put(self, sha256: str, features: np.ndarray) -> StoredFeatures:
        """Encode and store (C, H, W) features -> what a read gives back."""
        problem = _problem(np.asarray(features))
        if problem:
            raise CorruptState(f"features computed for image {sha256[:12]} are unusable ({problem}); "
                               "the image or the encoder weights are damaged")
        data = feature_codec.encode(features, self.encoding)
        stored, problem = feature_codec.decode(data)
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
            return self._load(path)[1]
        if self.legacy_path(sha256).is_file():
            return _load_npy(self.legacy_path(sha256))[1]
        return "missing"

    def discard(self, sha256: str) -> None:
        """Forget a (damaged) file, so the next use recomputes it."""
        self._memory.pop(sha256, None)
        self.path(sha256).unlink(missing_ok=True)
        self.legacy_path(sha256).unlink(missing_ok=True)

    @staticmethod
    def _load(path: Path) -> tuple[StoredFeatures | None, str | None]:
        try:
            data = path.read_bytes()
        except OSError as exc:
            return None, f"not readable: {exc.strerror}"
        return feature_codec.decode(data)

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
