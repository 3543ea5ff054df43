"""Patch features and patch distances: the one place images become features and are scored.

`featurize` runs the image encoder and the neighbourhood aggregation; `stored` reads a reference's
stored features — its patch bank (the whole grid, or a coreset of it) and its grid mean — recomputed from
its stored copy when the cache lost them; `query_features` gives a reference's whole grid, to score it as
a query; `score_grid` compares a query's patches with the bank patches of given references (a reference
whose stored features do not match the query's channels is a `CorruptState` naming its file), and for a
class with `flips` also the query's three flips, against the same bank (`anomaly_map.unflip_geomean`).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from assistant.inspection.reference_copies import ReferenceCopies
from retrieval import anomaly_map
from retrieval.errors import DOCTOR_HINT, BadInput, CorruptState, MissingWeights
from retrieval.feature_codec import StoredFeatures
from retrieval.reference_store import Reference

FLIPS = ("FLIP_LEFT_RIGHT", "FLIP_TOP_BOTTOM", "ROTATE_180")   # PIL transposes in anomaly_map.FLIP_AXES order


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

    @cached_property
    def copies(self) -> ReferenceCopies:
        """The stored copies of the references (kept as `retrieval.features.copies` says; every kind read)."""
        return ReferenceCopies(self.ws.home.references, self.ws.config.inputs,
                               self.ws.config.retrieval.features.copies, owned=(self.ws.home.runs,))

    def stored(self, reference: Reference) -> StoredFeatures:
        """A reference's stored features (its bank and grid mean); recomputed from its copy if lost."""
        cache = self.ws.features_for(reference.class_name)
        cached = cache.get(reference.sha256)
        if cached is not None:
            return cached
        return cache.put(reference.sha256, self._from_copy(reference), self.basis(reference.class_name))

    def basis(self, class_name: str, grids=None):
        """The PCA basis new feature files of the class are stored on (`retrieval.features.pca`; None when
        off, or too few references for one). Without `grids`: its kept one, else one fitted now on the
        copies of its stored references; with (C, H, W) `grids` (an ingest's new references, see
        `fits_basis`): a new one fitted on them topped up from the stored copies to `FIT_REFERENCES`.
        Stored references the fit recomputed and that had no file get theirs on the new basis."""
        from retrieval.feature_basis import FIT_REFERENCES

        cache = self.ws.features_for(class_name)
        if not cache.projects:
            return None
        kept = cache.basis_of(class_name)
        if grids is None and kept is not None:
            return kept
        fresh = list(grids or ())[:FIT_REFERENCES]
        more = self._stored_grids(class_name, FIT_REFERENCES - len(fresh), len(fresh))
        basis = cache.fit(class_name, fresh + list(more.values())) or kept
        for sha, grid in more.items() if basis is not None else ():
            if not cache.path(sha).is_file():
                cache.put(sha, grid, basis)
        return basis

    def fits_basis(self, class_name: str, adding: int) -> bool:
        """Whether an ingest adding `adding` references to the class fits it a new basis: it stores on one
        but has none yet, or has grown to twice the references its basis was fitted on (< FIT_REFERENCES)."""
        from retrieval.feature_basis import FIT_REFERENCES

        cache = self.ws.features_for(class_name)
        if not cache.projects:
            return False
        kept = cache.basis_of(class_name)
        if kept is None:
            return True
        if kept.fitted_on >= FIT_REFERENCES:
            return False
        stored = len(self.ws.references.shas(class_name)) if class_name in self.ws.references.classes() else 0
        return stored + adding >= 2 * kept.fitted_on

    def _stored_grids(self, class_name: str, count: int, fresh: int) -> dict:
        """sha256 -> (C, H, W) grid of `count` of the class's stored references (the calibration's sample),
        recomputed from their copies; none when they and `fresh` new ones are too few for a basis."""
        from assistant.inspection.class_threshold import sample
        from retrieval.feature_basis import MIN_REFERENCES

        with self.ws.using_store():
            if class_name not in self.ws.references.classes():
                return {}
            shas = self.ws.references.shas(class_name)
            if count < 1 or len(shas) + fresh < MIN_REFERENCES:
                return {}
            references, _ = self.ws.references.with_embeddings(class_name, sample(shas, count))
        return {r.sha256: self._from_copy(r) for r in references}

    def query_features(self, reference: Reference, image=None) -> np.ndarray:
        """(C, H, W) features of a reference scored as a query (calibration): the stored grid when the
        encoding keeps it, else recomputed from the copy (a coreset keeps only some of the patches), or from
        `image`, the copy already decoded."""
        grid = self.stored(reference).grid()
        if grid is not None:
            return grid
        return self._from_copy(reference) if image is None else self.featurize([image])[0][0].numpy()

    def embedding(self, reference: Reference) -> np.ndarray:
        """(D,) retrieval embedding of a reference from its stored grid mean (rebuilding the index)."""
        mean = self.stored(reference).mean
        return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)

    def copy_of(self, reference: Reference):
        """A reference's stored copy decoded as an input (`LoadedImage`); gone or damaged: one line saying so."""
        try:
            loaded = self.copies.load(reference.sha256)
        except BadInput as exc:
            raise CorruptState(f"the stored copy of reference {reference.path} is damaged ({exc}); "
                                 f"re-ingest class {reference.class_name}") from None
        if loaded is None:
            raise MissingWeights(f"features and stored copy of reference {reference.path} are gone; "
                                 f"re-ingest class {reference.class_name}")
        return loaded

    def _from_copy(self, reference: Reference) -> np.ndarray:
        return self.featurize([self.copy_of(reference).image])[0][0].numpy()

    def _matching(self, reference: Reference, channels: int) -> np.ndarray:
        bank = self.stored(reference).bank
        if bank.shape[1] != channels:
            path = self.ws.features_for(reference.class_name).path(reference.sha256)
            raise CorruptState(f"cached features {path} have {bank.shape[1]} channels, the encoder gives {channels}; "
                               f"{DOCTOR_HINT}")
        return bank

    def score_grid(self, features, references: list[Reference], image=None) -> np.ndarray:
        """(C, H, W) query features vs the references' patches -> (H, W) smoothed nearest-patch distances
        (only patches within `map.window` cells of the query cell when that is set). `image`: the query
        itself, for a class with `flips` — its three flips are encoded and scored against the same bank and
        the map is the per-cell geometric mean of the four, flips undone."""
        import torch

        bank = torch.cat([torch.from_numpy(self._matching(r, features.shape[0])) for r in references])
        cfg = self.ws.config.retrieval.map
        grid = anomaly_map.distance_grid(features, bank, cfg.window).numpy()
        if image is not None:
            from PIL import Image

            flipped = self.featurize([image.transpose(getattr(Image.Transpose, op)) for op in FLIPS])[0]
            grid = anomaly_map.unflip_geomean([grid] + [anomaly_map.distance_grid(f, bank, cfg.window).numpy()
                                                        for f in flipped])
        return anomaly_map.gaussian_smooth(grid, cfg.sigma)

    def flip_image(self, class_name: str, image):
        """`image` when the class scores flips (`classes.NAME.flips`), else None: what `score_grid` takes."""
        return image if self.ws.config.for_class(class_name).flips else None
