"""On-disk cache of reference patch features, so an inspection never recomputes them.

One `.npy` file per image sha256, under a folder named after the encoder id and the aggregation
(`patch_features.FEATURES_VERSION`): features made by another encoder or aggregated otherwise can never be
mixed in (a miss is recomputed from the stored reference copy). Files are written to a temporary name and renamed, so an interrupted
write leaves no half file. A small in-memory LRU keeps the hot references of the current class.
A file that does not load as a finite (C, H, W) array is a `CorruptState` naming it (never a library
error); `check` says what is wrong with one file without raising (for `normalcy doctor`).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from pathlib import Path

import numpy as np

from retrieval.atomic_file import npy_bytes, write_bytes
from retrieval.errors import DOCTOR_HINT, CorruptState
from retrieval.patch_features import FEATURES_VERSION


class FeatureCache:
    """Patch features (C, H, W) float16 by image sha256, for one encoder."""

    def __init__(self, root: Path, encoder_id: str, memory_items: int = 256):
        self.dir = Path(root) / re.sub(r"[^A-Za-z0-9_.@-]+", "_", f"{encoder_id}+{FEATURES_VERSION}")
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()
        self._memory_items = memory_items

    def path(self, sha256: str) -> Path:
        return self.dir / f"{sha256}.npy"

    def put(self, sha256: str, features: np.ndarray) -> None:
        stored = features.astype(np.float16)
        problem = _problem(stored)
        if problem:
            raise CorruptState(f"features computed for image {sha256[:12]} are unusable ({problem}); "
                               "the image or the encoder weights are damaged")
        write_bytes(self.path(sha256), npy_bytes(stored))
        self._remember(sha256, stored)

    def get(self, sha256: str) -> np.ndarray | None:
        if sha256 in self._memory:
            self._memory.move_to_end(sha256)
            return self._memory[sha256]
        path = self.path(sha256)
        if not path.is_file():
            return None
        features, problem = self._load(path)
        if problem:
            raise CorruptState(f"cached features {path} are damaged ({problem}); {DOCTOR_HINT}")
        self._remember(sha256, features)
        return features

    def check(self, sha256: str) -> str | None:
        """What is wrong with the cached file of `sha256` ("missing", "not a .npy file", …), None if fine."""
        path = self.path(sha256)
        if not path.is_file():
            return "missing"
        return self._load(path)[1]

    def discard(self, sha256: str) -> None:
        """Forget a (damaged) file, so the next use recomputes it."""
        self._memory.pop(sha256, None)
        self.path(sha256).unlink(missing_ok=True)

    @staticmethod
    def _load(path: Path) -> tuple[np.ndarray | None, str | None]:
        try:
            features = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            return None, f"not a readable .npy file: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        return features, _problem(features)

    def _remember(self, sha256: str, features: np.ndarray) -> None:
        self._memory[sha256] = features
        self._memory.move_to_end(sha256)
        while len(self._memory) > self._memory_items:
            self._memory.popitem(last=False)


def _problem(features: np.ndarray) -> str | None:
    if not isinstance(features, np.ndarray) or features.ndim != 3 or min(features.shape) < 1:
        return f"shape {getattr(features, 'shape', None)}, expected (C, H, W)"
    if not np.issubdtype(features.dtype, np.floating):
        return f"dtype {features.dtype}, expected float"
    if not np.isfinite(features).all():
        return "holds NaN or infinite values"
    return None
