"""Configuration: every shipped YAML loads, unknown keys and wrong types are refused with the key named."""

from pathlib import Path

import pytest

from assistant.config import NormalcyConfig, load_config
from retrieval.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("path", sorted((REPO / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_loads(path):
    assert isinstance(load_config(path), NormalcyConfig)


def test_default_yaml_spells_out_the_code_defaults():
    assert load_config(REPO / "configs" / "default.yaml") == NormalcyConfig()


def test_unknown_key_is_an_error_naming_it(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("retrieval:\n  map:\n    kk: 3\n")
    with pytest.raises(ConfigError, match=r"c.yaml.retrieval.map: unknown key\(s\) kk"):
        load_config(path)


def test_wrong_type_is_an_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("retrieval:\n  map:\n    k: eight\n")
    with pytest.raises(ConfigError, match="retrieval.map.k: expected int"):
        load_config(path)


def test_overrides_merge_over_defaults(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("retrieval:\n  map:\n    k: 4\n  encoder:\n    layers: [layer1, layer2]\n")
    config = load_config(path)
    assert config.retrieval.map.k == 4 and config.retrieval.map.sigma == 1.0
    assert config.retrieval.encoder.layers == ("layer1", "layer2")
    assert config.hash() != NormalcyConfig().hash()


@pytest.mark.parametrize("yaml_text, key", [
    ("retrieval:\n  calibration:\n    z: .nan\n", "retrieval.calibration.z"),
    ("retrieval:\n  calibration:\n    z: .inf\n", "retrieval.calibration.z"),
    ("retrieval:\n  calibration:\n    max_references: 0\n", "retrieval.calibration.max_references"),
    ("retrieval:\n  map:\n    k: 0\n", "retrieval.map.k"),
    ("retrieval:\n  map:\n    k: -1\n", "retrieval.map.k"),
    ("retrieval:\n  map:\n    top_fraction: 5\n", "retrieval.map.top_fraction"),
    ("retrieval:\n  map:\n    sigma: -3\n", "retrieval.map.sigma"),
    ("retrieval:\n  map:\n    window: -1\n", "retrieval.map.window"),
    ("retrieval:\n  map:\n    window: 2.5\n", "retrieval.map.window"),
    ("retrieval:\n  map:\n    window: 2\n", "retrieval.map.window"),        # needs whole grids: coreset 1.0
    ("retrieval:\n  map:\n    sigma: .nan\n", "retrieval.map.sigma"),
    ("retrieval:\n  map:\n    neighbourhood: 0\n", "retrieval.map.neighbourhood"),
    ("retrieval:\n  encoder:\n    image_size: 0\n", "retrieval.encoder.image_size"),
    ("retrieval:\n  encoder:\n    name: dinov9\n", "retrieval.encoder.name"),
    ("retrieval:\n  rules_top_n: -2\n", "retrieval.rules_top_n"),
    ("retrieval:\n  text_map:\n    normality_temperature: 0\n", "retrieval.text_map.normality_temperature"),
    ("vlm:\n  strategy: bogus\n", "vlm.strategy"),
    ("vlm:\n  overlay_style: bogus\n", "vlm.overlay_style"),
    ("vlm:\n  fusion_weight: .nan\n", "vlm.fusion_weight"),
    ("inputs:\n  max_pixels: -5\n", "inputs.max_pixels"),
    ("inputs:\n  max_seconds: 0\n", "inputs.max_seconds"),
])
def test_bad_values_are_refused_at_load_naming_the_key(tmp_path, yaml_text, key):
    path = tmp_path / "c.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError, match=f"c.yaml.{key}: ") as caught:
        load_config(path)
    assert "\n" not in str(caught.value)


def test_the_config_name_lists_match_the_registries():
    from assistant.config import OVERLAY_STYLES, STRATEGY_NAMES
    from assistant.reasoning.prompt_builder import STRATEGIES
    from retrieval.config import ENCODER_NAMES
    from retrieval.encoders.image_encoder import ENCODERS
    from retrieval.overlay import STYLES

    assert STRATEGY_NAMES == tuple(STRATEGIES) and OVERLAY_STYLES == STYLES
    assert ENCODER_NAMES == tuple(ENCODERS)


def test_a_bad_config_exits_2_in_one_line_and_writes_nothing(tmp_path, ready_home, texture_set):
    import shutil

    from cli_runner import run_cli

    home = tmp_path / "home_copy"
    shutil.copytree(ready_home.root, home)
    before = (home / "calibration.json").read_bytes()
    path = tmp_path / "c.yaml"
    path.write_text("retrieval:\n  map:\n    k: -1\n")
    image = sorted((texture_set / "test" / "good").glob("*.png"))[0]
    done = run_cli("--home", str(home), "--config", str(path), "inspect", str(image), "--class", "brick", "--json")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().count("\n") == 0 and "retrieval.map.k" in done.stderr
    assert (home / "calibration.json").read_bytes() == before
