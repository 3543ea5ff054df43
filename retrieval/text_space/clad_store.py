"""Trained CLAD heads on disk, with the provenance that says when they must be trained again.

    FOLDER/<hash of the class>.pt     the heads' weights (a plain state dict: loaded with weights_only)
    FOLDER/<hash of the class>.json   {"class", "digest", "dims", "provenance": {...}, "training": {...}}

The file name is a hash because a class name may hold "/" or other characters a file name cannot. The
provenance names everything the heads depend on — encoder ids (with their weights' hashes), the
feature aggregation, a digest of the class's reference sha256s and of its texts, the recipe and its
settings — and `digest` is the hash of it: heads whose digest differs from the one asked for are stale,
as are heads that cannot be read (the caller retrains; the files are a cache). Both files are written
atomically, the weights first, so a reader never pairs new provenance with old weights.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from pathlib import Path

import torch

from retrieval.atomic_file import write_bytes, write_text
from retrieval.text_space.clad import CladHeads


def provenance_digest(provenance: dict) -> str:
    """Hash of a provenance record (keys sorted): equal records, equal digests."""
    return hashlib.sha256(json.dumps(provenance, sort_keys=True).encode()).hexdigest()[:16]


def text_digest(texts) -> str:
    """Hash of an ordered list of texts (a class's normal or abnormal descriptions)."""
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]


class HeadStore:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path(self, class_name: str, suffix: str = ".pt") -> Path:
        return self.folder / f"{hashlib.sha256(class_name.encode()).hexdigest()[:24]}{suffix}"

    def load(self, class_name: str, digest: str) -> CladHeads | None:
        """The class's heads when they were trained for `digest`; None when missing, stale or unreadable."""
        try:
            meta = json.loads(self.path(class_name, ".json").read_text(encoding="utf-8"))
            if meta.get("digest") != digest or meta.get("class") != class_name:
                return None
            heads = CladHeads(**meta["dims"])
            state = torch.load(self.path(class_name), map_location="cpu", weights_only=True)
            heads.load_state_dict(state)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, EOFError, pickle.UnpicklingError):
            return None
        return heads.eval()

    def save(self, class_name: str, heads: CladHeads, provenance: dict, training: dict) -> str:
        """Store the heads and their provenance (hashed) and training figures (loss, seconds: not hashed);
        returns the provenance's digest."""
        digest = provenance_digest(provenance)
        buffer = io.BytesIO()
        torch.save(heads.state_dict(), buffer)
        write_bytes(self.path(class_name), buffer.getvalue())
        record = {"class": class_name, "digest": digest, "dims": heads.dims, "provenance": provenance,
                  "training": training}
        write_text(self.path(class_name, ".json"), json.dumps(record, indent=1, sort_keys=True))
        return digest

    def provenance(self, class_name: str) -> dict | None:
        """The stored record of the class's heads (for the doctor and the evidence panel), or None."""
        try:
            return json.loads(self.path(class_name, ".json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None
