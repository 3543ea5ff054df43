"""The text-map provider lookup: off by default, a registered factory per name, a clear error otherwise."""

from types import SimpleNamespace

import pytest

from assistant.config import NormalcyConfig
from assistant.inspection import text_spaces
from retrieval.config import RetrievalConfig, TextMapConfig
from retrieval.errors import ConfigError


def workspace(provider: str, **extra):
    config = NormalcyConfig(retrieval=RetrievalConfig(text_map=TextMapConfig(provider=provider, **extra)))
    return SimpleNamespace(config=config)


def test_no_text_map_by_default():
    assert text_spaces.text_space_for(SimpleNamespace(config=NormalcyConfig()), "brick") is None


def test_a_registered_provider_builds_the_class_space(monkeypatch):
    monkeypatch.setattr(text_spaces, "PROVIDERS", {})
    text_spaces.provider("clad")(lambda ws, name: ("space of", name))
    assert text_spaces.text_space_for(workspace("clad"), "brick") == ("space of", "brick")


def test_a_provider_not_installed_is_one_line(monkeypatch):
    monkeypatch.setattr(text_spaces, "PROVIDERS", {})
    with pytest.raises(ConfigError, match="not available"):
        text_spaces.text_space_for(workspace("clad"), "brick")


@pytest.mark.parametrize("settings, message", [({"provider": "siglip"}, "unknown text-map provider"),
                                               ({"provider": "clip"}, "set its path"),
                                               ({"weight": 1.5}, "weight")])
def test_bad_text_map_settings_are_refused(settings, message):
    with pytest.raises(ConfigError, match=message):
        TextMapConfig(**settings)
