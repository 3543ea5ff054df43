"""On-disk cache of reference patch features, so an inspection never recomputes them.

One `.npy` file per image sha256, under a folder named after the encoder id and the aggregation
(`patch_features.FEATURES_VERSION`): features made by another encoder or aggregated otherwise can never be
mixed in (a miss is recomputed from the stored reference copy). Files are written to a temporary name and renamed, so an interrupted
write leaves no half file. A small in-memory LRU keeps the hot references of the current class.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from pathlib import Path

import numpy as np

from retrieval.atomic_file import npy_bytes, write_bytes
from retrieval.patch_features import FEATURES_VERSION


class FeatureCache:
    """Patch features (C, H, W) float16 by image sha256, for one encoder."""

    def __init__(self, root: Path, encoder_id: str, memory_items: int = 256):
        self.dir = Path(root) / re.sub(r"[^A-Za-z0-9_.@-]+", "_", f"{encoder_id}+{FEATURES_VERSION}")
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()
        self._memory_items = memory_items

    def path(self, sha256: str) -> Path:
        return self.dir / f"{sha256}.npy"

    def has(self, sha256: str) -> bool:
        return sha256 in self._memory or self.path(sha256).is_file()

    def put(self, sha256: str, features: np.ndarray) -> None:
        stored = features.astype(np.float16)
        write_bytes(self.path(sha256), npy_bytes(stored))
        self._remember(sha256, stored)

    def get(self, sha256: str) -> np.ndarray | None:
        if sha256 in self._memory:
            self._memory.move_to_end(sha256)
            return self._memory[sha256]
        path = self.path(sha256)
        if not path.is_file():
            return None
        features = np.load(path)
        self._remember(sha256, features)
        return features

    def _remember(self, sha256: str, features: np.ndarray) -> None:
        self._memory[sha256] = features
        self._memory.move_to_end(sha256)
        while len(self._memory) > self._memory_items:
            self._memory.popitem(last=False)
