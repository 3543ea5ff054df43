"""Per-class PCA bases of stored features (issue 14, `retrieval.features.pca`): a file stored on its
class's basis reads back in the encoder's channels, names its basis (so it decodes with that one even
after the class got another), is less than half the size, and a class with too few references, or
damaged basis files, are handled in one line."""

import numpy as np
import pytest

from retrieval import feature_basis, feature_codec
from retrieval.config import FeaturesConfig
from retrieval.errors import CorruptState
from retrieval.feature_cache import FeatureCache

SHA = "ab" + "c" * 62


def _grids(count=10, c=152, rank=24, seed=0) -> list[np.ndarray]:
    """Grids whose patches vary along `rank` directions of the C channels (as a class's normal patches
    do, mostly), plus a little noise in every channel."""
    rng = np.random.default_rng(seed)
    mix, offset = rng.standard_normal((rank, c)), rng.uniform(-2, 2, c)
    return [((rng.standard_normal((28 * 28, rank)) @ mix + offset + 0.01 * rng.standard_normal((28 * 28, c)))
             .T.reshape(c, 28, 28).astype(np.float32)) for _ in range(count)]


def test_a_projected_file_reads_back_in_the_encoders_channels_at_under_half_the_size():
    grids = _grids()
    basis = feature_basis.fit(grids, 64)
    assert basis.vectors.shape == (152, 64) and basis.fitted_on == 10
    np.testing.assert_allclose(basis.vectors.T @ basis.vectors, np.eye(64), atol=1e-4)
    grid = grids[0]
    projected = feature_codec.encode(grid, FeaturesConfig("int8", 1.0), basis)
    plain = feature_codec.encode(grid, FeaturesConfig("int8", 1.0, pca=0))
    stored, problem = feature_codec.decode(projected, {basis.id: basis}.get)
    assert problem is None and stored.bank.shape == (28 * 28, 152)
    error = np.abs(stored.grid().astype(np.float32) - grid).max()
    assert error < 0.05 * np.abs(grid).max()                       # 24 real directions, all kept in 64
    np.testing.assert_allclose(stored.mean, grid.mean(axis=(1, 2)), rtol=1e-5, atol=1e-5)   # the full mean
    assert len(projected) < 0.45 * len(plain)
    assert len(feature_codec.encode(grid, FeaturesConfig(), basis)) < 12_000     # default coreset: 25.7 kB before


def test_a_basis_needs_enough_references_and_fewer_dims_than_channels():
    assert feature_basis.fit(_grids(feature_basis.MIN_REFERENCES - 1), 64) is None
    assert feature_basis.fit(_grids(c=48), 64) is None
    one, again = feature_basis.fit(_grids(), 16), feature_basis.fit(_grids(), 16)
    assert one.id == again.id                                    # deterministic: the same grids, the same basis
    back, problem = feature_basis.from_bytes(feature_basis.to_bytes(one))
    assert problem is None and back.id == one.id


def test_a_file_keeps_decoding_with_its_own_basis_after_the_class_gets_another(tmp_path):
    encoding = FeaturesConfig(pca=32)
    cache = FeatureCache(tmp_path, "enc@1", encoding)
    assert cache.basis_of("brick") is None
    first = cache.fit("brick", _grids(seed=1))
    cache.put(SHA, _grids(1, seed=1)[0], first)
    second = cache.fit("brick", _grids(seed=2))
    assert second.id != first.id
    reopened = FeatureCache(tmp_path, "enc@1", encoding)
    assert reopened.basis_of("brick").id == second.id and reopened.basis_of("grass") is None
    assert reopened.get(SHA).bank.shape[1] == 152 and reopened.check(SHA) is None
    (cache.dir / "bases" / f"{first.id}.nrb").unlink()
    assert "basis" in FeatureCache(tmp_path, "enc@1", encoding).check(SHA)


@pytest.mark.parametrize("damage, reason", [(lambda data: data[:-4], "truncated"),
                                            (lambda data: data[:20] + b"\x00" * 4 + data[24:], "header"),
                                            (lambda data: data[:-4] + np.float32(0.123).tobytes(), "values changed")])
def test_a_damaged_basis_is_named_with_the_doctor(tmp_path, damage, reason):
    cache = FeatureCache(tmp_path, "enc@1", FeaturesConfig(pca=32))
    basis = cache.fit("brick", _grids())
    cache.put(SHA, _grids(1)[0], basis)
    path = cache.dir / "bases" / f"{basis.id}.nrb"
    path.write_bytes(damage(path.read_bytes()))
    for use in (lambda c: c.basis_of("brick"), lambda c: c.get(SHA)):
        with pytest.raises(CorruptState, match=f"{reason}.*normalcy doctor"):
            use(FeatureCache(tmp_path, "enc@1", FeaturesConfig(pca=32)))


def test_a_patch_the_basis_cannot_hold_keeps_the_file_in_the_encoders_channels():
    grids = _grids()
    basis = feature_basis.fit(grids, 64)
    odd = grids[0].copy()
    odd[:, 5, 5] += 3 * np.random.default_rng(9).standard_normal(152)     # one patch off the class's directions
    assert basis.represents(grids[1].reshape(152, -1).T) and not basis.represents(odd.reshape(152, -1).T)
    stored, problem = feature_codec.decode(feature_codec.encode(odd, FeaturesConfig("int8", 1.0), basis))
    assert problem is None                                          # no basis needed to read it back
    assert np.abs(stored.grid()[:, 5, 5].astype(np.float32) - odd[:, 5, 5]).max() < 0.1
