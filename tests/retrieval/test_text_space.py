"""The patch <-> text map arithmetic: two-state probability, the NAND contrast and suppression (retrieval.text_space.space)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from retrieval.text_space.space import contrast_map, mean_text, state_map, suppress


def test_state_map_is_high_where_a_patch_matches_the_abnormal_description():
    normal, abnormal = F.normalize(torch.tensor([[1.0, 0.0, 0.0]]), dim=1), F.normalize(torch.tensor([[0.0, 1.0, 0.0]]), dim=1)
    patches = torch.zeros(2, 2, 3)
    patches[..., 0] = 1.0
    patches[1, 1] = torch.tensor([0.0, 1.0, 0.0])
    prob = state_map(patches, normal, abnormal)
    assert prob.shape == (2, 2)
    assert prob[1, 1] > 0.99 and prob[0, 0] < 0.01


def test_mean_text_is_unit_length_and_refuses_an_empty_ensemble():
    assert torch.isclose(mean_text(torch.eye(3)).norm(), torch.tensor(1.0))
    with pytest.raises(ValueError):
        mean_text(torch.zeros(0, 3))


def test_suppress_keeps_the_map_where_the_normality_does_not_apply_and_zeroes_it_where_it_does():
    a = np.array([[0.8, 0.6]])
    assert np.allclose(suppress(a, np.array([[0.0, 1.0]])), [[0.8, 0.0]])
    with pytest.raises(ValueError):
        suppress(a, np.zeros((2, 2)))


def _unit(*rows):
    return F.normalize(torch.tensor(rows, dtype=torch.float32), dim=-1)


def test_contrast_without_others_is_the_two_state_map_exactly():
    patches = F.normalize(torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(1)), dim=-1)
    normal, added = _unit([1, 0, 0, 0, 0], [0, 1, 0, 0, 1]), _unit([0, 0, 1, 0, 0])
    for temperature in (1.0, 0.07):
        assert np.array_equal(contrast_map(patches, normal, added, (), temperature),
                              state_map(patches, normal, added, temperature))


def test_a_patch_more_like_another_defect_keeps_a_low_added_share():
    """Stain-like and scratch-like patches are both nearer the added "stain" than the normal prompts; only the
    stain-like one keeps a high share once the scratch texts are beside it."""
    normal, stain, scratch = _unit([1, 0, 0]), _unit([0, 1, 0]), _unit([0, 0, 1])
    patches = _unit([0.2, 1.0, 0.3], [0.2, 0.6, 1.0]).reshape(1, 2, 3)
    alone = state_map(patches, normal, stain, 0.07)
    contrasted = contrast_map(patches, normal, stain, [scratch], 0.07)
    assert (alone > 0.99).all()
    assert contrasted[0, 0] > 0.99 and contrasted[0, 1] < 0.01
    with pytest.raises(ValueError, match="temperature"):
        contrast_map(patches, normal, stain, [scratch], 0.0)
