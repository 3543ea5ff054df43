"""The CLIP patch <-> text space from a local open_clip checkpoint: a tiny random ViT-B-16 (real config,
real CLIP BPE tokenizer) saved to disk and loaded back by the product's open_clip loader."""

import json

import pytest
import torch
from PIL import Image
from tiny_clip_factory import build_open_clip, bundled_bpe_sha256, tiny_config

from retrieval.errors import ConfigError, MissingWeights
from retrieval.text_space.clip_space import ClipTextSpace, block_indices, windowed
from retrieval.text_space.prompts import class_prompts


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory):
    return build_open_clip(tmp_path_factory.mktemp("clip") / "ViT-B-16-tiny")


@pytest.fixture(scope="module")
def space(clip_folder):
    return ClipTextSpace(str(clip_folder))


@pytest.fixture(scope="module")
def brick(texture_set):
    return Image.open(sorted((texture_set / "train").glob("*.png"))[0]).convert("RGB")


def test_patches_are_unit_vectors_on_the_patch_grid_in_the_text_space(space, brick):
    patches = space.patch_embeddings(brick)
    assert patches.shape == (224 // 16, 224 // 16, 32) and patches.dtype == torch.float32
    assert torch.allclose(patches.norm(dim=-1), torch.ones(14, 14), atol=1e-5)
    assert patches.reshape(-1, 32).std(0).mean() > 0.01            # patches differ from one another


def test_texts_are_unit_vectors_and_each_is_embedded_once(space, clip_folder):
    texts = class_prompts("metal_nut").normal[:5]
    features = space.text_embeddings(texts)
    assert features.shape == (5, 32) and torch.allclose(features.norm(dim=-1), torch.ones(5), atol=1e-5)
    again = space.text_embeddings([texts[3], texts[0], texts[3]])
    assert torch.allclose(again, features[[3, 0, 3]], atol=1e-5)
    fresh = ClipTextSpace(str(clip_folder))
    assert torch.allclose(fresh.text_embeddings([texts[3]])[0], features[3], atol=1e-5)   # batch = alone
    assert not torch.allclose(features[0], features[1])
    with pytest.raises(ValueError, match="no texts"):
        space.text_embeddings([])


def test_the_tokenizer_is_the_real_clip_bpe(space):
    used, real = bundled_bpe_sha256()
    assert used == real
    space.text_embeddings(["a photo of a metal nut."])                 # the tokenizer is made on first use
    tokens = space.encoder._tokenizer(["a photo of a metal nut."])
    assert tokens.shape == (1, 77) and tokens[0, 0] == 49406 and 49407 in tokens[0].tolist()


def test_the_id_names_the_architecture_the_weights_and_the_settings(clip_folder, tmp_path, space):
    assert space.id.startswith("clip:ViT-B-16-tiny@") and "blocks 1,2,3,4" in space.id
    other = ClipTextSpace(str(build_open_clip(tmp_path / "ViT-B-16-tiny", seed=1)))
    assert other.id != space.id and other.id.split(" ")[1:] == space.id.split(" ")[1:]
    assert ClipTextSpace(str(clip_folder), windows=(1, 3)).id.endswith("windows 1,3")


def test_windows_average_neighbourhoods_and_stay_unit_length():
    grid = torch.nn.functional.normalize(torch.randn(6, 6, 8), dim=-1)
    assert windowed(grid, (1,)) is grid
    for windows in ((1, 2, 3), (3,)):
        smooth = windowed(grid, windows)
        assert smooth.shape == grid.shape
        assert torch.allclose(smooth.norm(dim=-1), torch.ones(6, 6), atol=1e-5)
    flat = torch.nn.functional.normalize(torch.ones(5, 5, 4), dim=-1)
    assert torch.allclose(windowed(flat, (2, 3)), flat, atol=1e-6)
    spike = flat.clone()
    spike[2, 2] = torch.tensor([1.0, 0, 0, 0])
    moved = 1 - (windowed(spike, (3,)) * flat).sum(-1)
    assert moved[1, 1] > 0 and moved[0, 0] < 1e-6 and moved[2, 2] < 1 - (spike[2, 2] * flat[2, 2]).sum()


def test_blocks_are_spread_over_the_depth():
    assert block_indices(12) == [2, 5, 8, 11] and block_indices(24) == [5, 11, 17, 23]
    assert block_indices(4) == [0, 1, 2, 3] and block_indices(1) == [0]


def test_a_missing_checkpoint_is_one_line_saying_what_to_put_where(tmp_path):
    with pytest.raises(MissingWeights, match="set retrieval.text_map.path") as missing:
        ClipTextSpace(None)
    assert "\n" not in str(missing.value)
    with pytest.raises(MissingWeights, match="open_clip_config.json") as missing:
        ClipTextSpace(str(tmp_path / "clip"))
    assert str(tmp_path / "clip") in str(missing.value) and "\n" not in str(missing.value)
    (tmp_path / "weights.safetensors").write_bytes(b"")
    with pytest.raises(ConfigError, match="retrieval.text_map.arch"):
        ClipTextSpace(str(tmp_path / "weights.safetensors"))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "open_clip_config.json").write_text(json.dumps({"model_cfg": tiny_config()}))
    with pytest.raises(MissingWeights, match="no open_clip weights"):
        ClipTextSpace(str(tmp_path / "empty"))


def test_a_tower_without_patch_tokens_is_refused(tmp_path):
    resnet = {"embed_dim": 32, "vision_cfg": {"image_size": 64, "layers": [1, 1, 1, 1], "width": 8},
              "text_cfg": tiny_config()["text_cfg"]}
    with pytest.raises(ConfigError, match="use a ViT checkpoint"):
        ClipTextSpace(str(build_open_clip(tmp_path / "RN-tiny", model_cfg=resnet)))


def test_a_tokenizer_that_is_not_on_this_machine_is_one_line(tmp_path, brick):
    config = tiny_config()
    config["text_cfg"]["hf_tokenizer_name"] = "nowhere/no-such-tokenizer"
    space = ClipTextSpace(str(build_open_clip(tmp_path / "hf-tokenizer", model_cfg=config)))
    assert space.patch_embeddings(brick).shape == (14, 14, 32)
    with pytest.raises(MissingWeights, match="tokenizer of hf-tokenizer does not load offline") as missing:
        space.text_embeddings(["a photo of a brick."])
    assert "\n" not in str(missing.value)
