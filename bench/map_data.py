"""Datasets and cached backbone maps for bench/map_quality.py (bench only, not product code).

A dataset is one class of the bench/make_datasets.py layouts: references (train/good), test images,
labels (1 = defect) and masks (textures only). Raw backbone layer maps are cached per dataset and input
size under /tmp so that every pipeline variant runs on identical features.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

CACHE = Path("/tmp/map_quality_cache")
IMAGE_EXT = (".png", ".jpg", ".jpeg", ".tif", ".bmp")


@dataclass
class Dataset:
    name: str
    references: list[Path]
    tests: list[Path]
    labels: np.ndarray             # (T,) 1 = defect
    masks: list[Path | None] | None  # per test image; None when the set has no masks


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXT) if folder.is_dir() else []


def _spread(paths: list, limit: int | None) -> list:
    if not limit or len(paths) <= limit:
        return paths
    return [paths[int(i)] for i in np.linspace(0, len(paths) - 1, limit)]


def elpv(root: Path, name: str, limit: int | None) -> Dataset:
    """ELPV folder layout: CLASS/train/good, CLASS/good, CLASS/defect (limit = at most N of each test kind)."""
    base = root / name
    good, bad = _spread(_images(base / "good"), limit), _spread(_images(base / "defect"), limit)
    return Dataset(name, _images(base / "train" / "good"), good + bad,
                   np.array([0] * len(good) + [1] * len(bad)), None)


def texture(root: Path, name: str) -> Dataset:
    """MVTec layout: CLASS/train/good, CLASS/test/KIND, CLASS/ground_truth/KIND/NNN_mask.png."""
    base = root / name
    tests, labels, masks = [], [], []
    for kind in sorted(p.name for p in (base / "test").iterdir()):
        for path in _images(base / "test" / kind):
            tests.append(path)
            labels.append(int(kind != "good"))
            masks.append(None if kind == "good" else base / "ground_truth" / kind / f"{path.stem}_mask.png")
    return Dataset(name, _images(base / "train" / "good"), tests, np.array(labels), masks)


def datasets(root: Path, limit: int | None) -> list[Dataset]:
    sets = [elpv(root / "elpv", f"solar_cell_{t}", limit) for t in ("mono", "poly")
            if (root / "elpv" / f"solar_cell_{t}").is_dir()]
    return sets + [texture(root / "textures", t) for t in ("brick", "grass", "gravel")
                   if (root / "textures" / t).is_dir()]


def load_rgb(path: Path):
    from PIL import Image

    with Image.open(path) as image:
        return image.convert("RGB")


def load_mask(path: Path | None, size: tuple[int, int]) -> np.ndarray:
    """(H, W) bool mask; all False for a normal image of (width, height) `size`."""
    if path is None:
        return np.zeros((size[1], size[0]), bool)
    return np.asarray(load_rgb(path).convert("L")) > 127


def layer_maps(encoder, paths: list[Path], batch: int = 16):
    """[(N, C_i, H_i, W_i) float16 tensors] for the images at `paths`."""
    import torch

    parts = []
    for start in range(0, len(paths), batch):
        images = [load_rgb(p) for p in paths[start:start + batch]]
        parts.append([m.half() for m in encoder.layer_maps(encoder.to_tensor(images))])
    return [torch.cat([p[i] for p in parts]) for i in range(len(parts[0]))]


def cached_maps(encoder, tag: str, paths: list[Path]):
    """layer_maps(), cached under CACHE by tag (dataset, split, input size) and the list of paths."""
    import hashlib

    import torch

    key = hashlib.sha256("\n".join(map(str, paths)).encode()).hexdigest()[:10]
    file = CACHE / f"{tag}-{encoder.image_size}-{key}.pt"
    if file.is_file():
        return torch.load(file)
    maps = layer_maps(encoder, paths)
    CACHE.mkdir(parents=True, exist_ok=True)
    torch.save(maps, file)
    return maps


def _dihedral(image, index: int):
    from PIL import Image

    ops = (None, Image.FLIP_LEFT_RIGHT, Image.FLIP_TOP_BOTTOM, Image.ROTATE_180,
           Image.ROTATE_90, Image.ROTATE_270, Image.TRANSPOSE, Image.TRANSVERSE)
    return image if ops[index] is None else image.transpose(ops[index])


def reference_maps(encoder, tag: str, paths: list[Path], n_aug: int, batch: int = 16):
    """Layer maps of each reference under `n_aug` dihedral transforms, reference-major, cached."""
    import hashlib

    import torch

    key = hashlib.sha256("\n".join(map(str, paths)).encode()).hexdigest()[:10]
    file = CACHE / f"{tag}-aug{n_aug}-{encoder.image_size}-{key}.pt"
    if file.is_file():
        return torch.load(file)
    items = [(p, t) for p in paths for t in range(n_aug)]
    parts = []
    for start in range(0, len(items), batch):
        images = [_dihedral(load_rgb(p), t) for p, t in items[start:start + batch]]
        parts.append([m.half() for m in encoder.layer_maps(encoder.to_tensor(images))])
    maps = [torch.cat([p[i] for p in parts]) for i in range(len(parts[0]))]
    CACHE.mkdir(parents=True, exist_ok=True)
    torch.save(maps, file)
    return maps
