"""Stored reference features (issue 14): the compact encoding reads back within its quantization error,
a coreset keeps real patches of the grid, files are sharded and small, a home of the older layout
(float16 .npy grids in flat folders) is converted when read, and a bad encoding setting is one line."""

import numpy as np
import pytest

from retrieval import feature_codec
from retrieval.config import FeaturesConfig
from retrieval.errors import ConfigError, CorruptState
from retrieval.feature_cache import FeatureCache
from retrieval.patch_features import FEATURES_VERSION

SHA = "ab" + "c" * 62


def _grid(c=152, h=28, w=28, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((c, h, w)) * rng.uniform(0.1, 3, (c, 1, 1)) + rng.uniform(-2, 2, (c, 1, 1))
            ).astype(np.float32)


@pytest.mark.parametrize("precision, steps", [("int8", 255), ("int4", 15)])
def test_quantized_round_trip_is_within_half_a_step_per_channel(precision, steps):
    grid = _grid()
    stored, problem = feature_codec.decode(feature_codec.encode(grid, FeaturesConfig(precision, 1.0)))
    assert problem is None
    back = stored.grid().astype(np.float32)
    step = (grid.max(axis=(1, 2)) - grid.min(axis=(1, 2))) / steps
    error = np.abs(back - grid).max(axis=(1, 2))
    assert np.all(error <= step / 2 + 2e-3 * np.abs(grid).max(axis=(1, 2)))   # + float16 rounding of the bank
    assert error.max() > 0                                                     # it is quantized, not a copy
    np.testing.assert_allclose(stored.mean, grid.mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)
    assert stored.bank.shape == (28 * 28, 152) and stored.grid_shape == (28, 28)


def test_int4_packs_an_odd_count_of_values_two_per_byte():
    grid = _grid(3, 3, 3)                                        # 27 values: the last byte is half used
    data = feature_codec.encode(grid, FeaturesConfig("int4", 1.0))
    stored, problem = feature_codec.decode(data)
    assert problem is None and stored.grid().shape == (3, 3, 3)
    assert feature_codec.decode(data[:-1])[1].endswith("(truncated?)")


def test_float16_round_trip_is_the_float16_grid():
    grid = _grid(16, 5, 7)
    stored, _ = feature_codec.decode(feature_codec.encode(grid, FeaturesConfig("float16", 1.0)))
    np.testing.assert_array_equal(stored.grid(), grid.astype(np.float16))


def test_a_coreset_keeps_that_fraction_of_real_patches_and_covers_the_rest():
    grid = _grid(32, 12, 12)
    patches = grid.reshape(32, -1).T
    stored, _ = feature_codec.decode(feature_codec.encode(grid, FeaturesConfig("float16", 0.25)))
    assert stored.bank.shape == (36, 32) and stored.grid() is None
    kept = stored.bank.astype(np.float32)
    nearest = np.sqrt(((patches[:, None] - kept[None]) ** 2).sum(-1)).min(1)
    assert np.sum(nearest < 1e-2) == 36                       # each bank row is one of the grid's patches
    radius = nearest.max()
    chosen = feature_codec.greedy_coreset(patches, 36)
    assert len(set(chosen.tolist())) == 36
    random = np.random.default_rng(1).choice(144, 36, replace=False)   # greedy covers better than random
    random_radius = np.sqrt(((patches[:, None] - patches[random][None]) ** 2).sum(-1)).min(1).max()
    assert radius < random_radius


@pytest.mark.parametrize("encoding, bound", [(FeaturesConfig("float16", 1.0), 240_000), (FeaturesConfig("int8", 1.0), 121_500),
                                             (FeaturesConfig("int8", 0.25), 32_000),
                                             (FeaturesConfig("int8", 0.1), 14_000),
                                             (FeaturesConfig("int4", 0.25), 17_000)])
def test_bytes_per_reference_of_a_152_channel_28x28_grid(tmp_path, encoding, bound):
    cache = FeatureCache(tmp_path, "enc@1", encoding)
    cache.put(SHA, _grid())
    assert cache.path(SHA).stat().st_size < bound     # float16 .npy before issue 14: 238,464 bytes


def test_files_are_sharded_by_hash_prefix_under_the_encoding(tmp_path):
    cache = FeatureCache(tmp_path, "enc@1", FeaturesConfig("int8", 0.5, pca=0))
    cache.put(SHA, _grid(8, 4, 4))
    assert cache.path(SHA) == tmp_path / f"enc@1_{FEATURES_VERSION}_int8-core0.5" / "ab" / f"{SHA}.nrf"
    assert FeatureCache(tmp_path, "enc@1", FeaturesConfig("int8", 0.5, pca=0)).get(SHA).bank.shape == (8, 8)
    assert FeatureCache(tmp_path, "enc@1", FeaturesConfig("int8", 1.0, pca=0)).get(SHA) is None   # never read as another
    assert FeatureCache(tmp_path, "enc@1", FeaturesConfig("int8", 0.5, pca=4)).get(SHA) is None
    assert FeatureCache(tmp_path, "enc@1", FeaturesConfig("int8", 0.5, pca=4)).dir.name.endswith("int8-core0.5-pca4")


def test_an_old_layout_float16_grid_is_converted_when_read(tmp_path):
    grid = _grid(24, 6, 6).astype(np.float16)
    legacy = tmp_path / f"enc@1_{FEATURES_VERSION}" / f"{SHA}.npy"          # as the home kept it before issue 14
    legacy.parent.mkdir(parents=True)
    np.save(legacy, grid)
    cache = FeatureCache(tmp_path, "enc@1", FeaturesConfig("int8", 1.0))
    assert cache.check(SHA) is None
    stored = FeatureCache(tmp_path, "enc@1", FeaturesConfig("int8", 1.0)).get(SHA)
    step = (grid.max(axis=(1, 2)) - grid.min(axis=(1, 2))).astype(np.float32)[:, None, None] / 255
    assert np.all(np.abs(stored.grid().astype(np.float32) - grid) <= step / 2 + 1e-2)
    assert not legacy.exists() and cache.path(SHA).is_file() and cache.check(SHA) is None
    np.save(legacy, grid)                                                   # and into the default coreset
    assert FeatureCache(tmp_path, "enc@1").get(SHA).bank.shape == (7, 24) and not legacy.exists()   # 20 % of 36


@pytest.mark.parametrize("damage, reason", [
    (lambda data: data[:-3], "truncated"), (lambda data: b"\x93NUMPY" + data, "not a Normalcy feature file"),
    (lambda data: data[:4] + b"\x09" + data[5:], "format 9"), (lambda data: data[:9] + b"x" + data[10:], "header")])
def test_a_damaged_file_is_named_not_read(tmp_path, damage, reason):
    cache = FeatureCache(tmp_path, "enc@1")
    cache.put(SHA, _grid(8, 4, 4))
    cache.path(SHA).write_bytes(damage(cache.path(SHA).read_bytes()))
    assert reason in cache.check(SHA)
    with pytest.raises(CorruptState, match="normalcy doctor"):
        FeatureCache(tmp_path, "enc@1").get(SHA)


@pytest.mark.parametrize("text, message", [("precision: int2", "unknown feature precision 'int2'"),
                                           ("copies: paper", "unknown kind of reference copy 'paper'"),
                                           ("coreset: 0", "coreset: must be > 0"), ("coreset: 1.5", "<= 1"),
                                           ("pca: -1", "pca: must be >= 0"), ("pca: 12.5", "pca: expected int, got 12.5")])
def test_a_bad_encoding_setting_is_one_line_naming_it(tmp_path, text, message):
    from assistant.config import load_config

    path = tmp_path / "c.yaml"
    path.write_text(f"retrieval:\n  features:\n    {text}\n")
    with pytest.raises(ConfigError, match=message):
        load_config(path)
