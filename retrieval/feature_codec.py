"""Compact on-disk encoding of one reference's patch features (issue 14: storage that fits a plant).

A reference's features are a (C, H, W) grid; what an inspection needs of it is its patch bank (the rows
the nearest-patch search compares a query's patches with) and, for rebuilding the vector index, the
grid's channel-wise mean (the retrieval embedding before normalisation). An `Encoding` keeps:

    coreset    the fraction of the H*W patches kept for the bank, chosen by PatchCore's greedy coreset
               (k-center: each next patch is the one farthest from those kept); 1.0 keeps the whole grid,
               which can then be read back as a grid (a calibration scores it as a query)
    precision  "int8": each channel quantized to 256 levels between its own min and max (per reference);
               "int4": 16 levels the same way, two values packed per byte (low nibble first);
               "float16": as before issue 14

    basis      optionally (`retrieval.features.pca`), the class's PCA basis (`feature_basis`): the bank's
               patches are stored as their d coordinates on it and mapped back to the C channels when read

File layout: b"NRMF" + 1-byte version + uint32 header length + JSON header {precision, c, h, w, n; with a
basis (version 2) also d and basis, its id} + mean (C float32) + [int8, int4: scale, low (d float32 each)]
+ patches (n x d, row-major; int4: packed, ceil(n * d / 2) bytes); without a basis d = C.
`decode` checks every length and that the values are finite: a damaged file is a reason, never garbage.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from retrieval.config import FeaturesConfig as Encoding
from retrieval.feature_basis import Basis

MAGIC = b"NRMF"
FORMAT, PROJECTED = 1, 2     # the file versions: patches in the encoder's channels / on a class basis
_DTYPES = {"int8": np.int8, "int4": np.uint8, "float16": np.float16}
_LEVELS = {"int8": 256, "int4": 16}


@dataclass(frozen=True)
class StoredFeatures:
    """What a feature file gives back: the bank (n, C) float16, the grid's mean (C,) float32 and its (H, W)."""

    bank: np.ndarray
    mean: np.ndarray
    grid_shape: tuple[int, int]

    def grid(self) -> np.ndarray | None:
        """(C, H, W) float16 when every patch was kept, else None."""
        h, w = self.grid_shape
        if self.bank.shape[0] != h * w:
            return None
        return np.ascontiguousarray(self.bank.T.reshape(-1, h, w))


def greedy_coreset(patches: np.ndarray, count: int) -> np.ndarray:
    """Indices (sorted) of `count` rows of (P, C) `patches` by greedy k-center, starting from the row
    farthest from the mean: deterministic, and every dropped row lies within the coreset's radius."""
    x = patches.astype(np.float32)
    count = max(1, min(count, x.shape[0]))
    sq = (x * x).sum(1)
    centre = x.mean(0)
    chosen = [int(((x - centre) ** 2).sum(1).argmax())]
    nearest = np.maximum(sq + sq[chosen[0]] - 2.0 * x @ x[chosen[0]], 0)
    for _ in range(count - 1):
        pick = int(nearest.argmax())
        chosen.append(pick)
        nearest = np.minimum(nearest, np.maximum(sq + sq[pick] - 2.0 * x @ x[pick], 0))
    return np.sort(np.asarray(chosen))


def encode(features: np.ndarray, encoding: Encoding, basis: Basis | None = None) -> bytes:
    """(C, H, W) features -> the file's bytes (the patches projected on `basis` when given and it
    represents them all, see `Basis.represents`)."""
    grid = np.asarray(features, dtype=np.float32)
    c, h, w = grid.shape
    patches = grid.reshape(c, h * w).T
    if basis is not None and not basis.represents(patches):
        basis = None
    if basis is not None:
        patches = basis.project(patches)
    if not encoding.keeps_grid:
        patches = patches[greedy_coreset(patches, int(round(encoding.coreset * h * w)))]
    parts = [grid.mean(axis=(1, 2)).astype(np.float32).tobytes()]
    if encoding.precision in _LEVELS:
        top = _LEVELS[encoding.precision] - 1
        low, high = patches.min(0), patches.max(0)
        scale = np.where(high > low, (high - low) / top, 1.0).astype(np.float32)
        levels = np.clip(np.round((patches - low) / scale), 0, top).astype(np.uint8)
        parts += [scale.tobytes(), low.astype(np.float32).tobytes(), _packed(levels, encoding.precision)]
    else:
        parts.append(patches.astype(np.float16).tobytes())
    head = {"precision": encoding.precision, "c": c, "h": h, "w": w, "n": int(patches.shape[0])}
    if basis is not None:
        head.update(d=basis.dims, basis=basis.id)
    header = json.dumps(head, separators=(",", ":")).encode()
    version = FORMAT if basis is None else PROJECTED
    return MAGIC + struct.pack("<BI", version, len(header)) + header + b"".join(parts)


def _packed(levels: np.ndarray, precision: str) -> bytes:
    """(n, C) levels in [0, top] -> the stored bytes: int8 centred on 0, int4 two per byte."""
    if precision == "int8":
        return (levels.astype(np.int16) - 128).astype(np.int8).tobytes()
    flat = levels.ravel()
    flat = np.concatenate([flat, np.zeros(flat.size % 2, np.uint8)])
    return (flat[0::2] | (flat[1::2] << 4)).astype(np.uint8).tobytes()


def _levels(body, offset: int, count: int, precision: str) -> np.ndarray:
    """The stored values back as float32 levels (int8: in [-128, 127], int4: in [0, 15]), `count` of them."""
    if precision != "int4":
        return np.frombuffer(body, _DTYPES[precision], count, offset=offset).astype(np.float32)
    packed = np.frombuffer(body, np.uint8, (count + 1) // 2, offset=offset)
    return np.stack([packed & 15, packed >> 4], 1).ravel()[:count].astype(np.float32)


def _value_bytes(precision: str, count: int) -> int:
    return (count + 1) // 2 if precision == "int4" else count * np.dtype(_DTYPES[precision]).itemsize


def decode(data: bytes, bases: Callable[[str], Basis | None] = lambda _: None
           ) -> tuple[StoredFeatures | None, str | None]:
    """The file's bytes -> (StoredFeatures, None), or (None, what is wrong with them).
    bases: the basis of an id (None when it is not there), for a file projected on one."""
    if data[:4] != MAGIC or len(data) < 9:
        return None, "not a Normalcy feature file"
    version, size = struct.unpack("<BI", data[4:9])
    if version not in (FORMAT, PROJECTED):
        return None, f"feature file format {version}, this version reads {FORMAT} and {PROJECTED}"
    try:
        head = json.loads(data[9:9 + size])
        c, h, w, n, precision = (head[k] for k in ("c", "h", "w", "n", "precision"))
        d, basis_id = (head["d"], head["basis"]) if version == PROJECTED else (c, None)
    except (ValueError, KeyError, TypeError):
        return None, "its header is damaged"
    if precision not in _DTYPES or min(c, h, w, n, d) < 1 or n > h * w or d > c:
        return None, f"header {head} is not a (C, H, W) encoding"
    basis = None if basis_id is None else bases(basis_id)
    if basis_id is not None and (basis is None or basis.vectors.shape != (c, d)):
        return None, f"the class basis {basis_id} it was projected on is missing"
    values, mean, problem = _values(memoryview(data)[9 + size:], precision, c, d, n)
    if problem:
        return None, problem
    if basis is not None:
        values = basis.restore(values)
    values = values.astype(np.float16)            # what the nearest-patch search reads, as before issue 14
    if not np.isfinite(values).all():
        return None, "holds NaN or infinite values"
    return StoredFeatures(values, mean, (h, w)), None


def _values(body, precision: str, c: int, d: int, n: int):
    """(the (n, d) float32 patch values, the (C,) mean, None) from a file's body, or (None, None, problem)."""
    floats = c + (2 * d if precision in _LEVELS else 0)
    expected = 4 * floats + _value_bytes(precision, n * d)
    if len(body) != expected:
        return None, None, f"{len(body)} bytes of values, expected {expected} (truncated?)"
    head_values = np.frombuffer(body, np.float32, floats)
    if not np.isfinite(head_values).all():
        return None, None, "holds NaN or infinite values"
    values = _levels(body, 4 * floats, n * d, precision).reshape(n, d)
    if precision in _LEVELS:
        scale, low = head_values[c:c + d], head_values[c + d:]
        values = (values + (128 if precision == "int8" else 0)) * scale + low
    return values, head_values[:c].copy(), None
