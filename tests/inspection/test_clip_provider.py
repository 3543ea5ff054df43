"""Text-map provider "clip": a checkpoint folder named in the config switches the text map to CLIP, loaded
once per workspace, locally (the network blocked and recorded), and a missing one is one line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tiny_clip_factory import build_open_clip

from assistant.config import load_config
from assistant.home import Home
from assistant.inspection.text_spaces import text_space_for
from assistant.workspace import Workspace
from retrieval.errors import MissingWeights
from retrieval.text_space.clip_space import ClipTextSpace

GUARD = Path(__file__).resolve().parent.parent / "network_guard.py"


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory):
    return build_open_clip(tmp_path_factory.mktemp("clip") / "ViT-B-16-tiny")


def config_file(tmp_path, **text_map) -> Path:
    path = tmp_path / "clip.yaml"
    path.write_text(json.dumps({"retrieval": {"text_map": {"provider": "clip", **text_map}}}))   # JSON is YAML
    return path


def workspace(tmp_path, **text_map) -> Workspace:
    return Workspace(load_config(config_file(tmp_path, **text_map)), Home(tmp_path / "home"))


def test_a_checkpoint_in_the_config_gives_every_class_the_clip_space_loaded_once(tmp_path, clip_folder):
    opened = workspace(tmp_path, path=str(clip_folder))
    space = text_space_for(opened, "brick")
    assert isinstance(space, ClipTextSpace) and space.id.startswith("clip:ViT-B-16-tiny@")
    assert text_space_for(opened, "metal_nut") is space
    assert text_space_for(workspace(tmp_path, path=str(clip_folder)), "brick") is not space   # per workspace


def test_the_text_features_are_embedded_once_per_home(tmp_path, clip_folder):
    (tmp_path / "home").mkdir()
    texts = ["a photo of a flawless brick.", "a photo of a damaged brick."]
    first = text_space_for(workspace(tmp_path, path=str(clip_folder)), "brick").text_embeddings(texts)
    stored = list((tmp_path / "home").rglob("*.text.npz"))
    assert len(stored) == 1 and stored[0].name.startswith("ViT-B-16-tiny@")
    again = text_space_for(workspace(tmp_path, path=str(clip_folder)), "brick")
    again.encoder.encode_texts = None                       # read back from the home, not embedded again
    assert torch.equal(again.text_embeddings(texts), first)


def test_a_missing_checkpoint_is_one_line_saying_what_to_put_where(tmp_path):
    with pytest.raises(MissingWeights) as missing:
        text_space_for(workspace(tmp_path, path=str(tmp_path / "models" / "clip")), "brick")
    line = str(missing.value)
    assert "\n" not in line and str(tmp_path / "models" / "clip") in line and "open_clip_config.json" in line


SCRIPT = """
import sys
from PIL import Image
from assistant.config import load_config
from assistant.home import Home
from assistant.inspection.text_spaces import text_space_for
from assistant.workspace import Workspace
from retrieval.text_space.clip_maps import few_shot_map, zero_shot_map
from retrieval.text_space.prompts import class_prompts

config, image = sys.argv[-2:]                     # after the guard's own LOGFILE SCRIPT.py
space = text_space_for(Workspace(load_config(config), Home(config + ".home")), "brick")
picture = Image.open(image).convert("RGB")
prompts = class_prompts("brick")
print(space.id, zero_shot_map(space, picture, prompts.normal, prompts.abnormal).shape,
      float(few_shot_map(space, picture, [picture]).max()))
"""


def test_the_clip_space_loads_and_maps_with_the_network_blocked(tmp_path, clip_folder, texture_set):
    script = tmp_path / "clip_maps.py"
    script.write_text(SCRIPT)
    image = sorted((texture_set / "train").glob("*.png"))[0]
    log = tmp_path / "net.log"
    done = subprocess.run([sys.executable, str(GUARD), str(log), str(script),
                           str(config_file(tmp_path, path=str(clip_folder))), str(image)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert not log.exists(), f"network attempts: {log.read_text()}"
    words = done.stdout.split()
    assert words[0].startswith("clip:ViT-B-16-tiny@") and "(14, 14)" in done.stdout and float(words[-1]) < 1e-4
