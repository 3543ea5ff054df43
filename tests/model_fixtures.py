"""Fixtures of the model tests (tests/vlm/, tests/reasoning/): tiny random models of every family, built
once per test session. A pytest plugin, loaded by the root conftest, so both folders share one build.

`tiny_model_dirs` builds each family from config into a temp folder (~0.1 s each);
`tiny_backend(family)` loads one through the real loader (`TransformersBackend.load`), cached.
"""

from __future__ import annotations

import retrieval.offline  # noqa: F401  (offline switches before transformers is imported)

import pytest
from tiny_vlm_factory import BUILDERS, build
from vlm_test_images import solid

FAMILIES = list(BUILDERS)


MODEL_TEST_FOLDERS = {"vlm", "reasoning"}


@pytest.fixture(autouse=True)
def one_torch_thread(request):
    """Tiny models run fastest on one thread; with two threads on a busy 2-core machine, OpenMP
    spin-waits make each token 20-40x slower. Model tests only; restored after each test."""
    if not MODEL_TEST_FOLDERS & set(request.path.parts):
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def guided():
    """Guided decoding needs xgrammar (a declared dependency); without it these tests skip, saying why."""
    pytest.importorskip("xgrammar", reason="guided decoding needs xgrammar==0.2.8 (pip install xgrammar==0.2.8)")


@pytest.fixture(scope="session")
def tiny_model_dirs(tmp_path_factory):
    """family → folder with a complete tiny model (config, safetensors, processor, tokenizer, template)."""
    root = tmp_path_factory.mktemp("tiny_vlms")
    return {family: build(family, root / family) for family in FAMILIES}


@pytest.fixture(scope="session")
def tiny_backend(tiny_model_dirs):
    """Callable family → loaded `TransformersBackend` (fp32 on CPU), loaded once per session."""
    from assistant.vlm.preset import ModelPreset
    from assistant.vlm.transformers_backend import TransformersBackend

    cache = {}

    def load(family: str):
        if family not in cache:
            preset = ModelPreset(name=f"tiny-{family}", path=str(tiny_model_dirs[family]), dtype="float32",
                                 device_map="cpu", max_new_tokens=64, max_pixels=128 * 128)
            cache[family] = TransformersBackend.load(preset)
        return cache[family]

    return load


@pytest.fixture
def images():
    """A query, two references and an overlay, distinguishable by colour."""
    return {"query": solid((200, 30, 30)), "references": [solid((30, 200, 30)), solid((30, 30, 200))],
            "overlay": solid((250, 250, 0))}


@pytest.fixture(scope="session")
def real_model_dir(tmp_path_factory):
    """Callable family → folder with a tiny random model built from the family's REAL config and real
    processor files (tests/real_vlm_factory.py), built on first use; skips when the files are absent."""
    from real_vlm_factory import build_real, missing_reason

    root = tmp_path_factory.mktemp("real_vlms")
    built = {}

    def folder(family: str):
        reason = missing_reason(family)
        if reason:
            pytest.skip(reason)
        if family not in built:
            built[family] = build_real(family, root / family)
        return built[family]

    return folder


@pytest.fixture(scope="session")
def real_backend(real_model_dir):
    """Callable family → `TransformersBackend` loaded from `real_model_dir(family)` with the folder's own
    pixel limits (no preset overrides: the real processor decides the image token count)."""
    from assistant.vlm.preset import ModelPreset
    from assistant.vlm.transformers_backend import TransformersBackend

    cache = {}

    def load(family: str):
        if family not in cache:
            preset = ModelPreset(name=f"real-{family}", path=str(real_model_dir(family)), dtype="float32",
                                 device_map="cpu", max_new_tokens=64)
            cache[family] = TransformersBackend.load(preset)
        return cache[family]

    return load
