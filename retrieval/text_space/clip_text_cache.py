"""On-disk text features of one CLIP checkpoint, so a class's prompt ensemble is embedded once per home.

A class's ensemble is about 300 prompts; through a ViT-B text tower on 2 cores that is tens of seconds, too
long to repeat in every process. One file per checkpoint, `FOLDER/<arch>@<weights digest>.text.npz`: the
texts and their unit features. Written atomically (`retrieval.atomic_file`). It holds nothing that cannot
be recomputed, so a file that does not decode, or holds features of another size, is a miss and is
rewritten at the next save.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import torch

from retrieval.atomic_file import write_bytes


def cache_file(folder: Path, encoder_id: str) -> Path:
    """The file of the checkpoint named by `encoder_id` ("open_clip:ARCH@DIGEST") in `folder`."""
    return Path(folder) / (encoder_id.split(":", 1)[-1].replace("/", "_") + ".text.npz")


def load(path: Path, dim: int) -> dict[str, torch.Tensor]:
    """{text: (dim,) feature} from `path`; empty when it is missing, does not decode or is of another size."""
    try:
        with np.load(path, allow_pickle=False) as data:
            texts, features = data["texts"], data["features"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return {}
    if features.ndim != 2 or features.shape != (len(texts), dim):
        return {}
    return dict(zip(texts.tolist(), torch.from_numpy(features.astype(np.float32))))


def save(path: Path, features: dict[str, torch.Tensor]) -> None:
    """Replace `path` with all of `features` (texts in insertion order)."""
    buffer = io.BytesIO()
    np.savez(buffer, texts=np.array(list(features), dtype=str),
             features=torch.stack(list(features.values())).numpy().astype(np.float32))
    write_bytes(path, buffer.getvalue())
