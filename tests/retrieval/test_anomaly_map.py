"""The anomaly-map math, on synthetic tensors with known answers."""

import numpy as np
import pytest
import torch

from retrieval import anomaly_map
from retrieval.calibration import spread_indices, threshold_from_scores
from retrieval.patch_features import aggregate, as_patches, embedding


def test_nearest_patch_distance_matches_brute_force_across_chunks():
    gen = torch.Generator().manual_seed(0)
    query, bank = torch.randn(50, 16, generator=gen), torch.randn(300, 16, generator=gen)
    expected = torch.cdist(query, bank).min(dim=1).values
    got = anomaly_map.nearest_patch_distance(query, bank, chunk=64)
    assert torch.allclose(got, expected, atol=1e-4)


def _nearest_before_issue_9(query, bank, chunk=4096):
    """The search as it was (|q|^2 + |b|^2 - 2 q.b per chunk of 4,096, minimum of the full sum)."""
    q_sq = (query * query).sum(1, keepdim=True)
    best = torch.full((query.shape[0],), float("inf"))
    for start in range(0, bank.shape[0], chunk):
        part = bank[start:start + chunk]
        best = torch.minimum(best, (q_sq + (part * part).sum(1)[None, :] - 2.0 * query @ part.T).min(dim=1).values)
    return best.clamp_min(0).sqrt()


def test_full_memory_search_gives_the_scores_of_the_search_before_and_of_cdist():
    # feature-like (non-negative, 152 channels) query grid against a bank of several 32k chunks + a remainder
    gen = torch.Generator().manual_seed(1)
    query, bank = torch.rand(16, 152, generator=gen), torch.rand(33_000, 152, generator=gen)
    got = anomaly_map.nearest_patch_distance(query, bank)
    assert torch.allclose(got, _nearest_before_issue_9(query, bank), atol=1e-4)
    assert torch.allclose(got, torch.cdist(query, bank).min(dim=1).values, atol=1e-3)
    assert got.dtype == torch.float32 and got.shape == (16,)


def test_position_window_matches_only_nearby_cells_and_a_wide_one_is_the_plain_search():
    gen = torch.Generator().manual_seed(2)
    refs = torch.rand(3, 6, 5, 7, generator=gen)                  # 3 reference grids, 6 channels, 5 x 7 cells
    bank = torch.cat([as_patches(r) for r in refs])
    query = refs[1].clone()
    query[:, 0, 0] = refs[2][:, 4, 6]                              # a patch that exists, but in the far corner
    wide = anomaly_map.distance_grid(query, bank, window=7)
    assert torch.allclose(wide, anomaly_map.distance_grid(query, bank), atol=1e-5)
    assert torch.allclose(wide, torch.cdist(as_patches(query), bank).min(1).values.reshape(5, 7), atol=1e-3)
    near = anomaly_map.distance_grid(query, bank, window=1)
    assert wide[0, 0] < 1e-2 < near[0, 0]                          # found anywhere, not within 1 cell
    assert near[2, 3] < 1e-2 and torch.all(near >= wide - 1e-5)    # its own cells are still found


def test_a_patch_present_in_the_bank_has_zero_distance():
    bank = torch.randn(20, 8, generator=torch.Generator().manual_seed(0))
    query = torch.cat([bank[3:4], bank[3:4] + 10])
    got = anomaly_map.nearest_patch_distance(query, bank)
    # |q|² + |b|² − 2 q·b in float32 leaves ~1e-6 of cancellation error, ~1e-3 after the square root
    assert got[0] == pytest.approx(0, abs=1e-2) and got[1] > 5


def test_gaussian_smooth_keeps_constants_and_spreads_a_spike():
    flat = np.full((10, 12), 3.0, np.float32)
    assert np.allclose(anomaly_map.gaussian_smooth(flat, 1.5), 3.0, atol=1e-5)
    spike = np.zeros((15, 15), np.float32)
    spike[7, 7] = 1
    smooth = anomaly_map.gaussian_smooth(spike, 1.0)
    assert smooth.sum() == pytest.approx(1.0, rel=1e-3)
    assert smooth.argmax() == 7 * 15 + 7 and 0 < smooth[7, 9] < smooth[7, 8] < smooth[7, 7]


def test_image_score_max_and_top_fraction():
    grid = np.arange(100, dtype=np.float32).reshape(10, 10)
    assert anomaly_map.image_score(grid) == 99
    assert anomaly_map.image_score(grid, 0.05) == pytest.approx(np.mean([95, 96, 97, 98, 99]))


def test_default_image_score_is_the_mean_of_the_top_10_cells_of_a_28_by_28_map():
    from retrieval.config import MapConfig

    grid = np.random.default_rng(3).random((28, 28)).astype(np.float32)
    assert anomaly_map.image_score(grid, MapConfig().top_fraction) == pytest.approx(np.sort(grid.ravel())[-10:].mean())


def test_hot_region_is_the_connected_component_of_the_peak():
    grid = np.zeros((8, 8), np.float32)
    grid[1:3, 1:4] = 2.0       # the peak's component
    grid[2, 2] = 3.0
    grid[6, 6] = 1.5           # above level but not connected
    assert anomaly_map.hot_region(grid, 1.0) == (1, 1, 4, 3)
    assert anomaly_map.hot_region(grid, 5.0) is None


def test_scale_box_maps_cells_to_pixels():
    assert anomaly_map.scale_box((1, 2, 3, 4), (28, 28), (280, 560)) == [10, 40, 30, 80]


def test_upsample_preserves_range_and_shape():
    grid = np.random.default_rng(0).random((7, 7)).astype(np.float32)
    up = anomaly_map.upsample(grid, 30, 40)
    assert up.shape == (30, 40) and up.min() >= grid.min() - 1e-6 and up.max() <= grid.max() + 1e-6


def test_suppression_removes_described_normal_regions():
    grid = np.ones((4, 4), np.float32)
    sup = np.zeros((4, 4), np.float32)
    sup[:2] = 1.0
    out = anomaly_map.suppress(grid, sup)
    assert out[:2].max() == 0 and out[2:].min() == 1


def test_aggregate_puts_all_layers_on_the_finest_grid():
    maps = [torch.randn(2, 4, 8, 8), torch.randn(2, 6, 4, 4)]
    feats = aggregate(maps, neighbourhood=3)
    assert feats.shape == (2, 10, 8, 8)
    emb = embedding(feats)
    assert emb.shape == (2, 10) and torch.allclose(emb.norm(dim=1), torch.ones(2))
    assert as_patches(feats[0]).shape == (64, 10)


def test_threshold_is_above_every_typical_normal_score():
    scores = np.random.default_rng(1).normal(5.0, 0.5, 200)
    threshold, mean, std = threshold_from_scores(scores, z=3.0)
    assert mean == pytest.approx(5.0, abs=0.1) and threshold == pytest.approx(mean + 3 * std)
    assert (scores < threshold).mean() > 0.99
    identical, _, floor_std = threshold_from_scores(np.array([2.0, 2.0]), z=3.0)
    assert floor_std == pytest.approx(0.1) and identical > 2.0


def test_spread_indices_bounds_the_work():
    assert spread_indices(5, 10) == [0, 1, 2, 3, 4]
    picked = spread_indices(1000, 10)
    assert len(picked) == 10 and picked[0] == 0 and picked[-1] == 999


def test_aggregate_counts_zero_padding_so_border_cells_shrink():
    """One 3x3 average after upsampling, padding counted: a constant map keeps its interior value,
    edges get 6/9 of it and corners 4/9 (the border damping of issue 9)."""
    maps = [torch.ones(1, 2, 6, 6), 2 * torch.ones(1, 3, 3, 3)]
    feats = aggregate(maps, neighbourhood=3)
    assert feats.shape == (1, 5, 6, 6)
    assert torch.allclose(feats[0, :2, 1:-1, 1:-1], torch.ones(2, 4, 4))
    assert torch.allclose(feats[0, 3:, 1:-1, 1:-1], torch.full((2, 4, 4), 2.0))
    assert feats[0, 0, 0, 3].item() == pytest.approx(6 / 9) and feats[0, 0, 0, 0].item() == pytest.approx(4 / 9)
    assert torch.equal(aggregate(maps, neighbourhood=1)[0, :2], torch.ones(2, 6, 6))


def test_aggregate_averages_after_upsampling_on_the_fine_grid():
    """A single hot coarse cell spreads by the bilinear upsampling, then by one 3x3 on the fine grid:
    its fine-grid footprint is the same as pooling the upsampled map by hand."""
    coarse = torch.zeros(1, 1, 4, 4)
    coarse[0, 0, 2, 2] = 9.0
    feats = aggregate([torch.zeros(1, 1, 8, 8), coarse], neighbourhood=3)[0, 1]
    up = torch.nn.functional.interpolate(coarse, size=(8, 8), mode="bilinear", align_corners=False)
    expected = torch.nn.functional.avg_pool2d(up, 3, 1, 1)[0, 0]
    assert torch.allclose(feats, expected)
