"""The modality registry: by extension, by name, clashes refused (assistant.modalities.rendering)."""

from dataclasses import dataclass

import pytest

from assistant.modalities import rendering
from retrieval.errors import BadInput


@dataclass
class _Fake:
    name: str
    suffixes: tuple

    def read(self, path):
        return path

    def profile(self, raws):
        return {}

    def render(self, raw, profile):
        raise NotImplementedError


def test_a_modality_is_found_by_extension_or_name_and_an_image_is_none(monkeypatch):
    monkeypatch.setattr(rendering, "_REGISTRY", {})
    rendering.register(_Fake("thing", (".thg",)))
    assert rendering.modality_for("a/B.THG").name == "thing"
    assert rendering.modality_for("a/b.png") is None
    assert rendering.modality_for("a/b.png", "thing").name == "thing"
    assert rendering.modality_for("a/b.thg", "image") is None
    with pytest.raises(BadInput, match="unknown modality 'sound'"):
        rendering.modality_for("a/b.wav", "sound")
    with pytest.raises(ValueError, match="both claim"):
        rendering.register(_Fake("other", (".thg",)))
