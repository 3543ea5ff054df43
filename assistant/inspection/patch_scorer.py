"""Patch features and patch distances: the one place images become features and are scored.

`featurize` runs the image encoder and the neighbourhood aggregation; `reference_features` reads a
reference's cached patch features (recomputed from its stored copy when the cache lost them);
`score_grid` compares a query's patches with the patches of given references (a reference whose cached
features do not match the query's channels is a `CorruptState` naming its file).
"""

from __future__ import annotations

import numpy as np

from retrieval import anomaly_map
from retrieval.errors import DOCTOR_HINT, CorruptState, MissingWeights
from retrieval.reference_store import Reference


class PatchScorer:
    """Encodes images and scores them against references; one per workspace."""

    def __init__(self, workspace):
        self.ws = workspace

    def featurize(self, images):
        """RGB PIL images -> (patch features (B, C, H, W) tensor, (B, D) float32 embeddings)."""
        from retrieval.patch_features import aggregate, embedding

        encoder = self.ws.encoder
        maps, pooled = encoder.encode(encoder.to_tensor(images))
        features = aggregate(maps, self.ws.config.retrieval.map.neighbourhood)
        vectors = embedding(features) if pooled is None else pooled
        return features, vectors.float().numpy().astype(np.float32)

    def reference_features(self, reference: Reference) -> np.ndarray:
        """(C, H, W) cached patch features of a reference; recomputed from its stored copy if the cache lost it."""
        cached = self.ws.features.get(reference.sha256)
        if cached is not None:
            return cached
        copy = self.ws.home.references / f"{reference.sha256}.png"
        if not copy.is_file():
            raise MissingWeights(f"features and stored copy of reference {reference.path} are gone; "
                                 f"re-ingest class {reference.class_name}")
        from PIL import Image

        with Image.open(copy) as image:
            features, _ = self.featurize([image.convert("RGB")])
        self.ws.features.put(reference.sha256, features[0].numpy())
        return self.ws.features.get(reference.sha256)

    def _matching(self, reference: Reference, channels: int) -> np.ndarray:
        cached = self.reference_features(reference)
        if cached.shape[0] != channels:
            raise CorruptState(f"cached features {self.ws.features.path(reference.sha256)} have {cached.shape[0]} "
                               f"channels, the encoder gives {channels}; {DOCTOR_HINT}")
        return cached

    def score_grid(self, features, references: list[Reference]) -> np.ndarray:
        """(C, H, W) query features vs the references' patches -> (H, W) smoothed nearest-patch distances
        (only patches within `map.window` cells of the query cell when that is set)."""
        import torch

        from retrieval.patch_features import as_patches

        bank = torch.cat([as_patches(torch.from_numpy(self._matching(r, features.shape[0]))) for r in references])
        cfg = self.ws.config.retrieval.map
        return anomaly_map.gaussian_smooth(anomaly_map.distance_grid(features, bank, cfg.window).numpy(), cfg.sigma)
