"""The patch <-> text map arithmetic: two-state probability and NAND suppression (retrieval.text_space.space)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from retrieval.text_space.space import mean_text, state_map, suppress


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
