"""On-disk CLIP patch embeddings of the references, so an inspection pays one CLIP forward (the query).

The few-shot half of the CLIP text map compares the query's patches with those of the k references it
retrieved; embedding them again in every inspection would cost k + 1 ViT forwards instead of one. Each
reference's (H, W, D) patch embeddings are kept once, float16, in a folder of the CLIP space:

    FEATURES/clip/<sha256 of the space id, 16 hex>/ab/<image sha256>.npy     (+ space.txt: the id itself)

The space id names the checkpoint (architecture and weights digest), the blocks and the windows, so
embeddings of another checkpoint or setting are never mixed in. Files are written atomically
(`retrieval.atomic_file`). It holds nothing that cannot be recomputed from the stored reference copy, so
a file that does not decode, is not finite or has another shape is a miss (and is rewritten).
Without a folder (a read-only home) nothing is kept and every reference is embedded again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from retrieval.atomic_file import npy_bytes, write_bytes, write_text

SPACE_FILE = "space.txt"


class ClipPatchCache:
    """CLIP patch embeddings by image sha256, for one CLIP space (folder None: keep nothing)."""

    def __init__(self, folder: Path | None, space_id: str):
        digest = hashlib.sha256(space_id.encode()).hexdigest()[:16]
        self.space_id = space_id
        self.dir = Path(folder) / "clip" / digest if folder is not None else None

    def path(self, sha256: str) -> Path | None:
        return None if self.dir is None else self.dir / sha256[:2] / f"{sha256}.npy"

    def get(self, sha256: str, shape: tuple[int, ...]) -> torch.Tensor | None:
        """The stored (H, W, D) embeddings of `shape` (float32), or None when missing or unusable."""
        path = self.path(sha256)
        if path is None:
            return None
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None
        if array.dtype != np.float16 or array.shape != tuple(shape) or not np.isfinite(array).all():
            return None
        return torch.from_numpy(array.astype(np.float32))

    def put(self, sha256: str, patches: torch.Tensor) -> torch.Tensor:
        """Store `patches` as float16 -> what a later `get` gives back (so a cold and a warm map agree)."""
        array = patches.detach().float().numpy().astype(np.float16)
        path = self.path(sha256)
        if path is not None:
            write_bytes(path, npy_bytes(array))
            if not (self.dir / SPACE_FILE).is_file():
                write_text(self.dir / SPACE_FILE, self.space_id + "\n")
        return torch.from_numpy(array.astype(np.float32))
