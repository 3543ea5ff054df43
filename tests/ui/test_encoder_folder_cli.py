"""The CLI with a DINOv2 backbone folder, every run in a subprocess with the network blocked and recorded:
`models check` says what the folder is, its patch grid and feature dims; a broken folder or a bad encoder
config is one line and exit 2; ingest + inspect with the backbone run without trying the network."""

import json

import pytest
from cli_runner import run_guarded_cli
from tiny_encoder_factory import build_dinov2



@pytest.fixture(scope="module")
def dino(tmp_path_factory):
    return build_dinov2(tmp_path_factory.mktemp("cli_dino") / "dinov2-tiny")



def _config(tmp_path, **encoder) -> str:
    path = tmp_path / "dino.yaml"
    path.write_text(json.dumps({"retrieval": {"encoder": {"name": "transformers", **encoder}}}))   # JSON is YAML
    return str(path)


def test_models_check_says_what_the_backbone_folder_is(dino, tmp_path):
    done = run_guarded_cli(tmp_path / "net.log", "models", "check", str(dino))
    assert done.returncode == 0, done.stderr
    assert "DINOv2 (dinov2)" in done.stdout and "patch 14 -> patch grid 16x16" in done.stdout
    assert "block -1 (32) = 32 dims per patch" in done.stdout and "loads" in done.stdout
    config = _config(tmp_path, path=str(dino), layers=[-4, -1], image_size=448, pooling="cls")
    done = run_guarded_cli(tmp_path / "net.log", "--config", config, "models", "check", str(dino), "--json")
    report = json.loads(done.stdout)
    assert report["grid"] == [32, 32] and report["layer_channels"] == [32, 32] and report["feature_dim"] == 64
    assert report["embedding_dim"] == 32 and report["encoder_id"].startswith("transformers:dinov2@")


def _one_error_line(done, *words):
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_a_broken_backbone_folder_is_one_line_and_exit_2(dino, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(dino, broken)
    (broken / "model.safetensors").write_bytes((dino / "model.safetensors").read_bytes()[:300])
    _one_error_line(run_guarded_cli(tmp_path / "net.log", "models", "check", str(broken)), str(broken), "does not load")
    (broken / "model.safetensors").unlink()
    _one_error_line(run_guarded_cli(tmp_path / "net.log", "models", "check", str(broken)), "no weights")


@pytest.mark.parametrize("encoder, words", [
    ({"path": "/nowhere/dinov2"}, ["/nowhere/dinov2", "not found"]),
    ({"name": "dinov9"}, ["retrieval.encoder.name", "unknown image encoder 'dinov9'"]),
    ({"path": "DINO", "layers": [9]}, ["layers: 9 is not a block of this 4-block model"]),
])
def test_a_bad_encoder_config_is_one_line_and_exit_2(dino, tmp_path, texture_set, encoder, words):
    config = _config(tmp_path, **{key: str(dino) if value == "DINO" else value for key, value in encoder.items()})
    done = run_guarded_cli(tmp_path / "net.log", "--home", str(tmp_path / "home"), "--config", config,
                "ingest", str(texture_set / "train"), "--class", "brick")
    _one_error_line(done, *words)


def test_ingest_and_inspect_with_a_dino_backbone_never_try_the_network(dino, tmp_path, texture_set):
    config = _config(tmp_path, path=str(dino), layers=[-4, -1], pooling="cls")
    home = str(tmp_path / "home")
    done = run_guarded_cli(tmp_path / "net.log", "--home", home, "--config", config, "ingest", str(texture_set / "train"),
                "--class", "brick")
    assert done.returncode == 0, done.stderr
    image = sorted((texture_set / "test" / "defect").glob("*.png"))[0]
    done = run_guarded_cli(tmp_path / "net.log", "--home", home, "--config", config, "inspect", str(image), "--class", "brick",
                "--json")
    assert done.returncode == 0, done.stderr
    verdict = json.loads(done.stdout)
    assert verdict["status"] == "vision_only" and len(verdict["references"]) == 8


def test_models_check_finds_the_backbone_in_a_hugging_face_cache_folder(dino, tmp_path):
    import shutil

    from click.testing import CliRunner

    from ui.models_command import models

    cache = tmp_path / "models--facebook--dinov2-small"
    snapshot = cache / "snapshots" / "0123abcd"
    shutil.copytree(dino, snapshot)
    (cache / "refs").mkdir()
    (cache / "refs" / "main").write_text("0123abcd")
    result = CliRunner().invoke(models, ["check", str(cache), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["path"] == str(snapshot) and report["family"] == "DINOv2" and report["grid"] == [16, 16]
