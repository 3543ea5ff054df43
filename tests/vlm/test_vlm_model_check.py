"""`check_model_dir` and `normalcy models check/list`: complete, missing shard, not a model folder."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from assistant.vlm.model_check import check_model_dir, resolve_model_dir, safetensors_header
from retrieval.errors import BadInput, MissingWeights
from ui.models_command import models


@pytest.fixture(scope="module")
def sharded_model(tiny_model_dirs, tmp_path_factory):
    """The tiny Qwen2.5-VL saved as several safetensors shards with an index."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    source = tiny_model_dirs["qwen2_5_vl"]
    folder = tmp_path_factory.mktemp("sharded") / "qwen"
    AutoModelForImageTextToText.from_pretrained(source).save_pretrained(folder, max_shard_size="200KB")
    AutoProcessor.from_pretrained(source).save_pretrained(folder)
    return folder


def test_complete_folder_reports_family_parameters_and_memory(tiny_model_dirs):
    from safetensors import safe_open

    report = check_model_dir(tiny_model_dirs["llava"])
    assert report.complete and not report.missing and report.supported and report.family == "LLaVA-1.5"
    with safe_open(str(tiny_model_dirs["llava"] / "model.safetensors"), "pt") as weights:
        expected = sum(weights.get_tensor(name).numel() for name in weights.keys())
    assert report.n_params == expected and report.weights_dtypes == ["F32"]
    memory = report.memory_bytes
    assert memory["bf16/fp16"] == 2 * expected and memory["int8"] == expected and 0 < memory["nf4"] < expected


def test_sharded_folder_is_complete_and_counts_every_shard(sharded_model):
    report = check_model_dir(sharded_model)
    assert report.complete and len(report.weight_files) >= 2
    headers = [safetensors_header(sharded_model / name) for name in report.weight_files]
    assert all(len(header) > 1 for header in headers) and report.n_params > 0


def test_missing_shard_is_named(sharded_model, tmp_path):
    folder = shutil.copytree(sharded_model, tmp_path / "broken")
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    lost = sorted(set(index["weight_map"].values()))[1]
    (folder / lost).unlink()
    report = check_model_dir(folder)
    assert not report.complete and report.missing == [lost]


def test_non_model_folder_lists_what_a_model_folder_needs(tmp_path):
    (tmp_path / "notes.txt").write_text("not a model")
    report = check_model_dir(tmp_path)
    assert not report.complete and not report.supported and report.n_params is None
    assert report.missing[0] == "config.json"
    assert any("model.safetensors" in m for m in report.missing)
    assert any("tokenizer.json" in m for m in report.missing) and any("chat_template" in m for m in report.missing)


def test_hugging_face_cache_folder_resolves_to_its_snapshot(tiny_model_dirs, tmp_path):
    cache = tmp_path / "models--org--tiny"
    shutil.copytree(tiny_model_dirs["smolvlm"], cache / "snapshots" / "abc123")
    (cache / "refs").mkdir()
    (cache / "refs" / "main").write_text("abc123")
    assert resolve_model_dir(cache) == cache / "snapshots" / "abc123"
    assert check_model_dir(cache).complete


def test_bad_paths_are_typed_one_line_errors(tmp_path):
    with pytest.raises(MissingWeights, match="does not exist"):
        check_model_dir(tmp_path / "missing")
    (tmp_path / "file.bin").write_bytes(b"x")
    with pytest.raises(BadInput, match="is a file"):
        check_model_dir(tmp_path / "file.bin")


def test_models_check_command_human_and_json(tiny_model_dirs):
    runner = CliRunner()
    human = runner.invoke(models, ["check", str(tiny_model_dirs["qwen3_vl"])])
    assert human.exit_code == 0 and "complete" in human.output and "Qwen3-VL" in human.output
    as_json = runner.invoke(models, ["check", "--json", str(tiny_model_dirs["qwen3_vl"])])
    data = json.loads(as_json.output)
    assert data["complete"] is True and data["model_type"] == "qwen3_vl" and data["n_params"] > 0


def test_models_check_incomplete_prints_the_report_then_raises_for_exit_2(tmp_path):
    result = CliRunner().invoke(models, ["check", str(tmp_path)])
    assert "INCOMPLETE" in result.output
    assert isinstance(result.exception, MissingWeights) and result.exception.exit_code == 2
    missing = CliRunner().invoke(models, ["check", str(tmp_path / "nope")])
    assert isinstance(missing.exception, MissingWeights) and "does not exist" in str(missing.exception)


def test_models_list_shows_every_preset_and_whether_its_folder_exists():
    from assistant.vlm.preset import preset_files

    result = CliRunner().invoke(models, ["list", "--json"])
    rows = json.loads(result.output)
    assert [row["name"] for row in rows] == list(preset_files())
    assert all(isinstance(row["exists"], bool) for row in rows)


def test_model_check_does_not_import_torch():
    import subprocess
    import sys

    code = "import ui.models_command, assistant.vlm.backend, assistant.reasoning.prompt_builder, assistant.reasoning.conversation, sys; " \
           "print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
