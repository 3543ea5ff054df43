"""`normalcy models check` on an open_clip checkpoint folder, in a subprocess with the network blocked and
recorded: it loads as the CLIP text map would and says what it is; a broken folder is one line, exit 2."""

import json
import shutil

import pytest
from cli_runner import run_guarded_cli
from tiny_clip_factory import build_open_clip



@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory):
    return build_open_clip(tmp_path_factory.mktemp("cli_clip") / "ViT-B-16-tiny")



def test_models_check_says_what_the_clip_folder_is(clip_folder, tmp_path):
    done = run_guarded_cli(tmp_path / "net.log", "models", "check", str(clip_folder))
    assert done.returncode == 0, done.stderr
    assert "open_clip checkpoint, loads" in done.stdout and "patch 16 -> patch grid 14x14" in done.stdout
    assert "32 dims, patch tokens of blocks 1, 2, 3, 4" in done.stdout
    assert f"retrieval.text_map: {{provider: clip, path: {clip_folder.resolve()}}}" in done.stdout
    report = json.loads(run_guarded_cli(tmp_path / "net.log", "models", "check", str(clip_folder), "--json").stdout)
    assert report["grid"] == [14, 14] and report["dim"] == 32 and report["arch"] == "ViT-B-16-tiny"
    assert report["space_id"].startswith("clip:ViT-B-16-tiny@") and report["n_params"] > 0


def test_a_broken_clip_folder_is_one_line_and_exit_2(clip_folder, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(clip_folder, broken)
    weights = broken / "open_clip_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:300])
    done = run_guarded_cli(tmp_path / "net.log", "models", "check", str(broken))
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(broken) in lines[0], done.stderr
    assert "does not load" in lines[0]
