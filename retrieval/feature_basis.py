"""A class's PCA basis of patch features: the directions its normal patches vary along (issue 14, storage).

A reference's bank patches are stored projected onto its class's top `d` principal directions (C -> d
channels, before quantization) and mapped back to the C channels when read, so a query is scored in the
encoder's own space as before. The basis is fitted once per class, on every patch of up to `FIT_REFERENCES`
of its references (`spread` over an ingest), and kept beside the class's feature files; a feature file names the basis it was
projected with (`Basis.id`, a hash of its values), so a file always decodes with exactly its own basis.

A reference with a patch further from the basis than any patch it was fitted on (`Basis.represents`) is
stored in the C channels instead, so what the basis cannot hold is never lost.

File layout: b"NRMB" + 1-byte version + uint32 header length + JSON header {c, d, fitted_on, limit} +
centre (C float32) + directions (C x d float32, row-major).
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass

import numpy as np

MAGIC = b"NRMB"
FORMAT = 1
MIN_REFERENCES = 8          # fewer references say too little of a class's variation: no basis yet
FIT_REFERENCES = 64         # references a basis is fitted on (every patch of each)


@dataclass(frozen=True)
class Basis:
    centre: np.ndarray       # (C,) float32, the mean patch
    vectors: np.ndarray      # (C, d) float32, orthonormal columns, strongest direction last
    fitted_on: int           # how many references it was fitted on
    limit: float = float("inf")   # the largest residual of a patch it was fitted on (`represents`)

    @property
    def id(self) -> str:
        digest = hashlib.sha256(self.centre.tobytes() + self.vectors.tobytes())
        return digest.hexdigest()[:16]

    @property
    def dims(self) -> int:
        return int(self.vectors.shape[1])

    def project(self, patches: np.ndarray) -> np.ndarray:
        """(n, C) -> (n, d)."""
        return (np.asarray(patches, np.float32) - self.centre) @ self.vectors

    def restore(self, projected: np.ndarray) -> np.ndarray:
        """(n, d) -> (n, C), back in the encoder's channels."""
        return projected @ self.vectors.T + self.centre

    def represents(self, patches: np.ndarray) -> bool:
        """Whether every (n, C) patch lies as close to the basis as the patches it was fitted on did. A part
        accepted as normal for a feature its class's references never showed does not: stored on the basis
        that feature would be lost (the same part would fail again), so its file keeps the C channels."""
        return bool(_residuals(np.asarray(patches, np.float64) - self.centre, self.vectors).max() <= self.limit)


def spread(count: int) -> list[int]:
    """Indices of at most `FIT_REFERENCES` of `count` items, evenly spread: what a basis is fitted on.
    (The first 64 ELPV cells in file order fitted a basis that lost 0.02 AUROC on dev mono; 64 spread
    over the 294 did as well as all of them: `bench/storage_size.py`.)"""
    from retrieval.calibration import spread_indices

    return spread_indices(count, FIT_REFERENCES)


def fit(grids: list[np.ndarray], dims: int) -> Basis | None:
    """The basis of (C, H, W) `grids`' patches (None when there are too few grids, or `dims` >= C: nothing
    would be saved). Deterministic: the same grids give the same basis."""
    if len(grids) < MIN_REFERENCES or dims >= grids[0].shape[0]:
        return None
    patches = np.concatenate([np.asarray(g, np.float64).reshape(g.shape[0], -1).T for g in grids])
    centre = patches.mean(0)
    centred = patches - centre
    _, vectors = np.linalg.eigh(centred.T @ centred / max(len(patches) - 1, 1))
    vectors = vectors[:, -dims:]
    vectors *= np.where(vectors[np.abs(vectors).argmax(0), range(dims)] < 0, -1.0, 1.0)  # a fixed sign
    vectors = np.ascontiguousarray(vectors, np.float32)
    limit = float(_residuals(centred, vectors).max()) * 1.05 + 1e-6
    return Basis(centre.astype(np.float32), vectors, len(grids), limit)


def _residuals(centred: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Distance of each centred (n, C) patch to the span of the basis's directions."""
    return np.linalg.norm(centred - (centred @ vectors) @ vectors.T, axis=1)


def to_bytes(basis: Basis) -> bytes:
    c, d = basis.vectors.shape
    head = {"c": c, "d": d, "fitted_on": basis.fitted_on, "limit": basis.limit}
    header = json.dumps(head, separators=(",", ":")).encode()
    return MAGIC + struct.pack("<BI", FORMAT, len(header)) + header + basis.centre.tobytes() + basis.vectors.tobytes()


def from_bytes(data: bytes) -> tuple[Basis | None, str | None]:
    """The file's bytes -> (Basis, None), or (None, what is wrong with them)."""
    if data[:4] != MAGIC or len(data) < 9:
        return None, "not a Normalcy basis file"
    version, size = struct.unpack("<BI", data[4:9])
    if version != FORMAT:
        return None, f"basis file format {version}, this version reads {FORMAT}"
    try:
        head = json.loads(data[9:9 + size])
        c, d, fitted_on, limit = int(head["c"]), int(head["d"]), int(head["fitted_on"]), float(head["limit"])
    except (ValueError, KeyError, TypeError):
        return None, "its header is damaged"
    body = memoryview(data)[9 + size:]
    if min(c, d) < 1 or d > c or len(body) != 4 * c * (d + 1):
        return None, f"{len(body)} bytes of values for a {c} x {d} basis (truncated?)"
    values = np.frombuffer(body, np.float32).copy()
    if not np.isfinite(values).all():
        return None, "holds NaN or infinite values"
    return Basis(values[:c], values[c:].reshape(c, d), fitted_on, limit), None
