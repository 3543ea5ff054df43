"""Model presets: every shipped YAML loads; presets are data; resolution of names and folders."""

from __future__ import annotations

import pytest

from assistant.config import VLMConfig
from assistant.vlm.backend import BACKENDS, load_backend, resolve_preset
from assistant.vlm.preset import all_presets, load_preset_file, preset_files
from retrieval.errors import ConfigError

EXPECTED = {"qwen2.5-vl-7b", "qwen2-vl-2b", "qwen3-vl-4b", "llava-1.5-7b", "llava-next-7b",
            "llava-onevision-0.5b", "smolvlm-256m", "smolvlm-2.2b", "openai-server"}


def test_every_shipped_preset_loads_and_names_a_known_backend():
    presets = all_presets()
    assert {p.name for p in presets} == EXPECTED
    for preset in presets:
        assert preset.backend in BACKENDS and preset.description
        if preset.backend == "transformers":
            assert preset.path and preset.path.startswith("~/.normalcy/models/")
        else:
            assert preset.url and preset.api_model


def test_recommended_default_is_qwen25_7b_in_4bit():
    preset = load_preset_file(preset_files()["qwen2.5-vl-7b"])
    assert (preset.quantization, preset.device_map) == ("4bit", "auto")


def test_unknown_keys_and_bad_values_are_config_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("backend: transformers\npath: /x\nquantisation: 4bit\n")
    with pytest.raises(ConfigError, match="unknown key.*quantisation"):
        load_preset_file(bad)
    bad.write_text("path: /x\nquantization: 3bit\n")
    with pytest.raises(ConfigError, match="3bit"):
        load_preset_file(bad)


def test_a_directory_spec_becomes_a_default_transformers_preset(tiny_model_dirs):
    preset = resolve_preset(str(tiny_model_dirs["idefics3"]))
    assert preset.backend == "transformers" and preset.name == "idefics3"


def test_config_overrides_win_over_the_preset():
    preset = resolve_preset("qwen2.5-vl-7b", VLMConfig(path="/data/qwen", max_new_tokens=99))
    assert (preset.path, preset.max_new_tokens, preset.quantization) == ("/data/qwen", 99, "4bit")


def test_load_backend_errors_are_actionable(tmp_path):
    with pytest.raises(ConfigError, match="no VLM configured"):
        load_backend(None, VLMConfig())
    with pytest.raises(ConfigError, match="neither a preset.*qwen2.5-vl-7b"):
        load_backend("gpt-5-vision")


def test_load_backend_builds_the_transformers_backend_from_a_folder(tiny_model_dirs):
    backend = load_backend(None, VLMConfig(model=str(tiny_model_dirs["smolvlm"])))
    assert backend.family.model_type == "smolvlm" and backend.name == "smolvlm"


def test_load_backend_builds_the_openai_backend_from_its_preset():
    backend = load_backend("openai-server", VLMConfig(url="http://10.0.0.5:8000/v1"))
    assert backend.endpoint == "http://10.0.0.5:8000/v1/chat/completions"
