"""The transformers vision backbone (AnomalyDINO route) on a random DINOv2 built from the real
dinov2-small config, saved with save_pretrained and loaded back through the product's AutoModel path:
patch-grid shapes, which blocks become features (checked against transformers' own hidden states), the
class-token embedding, the identity the store compares, and the one-line errors of a bad folder; and tiny
DINOv3 (registers), full CLIP and SigLIP vision folders built from config through the same loader."""

import json
import shutil

import pytest
import torch
from tiny_encoder_factory import build_dinov2

from retrieval.config import EncoderConfig
from retrieval.encoders.image_encoder import load_image_encoder
from retrieval.errors import ConfigError, MissingWeights
from retrieval.patch_features import aggregate


@pytest.fixture(scope="module")
def dino(tmp_path_factory):
    return build_dinov2(tmp_path_factory.mktemp("dinov2") / "dinov2-tiny")


def _encoder(folder, **options):
    return load_image_encoder(EncoderConfig(name="transformers", path=str(folder), **options))


def _reference_states(folder, batch):
    """transformers' own forward of the saved folder: (final layer norm, hidden states, pooled normed CLS)."""
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(folder), local_files_only=True).eval()
    with torch.no_grad():
        out = model(pixel_values=batch, output_hidden_states=True)
    return model.layernorm, out


def test_patch_features_sit_on_the_patch_grid_with_the_chosen_layers_concatenated(dino, texture_set):
    from PIL import Image

    encoder = _encoder(dino, layers=(-4, -1))
    images = [Image.open(p).convert("RGB") for p in sorted((texture_set / "train").glob("*.png"))[:3]]
    maps = encoder.layer_maps(encoder.to_tensor(images))
    assert [tuple(m.shape) for m in maps] == [(3, 32, 16, 16)] * 2          # 224 px / patch 14, hidden 32
    assert tuple(aggregate(maps, 3).shape) == (3, 64, 16, 16)
    assert not torch.allclose(maps[0], maps[1])
    bigger = _encoder(dino, image_size=448).layer_maps(torch.zeros(1, 3, 448, 448))
    assert tuple(bigger[0].shape) == (1, 32, 32, 32)                        # position table interpolated


def test_layers_are_the_blocks_named_normed_without_the_class_token(dino):
    batch = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    norm, out = _reference_states(dino, batch)
    maps, pooled = _encoder(dino, layers=(2, -1), pooling="cls").encode(batch)
    for fmap, block in zip(maps, (2, 4)):
        with torch.no_grad():
            tokens = norm(out.hidden_states[block])[:, 1:]                  # CLS dropped
        assert torch.allclose(fmap, tokens.transpose(1, 2).reshape(2, 32, 16, 16), atol=1e-5)
    assert torch.allclose(pooled, torch.nn.functional.normalize(out.pooler_output, dim=1), atol=1e-5)
    assert torch.allclose(_encoder(dino, layers=(-4,)).layer_maps(batch)[0], _encoder(dino, layers=(1,)).layer_maps(batch)[0])


def test_register_tokens_are_dropped_too(tmp_path):
    folder = build_dinov2(tmp_path / "registers", model_type="dinov2_with_registers", num_register_tokens=4)
    batch = torch.randn(1, 3, 224, 224)
    norm, out = _reference_states(folder, batch)
    fmap = _encoder(folder, layers=(-1,)).layer_maps(batch)[0]
    assert out.hidden_states[-1].shape[1] == 1 + 4 + 16 * 16
    with torch.no_grad():
        expected = norm(out.hidden_states[-1])[:, 5:].transpose(1, 2).reshape(1, 32, 16, 16)
    assert torch.allclose(fmap, expected, atol=1e-5)


def test_the_id_names_the_weights_and_the_layer_choice(dino, tmp_path):
    encoder = _encoder(dino, layers=(-4, -1), pooling="cls")
    assert encoder.id.startswith("transformers:dinov2@") and ":layers-4,-1:cls:224px" in encoder.id
    copy = tmp_path / "moved"
    shutil.copytree(dino, copy)
    assert _encoder(copy, layers=(-4, -1), pooling="cls").id == encoder.id        # same weights, same encoder
    other = build_dinov2(tmp_path / "other", seed=1)
    assert _encoder(other, layers=(-4, -1), pooling="cls").id != encoder.id       # other weights, same config
    assert _encoder(dino, layers=(-1,), pooling="cls").id != encoder.id


def test_a_sharded_folder_loads_and_hashes_every_shard(dino, tmp_path):
    from transformers import AutoModel

    sharded = tmp_path / "sharded"
    AutoModel.from_pretrained(str(dino)).save_pretrained(sharded, max_shard_size="100KB")
    shutil.copyfile(dino / "preprocessor_config.json", sharded / "preprocessor_config.json")
    assert len(list(sharded.glob("*.safetensors"))) > 1
    batch = torch.randn(1, 3, 224, 224)
    assert torch.allclose(_encoder(sharded).layer_maps(batch)[0], _encoder(dino).layer_maps(batch)[0])


def _broken(dino, tmp_path, name):
    folder = tmp_path / name
    shutil.copytree(dino, folder)
    return folder


def test_a_bad_folder_is_one_line_saying_what_to_fix(dino, tmp_path):
    cases = {"missing": (tmp_path / "nowhere", MissingWeights, "not found at")}
    no_weights = _broken(dino, tmp_path, "no_weights")
    (no_weights / "model.safetensors").unlink()
    cases["no weights"] = (no_weights, MissingWeights, "no weights")
    truncated = _broken(dino, tmp_path, "truncated")
    (truncated / "model.safetensors").write_bytes((dino / "model.safetensors").read_bytes()[:500])
    cases["truncated"] = (truncated, MissingWeights, "does not load as a DINOv2 model")
    no_processor = _broken(dino, tmp_path, "no_processor")
    (no_processor / "preprocessor_config.json").unlink()
    cases["no processor"] = (no_processor, MissingWeights, "preprocessor_config.json")
    not_vision = _broken(dino, tmp_path, "qwen")
    (not_vision / "config.json").write_text(json.dumps({"model_type": "qwen2_vl"}))
    cases["a VLM"] = (not_vision, ConfigError, "not a vision backbone folder")
    cases["a file"] = (dino / "config.json", MissingWeights, "is a file")
    for what, (path, error, words) in cases.items():
        with pytest.raises(error, match=words) as caught:
            _encoder(path)
        assert "\n" not in str(caught.value), what


def test_weights_of_another_model_are_refused_not_randomly_filled(dino, tmp_path):
    folder = _broken(dino, tmp_path, "renamed")
    from safetensors.torch import load_file, save_file

    weights = load_file(str(folder / "model.safetensors"))
    save_file({f"other.{name}": tensor for name, tensor in weights.items()}, str(folder / "model.safetensors"))
    with pytest.raises(MissingWeights, match="do not match its config.json"):
        _encoder(folder)


@pytest.mark.parametrize("options, words", [
    (dict(layers=(5,)), "not a block of this 4-block model"),
    (dict(layers=(0,)), "not a block"),
    (dict(image_size=230), "not a multiple of the model's patch size 14"),
])
def test_a_layer_or_size_the_model_lacks_is_a_config_error(dino, options, words):
    with pytest.raises(ConfigError, match=words):
        _encoder(dino, **options)


def test_config_takes_block_indices_and_refuses_what_does_not_fit(tmp_path):
    from assistant.config import load_config

    path = tmp_path / "c.yaml"
    path.write_text("retrieval:\n  encoder:\n    name: transformers\n    path: /m\n    layers: [-4, -1]\n"
                    "    pooling: cls\n")
    encoder = load_config(path).retrieval.encoder
    assert encoder.layers == (-4, -1) and encoder.pooling == "cls"
    for text, words in [("name: transformers\n    layers: [layer2]", "transformers takes a list of block indices"),
                        ("name: torchvision\n    layers: [2]", "torchvision takes a list of node names"),
                        ("name: transformers\n    layers: [true]", "expected a list of"),
                        ("pooling: cls", "has none"), ("name: transformers\n    pooling: max", "unknown pooling")]:
        path.write_text(f"retrieval:\n  encoder:\n    {text}\n")
        with pytest.raises(ConfigError, match=f"c.yaml.retrieval.encoder.*{words}"):
            load_config(path)


TOWER = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=224,
             patch_size=16)


def _family_config(kind):
    """Tiny configs of the other families (no real folder of theirs is needed: the loader is generic)."""
    from transformers import CLIPConfig, DINOv3ViTConfig, SiglipVisionConfig

    if kind == "dinov3_vit":
        return DINOv3ViTConfig(**TOWER, num_register_tokens=4)
    if kind == "clip":   # a full CLIP folder (vision + text): its vision tower is used
        return CLIPConfig(vision_config=TOWER, text_config=dict(hidden_size=32, intermediate_size=64, vocab_size=99,
                          num_hidden_layers=1, num_attention_heads=2, bos_token_id=0, eos_token_id=1, pad_token_id=1))
    return SiglipVisionConfig(**TOWER)


@pytest.mark.parametrize("kind, prefix, norm", [("dinov3_vit", 5, "norm"), ("clip", 1, "post_layernorm"),
                                                ("siglip_vision_model", 0, "post_layernorm")])
def test_dinov3_clip_and_siglip_folders_give_their_patch_grid(tmp_path, kind, prefix, norm):
    from transformers import AutoModel, CLIPImageProcessor

    folder = tmp_path / kind
    torch.manual_seed(0)
    AutoModel.from_config(_family_config(kind)).save_pretrained(folder)
    CLIPImageProcessor(image_mean=[0.5, 0.5, 0.5], image_std=[0.25, 0.25, 0.25]).save_pretrained(folder)
    encoder = _encoder(folder, image_size=256, layers=(1, -1))
    assert encoder.mean == (0.5, 0.5, 0.5) and encoder.id.startswith(f"transformers:{kind}@")
    batch = torch.randn(1, 3, 256, 256)
    maps = encoder.layer_maps(batch)
    model = AutoModel.from_pretrained(str(folder)).eval()
    tower = getattr(model, "vision_model", model)
    options = {} if kind == "dinov3_vit" else {"interpolate_pos_encoding": True}
    with torch.no_grad():
        states = tower(pixel_values=batch, output_hidden_states=True, **options).hidden_states
        assert states[-1].shape[1] == prefix + 16 * 16
        expected = getattr(tower, norm)(states[-1])[:, prefix:].transpose(1, 2).reshape(1, 32, 16, 16)
    assert [tuple(m.shape) for m in maps] == [(1, 32, 16, 16)] * 2 and torch.allclose(maps[1], expected, atol=1e-5)
    if prefix == 0:
        with pytest.raises(ConfigError, match="has no class token; use pooling: mean"):
            _encoder(folder, pooling="cls")
