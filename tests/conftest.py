"""Shared fixtures: offline switches, a temp data home, real textures with synthetic defects.

Tests never touch ~/.normalcy: every test gets its own data home under tmp_path.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import retrieval.offline  # noqa: F401  (offline before anything heavy is imported)

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

pytest_plugins = ["model_fixtures"]   # tiny VLMs for tests/vlm and tests/reasoning


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("NORMALCY_HOME", str(tmp_path / "home"))


def brick_tiles(size: int = 96) -> list[np.ndarray]:
    """Real texture (scikit-image's brick photo) cut into (size, size, 3) uint8 tiles."""
    import skimage.data

    from assistant.demo.synthetic_defect import tiles

    return tiles(skimage.data.brick(), size)


@pytest.fixture(scope="session")
def texture_set(tmp_path_factory):
    """Folders of a real texture: train/ (normal references), test/good, test/defect (+ masks as .npy)."""
    from PIL import Image

    from assistant.demo.synthetic_defect import DEFECT_KINDS, add_defect

    root = tmp_path_factory.mktemp("texture_set")
    parts = brick_tiles()
    rng = np.random.default_rng(7)
    for sub in ("train", "test/good", "test/defect"):
        (root / sub).mkdir(parents=True)
    for i, tile in enumerate(parts[:14]):
        Image.fromarray(tile).save(root / "train" / f"ref_{i:02d}.png")
    for i, tile in enumerate(parts[14:17]):
        Image.fromarray(tile).save(root / "test" / "good" / f"good_{i}.png")
    for i, tile in enumerate(parts[17:23]):
        defect, mask = add_defect(tile, DEFECT_KINDS[i % len(DEFECT_KINDS)], rng)
        Image.fromarray(defect).save(root / "test" / "defect" / f"defect_{i}.png")
        np.save(root / "test" / "defect" / f"defect_{i}.npy", mask)
    return root


@pytest.fixture()
def home_copy(tmp_path, ready_home):
    """A private copy of ready_home's folder, for tests that damage or write to it."""
    import shutil

    home = tmp_path / "home_copy"
    shutil.copytree(ready_home.root, home)
    return home


@pytest.fixture(scope="session")
def ready_home(tmp_path_factory, texture_set):
    """A data home with class `brick` ingested from texture_set/train (built once, treat as read-only)."""
    from assistant.config import NormalcyConfig
    from assistant.home import Home
    from assistant.records.ingestion import images_in
    from assistant.inspector import Inspector

    home = Home(tmp_path_factory.mktemp("ready_home"))
    inspector = Inspector(NormalcyConfig(), home)
    inspector.references.ingest([("brick", p) for p in images_in(texture_set / "train")])
    return home


@pytest.fixture(scope="session")
def inspector(ready_home):
    """An Inspector over ready_home (weights loaded once per test session)."""
    from assistant.config import NormalcyConfig
    from assistant.inspector import Inspector

    return Inspector(NormalcyConfig(), ready_home)
