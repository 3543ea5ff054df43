"""A DINOv2 backbone end to end: ingest and inspect through the real Inspector (vision-only, Chroma on
disk, the feature cache) on real brick tiles, with a random DINOv2 built from the real dinov2-small
config; the store refuses a home built with another backbone, including another DINOv2's weights."""

import numpy as np
import pytest
from tiny_encoder_factory import build_dinov2

from retrieval.errors import EncoderMismatch


@pytest.fixture(scope="module")
def dino_folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("dino_backbones")
    return build_dinov2(root / "a", seed=0), build_dinov2(root / "b", seed=1)


def _inspector(home, folder=None, layers=(-4, -1), pooling="cls"):
    from assistant.config import NormalcyConfig
    from assistant.home import Home
    from assistant.inspector import Inspector
    from retrieval.config import EncoderConfig, RetrievalConfig

    encoder = EncoderConfig(name="transformers", path=str(folder), layers=layers, pooling=pooling) if folder \
        else EncoderConfig()
    return Inspector(NormalcyConfig(retrieval=RetrievalConfig(encoder=encoder)), Home(home))


def _ingest(inspector, texture_set):
    from assistant.records.ingestion import images_in

    return inspector.references.ingest([("brick", p) for p in images_in(texture_set / "train")])


@pytest.fixture(scope="module")
def dino_home(dino_folders, texture_set, tmp_path_factory):
    home = tmp_path_factory.mktemp("dino_home")
    report = _ingest(_inspector(home, dino_folders[0]), texture_set)
    assert report.added == {"brick": 14}
    return home


def test_ingest_caches_patch_features_on_the_dino_grid_under_its_id(dino_home, dino_folders):
    inspector = _inspector(dino_home, dino_folders[0])
    encoder_id = inspector.workspace.encoder.id
    folders = [p for p in (dino_home / "features").iterdir() if p.is_dir()]
    assert len(folders) == 1 and folders[0].name.startswith("transformers_dinov2@" + encoder_id.split("@")[1][:12])
    from retrieval.feature_codec import decode

    cached = [decode(p.read_bytes())[0] for p in sorted(folders[0].glob("*/*.nrf"))]
    assert len(cached) == 14 and {(c.bank.shape[1], c.grid_shape) for c in cached} == {(64, (16, 16))}  # 2 x 32


def test_inspect_runs_on_dino_features_and_finds_the_image_itself(dino_home, dino_folders, texture_set):
    inspector = _inspector(dino_home, dino_folders[0])
    reference = sorted((texture_set / "train").glob("*.png"))[3]
    itself = inspector.inspect(reference, "brick", log=False)
    assert itself.verdict.status == "vision_only"
    nearest = itself.evidence.references[0]
    assert nearest.path.endswith(reference.name) and nearest.distance < 1e-4    # CLS embedding of itself
    assert itself.evidence.grid.shape == (16, 16)        # its own bank is a 20 % coreset: not 0, but lowest
    defect = sorted((texture_set / "test" / "defect").glob("*.png"))[0]
    other = inspector.inspect(defect, "brick", log=False)
    assert other.evidence.grid.shape == (16, 16) and np.isfinite(other.verdict.anomaly_score)
    assert other.evidence.map_score > itself.evidence.map_score
    assert len(other.evidence.references) == inspector.config.retrieval.map.k


def test_mean_pooling_retrieves_by_the_patch_features_mean(dino_folders, texture_set, tmp_path):
    inspector = _inspector(tmp_path / "home", dino_folders[0], layers=(-1,), pooling="mean")
    _ingest(inspector, texture_set)
    reference = sorted((texture_set / "train").glob("*.png"))[5]
    nearest = inspector.inspect(reference, "brick", log=False).evidence.references[0]
    assert nearest.path.endswith(reference.name) and nearest.distance < 1e-4


@pytest.mark.parametrize("other", ["another DINOv2's weights", "the embedded EfficientNet", "other layers"])
def test_a_home_built_with_one_backbone_refuses_another(dino_home, dino_folders, texture_set, other):
    inspector = {"another DINOv2's weights": lambda: _inspector(dino_home, dino_folders[1]),
                 "the embedded EfficientNet": lambda: _inspector(dino_home),
                 "other layers": lambda: _inspector(dino_home, dino_folders[0], layers=(-1,))}[other]()
    image = sorted((texture_set / "test" / "good").glob("*.png"))[0]
    with pytest.raises(EncoderMismatch, match="was built with encoder transformers:dinov2@"):
        inspector.inspect(image, "brick", log=False)


def test_a_dino_inspector_refuses_a_home_built_with_efficientnet(ready_home, dino_folders, texture_set):
    image = sorted((texture_set / "test" / "good").glob("*.png"))[0]
    with pytest.raises(EncoderMismatch, match="built with encoder efficientnet-lite0@.*configured encoder is "
                                              "transformers:dinov2@"):
        _inspector(ready_home.root, dino_folders[0]).inspect(image, "brick", log=False)
