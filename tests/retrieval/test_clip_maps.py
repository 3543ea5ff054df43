"""The CLIP maps: the zero-shot text map (two prompt ensembles) and the few-shot patch memory of normal
references, on the tiny random ViT-B-16 and on a hand-made space where the right answer is known."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from tiny_clip_factory import build_open_clip

from retrieval.text_space.clip_maps import few_shot_map, leave_one_out_scores, patch_memory, zero_shot_map
from retrieval.text_space.clip_space import ClipTextSpace
from retrieval.text_space.prompts import class_prompts


@pytest.fixture(scope="module")
def space(tmp_path_factory):
    return ClipTextSpace(str(build_open_clip(tmp_path_factory.mktemp("clip") / "ViT-B-16-tiny")))


@pytest.fixture(scope="module")
def bricks(texture_set):
    return [Image.open(p).convert("RGB") for p in sorted((texture_set / "train").glob("*.png"))[:3]]


def pasted(image, patch, box=(80, 80)):
    """`image` resized to 224 with `patch` pasted at `box` (pixels): a foreign region in known patches."""
    query = image.resize((224, 224))
    query.paste(patch, box)
    return query


class Hand:
    """A 2 x 2 patch grid whose embeddings are axes, and texts that name an axis: answers are known."""

    id = "hand"
    AXES = {"plain": 0, "scratched": 1, "stained": 2}

    def __init__(self, grid):
        self.grid = grid

    def patch_embeddings(self, image):
        return F.normalize(self.grid, dim=-1)

    def text_embeddings(self, texts):
        return torch.stack([F.one_hot(torch.tensor(self.AXES[t]), 4).float() for t in texts])


def test_the_text_map_is_high_where_a_patch_looks_like_the_abnormal_words():
    grid = torch.tensor([[[1.0, 0, 0, 0], [0, 1.0, 0, 0]], [[1.0, 0.1, 0, 0], [0, 0, 0, 1.0]]])
    anomaly = zero_shot_map(Hand(grid), None, ["plain"], ["scratched"], temperature=0.07)
    assert anomaly.shape == (2, 2) and anomaly[0, 1] > 0.99 and anomaly[0, 0] < 0.01
    assert anomaly[1, 0] < 0.5 and anomaly[1, 1] == pytest.approx(0.5)   # unrelated to both: undecided
    flipped = zero_shot_map(Hand(grid), None, ["scratched"], ["plain"], temperature=0.07)
    assert np.allclose(flipped, 1 - anomaly, atol=1e-5)
    softer = zero_shot_map(Hand(grid), None, ["plain"], ["scratched"], temperature=1.0)
    assert 0.5 < softer[0, 1] < anomaly[0, 1]


def test_the_clip_text_map_is_a_probability_per_patch(space, bricks):
    prompts = class_prompts("brick")
    anomaly = zero_shot_map(space, bricks[0], prompts.normal, prompts.abnormal, temperature=0.07)
    assert anomaly.shape == (14, 14) and anomaly.dtype == np.float32
    assert (anomaly >= 0).all() and (anomaly <= 1).all() and anomaly.std() > 0
    same = zero_shot_map(space, bricks[0], prompts.normal, prompts.normal)
    assert np.allclose(same, 0.5, atol=1e-5)
    embedded = zero_shot_map(space, space.patch_embeddings(bricks[0]), prompts.normal, prompts.abnormal)
    assert np.allclose(embedded, anomaly, atol=1e-6)


def test_a_reference_against_itself_is_normal_everywhere(space, bricks):
    distance = few_shot_map(space, bricks[0], [bricks[0]])
    assert distance.shape == (14, 14) and np.abs(distance).max() < 1e-4


def test_a_pasted_foreign_patch_scores_higher_where_it_was_pasted(space, bricks):
    import skimage.data

    foreign = Image.fromarray(skimage.data.astronaut()).convert("RGB").resize((48, 48))
    distance = few_shot_map(space, pasted(bricks[0], foreign), bricks)
    inside = np.zeros((14, 14), bool)
    inside[5:8, 5:8] = True                                      # pixels 80..127 are patches 5..7
    assert distance[inside].mean() > 5 * distance[~inside].mean()
    assert distance[inside].min() > np.quantile(distance[~inside], 0.95)


def test_more_references_never_raise_the_distance(space, bricks):
    query = bricks[1].transpose(Image.Transpose.ROTATE_90)
    one = few_shot_map(space, query, bricks[:1])
    three = few_shot_map(space, query, bricks)
    assert (three <= one + 1e-6).all() and three.mean() < one.mean()
    assert patch_memory(space, bricks).shape == (3 * 14 * 14, 32)
    with pytest.raises(ValueError, match="at least one normal reference"):
        few_shot_map(space, query, [])


def test_each_reference_against_the_others_scores_the_odd_one_out_highest():
    axis = [F.one_hot(torch.tensor(i), 4).float() for i in range(4)]
    plain = torch.stack([torch.stack([axis[0], axis[0]])] * 2)      # (2, 2, 4): every patch on axis 0
    odd = plain.clone()
    odd[1, 1] = axis[3]                                              # one patch nobody else has
    scores = leave_one_out_scores([plain, plain.clone(), odd])
    assert scores.shape == (3,) and np.allclose(scores[:2], 0, atol=1e-6) and scores[2] == pytest.approx(1.0)
    assert leave_one_out_scores([plain, odd], top_fraction=0.5)[1] == pytest.approx(0.5)   # top 2 of 4 cells
    with pytest.raises(ValueError, match="two references"):
        leave_one_out_scores([plain])
