"""Score maps of an evaluation, kept for the pixel metrics: DIR/maps/CONFIG_HASH/SHA256.npy.

What is kept is the evidence's grid in anomaly-score units, `evidence.grid / evidence.threshold`
((h, w) float32, a few KB), so a resumed run needs no re-inspection. Resized bilinearly to a mask's
(H, W) it is exactly `evidence.score_map` when the mask has the image's size — and it is always resized
to the mask's size, so every map matches its mask's shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from assistant.evaluation.pixel_metrics import pixel_metrics
from retrieval.atomic_file import npy_bytes, write_bytes

NO_PIXEL_METRICS = {"pixel_auroc": None, "aupro": None, "pixel_method": None,
                    "pixel_auroc_max_error": None, "aupro_max_error": None}


class MapCache:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def path(self, config: str, sha256: str) -> Path:
        return self.folder / config / f"{sha256}.npy"

    def __contains__(self, item: tuple[str, str]) -> bool:
        return self.path(*item).is_file()

    def put(self, config: str, sha256: str, evidence) -> None:
        """Keep the evidence's map (written atomically)."""
        write_bytes(self.path(config, sha256), npy_bytes((evidence.grid / evidence.threshold).astype(np.float32)))

    def at_size(self, config: str, sha256: str, height: int, width: int) -> np.ndarray:
        """(height, width) float32 map in anomaly-score units."""
        from retrieval.anomaly_map import upsample

        return upsample(np.load(self.path(config, sha256)), height, width)


def needs_maps(samples: Sequence) -> bool:
    """Pixel metrics are defined for a class when at least one of its defects has a mask."""
    return any(s.label == 1 and s.mask_path is not None for s in samples)


def read_mask(path: Path) -> np.ndarray:
    """(H, W) bool: pixels > 0 of the mask image are defect."""
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("L")) > 0


def _blank_mask(image_path: Path) -> np.ndarray:
    """(H, W) all-False mask at the image's size (good test images have no mask file)."""
    from PIL import Image

    with Image.open(image_path) as image:
        width, height = image.size
    return np.zeros((height, width), dtype=bool)


def class_pixel_metrics(samples: Sequence, shas: Mapping, cache: MapCache, config: str) -> dict:
    """Pixel AUROC and AUPRO of one class over its good images and its defects that have a mask (a
    defect without a mask cannot be scored per pixel and is left out); all None without masks."""
    if not needs_maps(samples):
        return dict(NO_PIXEL_METRICS)
    maps, masks = [], []
    for sample in samples:
        if sample.label == 1 and sample.mask_path is None:
            continue
        mask = read_mask(sample.mask_path) if sample.mask_path else _blank_mask(sample.path)
        maps.append(cache.at_size(config, shas[sample], *mask.shape))
        masks.append(mask)
    return pixel_metrics(maps, masks)
