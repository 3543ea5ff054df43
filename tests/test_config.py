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
