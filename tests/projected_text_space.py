"""Test tool: a deterministic patch <-> text space over the real embedded encoders, by fixed random projections.

The query's EfficientNet-Lite0 patch features (as the `PatchScorer` computes them, average-pooled 2x2 so its
grid is coarser than the few-shot map's and must be resized onto it) and the all-MiniLM-L6-v2 embeddings
of texts are each projected by a fixed seeded Gaussian matrix into one D-dimensional space and normalised.
It meets the `PatchTextSpace` contract honestly but has learnt nothing: which patches a phrase matches is
arbitrary, though always the same. `install(monkeypatch)` registers it as a text-map provider in a
monkeypatched `PROVIDERS`; `text_map_config()` selects that provider. A test tool, not the product's CLAD or CLIP.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from assistant.inspection import text_spaces

DIM = 64


class ProjectedTextSpace:
    def __init__(self, workspace, seed: int = 0, dim: int = DIM):
        self.ws = workspace
        self.seed, self.dim = seed, dim
        self.id = f"projected-test-space:{dim}:{seed}"
        self.built = 0                               # patch_embeddings calls (a class without normalities: none)

    def _projection(self, side: int, width: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed * 2 + side)
        return torch.randn(width, self.dim, generator=generator) / width ** 0.5

    def patch_embeddings(self, image) -> torch.Tensor:
        """PIL RGB -> (H/2, W/2, D) unit-length embeddings of the pooled patch features."""
        from assistant.inspection.patch_scorer import PatchScorer

        self.built += 1
        features = PatchScorer(self.ws).featurize([image])[0][0].float()           # (C, H, W)
        pooled = F.avg_pool2d(features[None], 2)[0].permute(1, 2, 0)               # (H/2, W/2, C)
        return F.normalize(pooled @ self._projection(0, pooled.shape[-1]), dim=-1)

    def text_embeddings(self, texts) -> torch.Tensor:
        """texts -> (N, D) unit-length embeddings."""
        vectors = torch.from_numpy(self.ws.text_encoder.encode(list(texts))).float()
        return F.normalize(vectors @ self._projection(1, vectors.shape[-1]), dim=-1)


def install(monkeypatch, provider: str = "clad") -> dict[str, ProjectedTextSpace]:
    """Register the projected space as text-map provider `provider` (PROVIDERS monkeypatched) -> the spaces
    built so far, by class name (one per workspace and class)."""
    built: dict[str, ProjectedTextSpace] = {}

    def factory(workspace, class_name: str) -> ProjectedTextSpace:
        key = f"{id(workspace)}:{class_name}"
        built.setdefault(key, ProjectedTextSpace(workspace))
        return built[key]

    monkeypatch.setattr(text_spaces, "PROVIDERS", {})
    text_spaces.provider(provider)(factory)
    return built


def text_map_config(provider: str = "clad", temperature: float = 0.07, normality_temperature: float = 0.07):
    """A NormalcyConfig with the text map on `provider`."""
    from assistant.config import NormalcyConfig
    from retrieval.config import RetrievalConfig, TextMapConfig

    text_map = TextMapConfig(provider=provider, temperature=temperature, normality_temperature=normality_temperature)
    return NormalcyConfig(retrieval=RetrievalConfig(text_map=text_map))
