"""Test tool: tiny labelled datasets in every layout, from real textures with synthetic defects.

Each class: scikit-image texture tiles (96 px), `n_train` training normals, `n_good` normal and
`n_defect` defective test images; defects painted by assistant/demo/synthetic_defect.py, whose exact masks are
written as MVTec-style ground truth. The same images back every layout.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from PIL import Image

from assistant.demo.synthetic_defect import DEFECT_KINDS, add_defect, tiles

TEXTURES = ("brick", "gravel")


def texture_tiles(name: str, size: int = 96) -> list[np.ndarray]:
    import skimage.data

    return tiles(getattr(skimage.data, name)(), size)


def _save(array: np.ndarray, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format="PNG")
    return path


def write_mvtec(root: Path, classes=TEXTURES, n_train: int = 8, n_good: int = 2, n_defect: int = 2) -> Path:
    """ROOT/CLASS/train/good, test/good, test/<kind>, ground_truth/<kind>/NNN_mask.png."""
    rng = np.random.default_rng(3)
    for name in classes:
        parts, cls = texture_tiles(name), Path(root) / name
        for i, tile in enumerate(parts[:n_train]):
            _save(tile, cls / "train" / "good" / f"{i:03d}.png")
        for i, tile in enumerate(parts[n_train:n_train + n_good]):
            _save(tile, cls / "test" / "good" / f"{i:03d}.png")
        for i, tile in enumerate(parts[n_train + n_good:n_train + n_good + n_defect]):
            kind = DEFECT_KINDS[i % len(DEFECT_KINDS)]
            defect, mask = add_defect(tile, kind, rng)
            _save(defect, cls / "test" / kind / f"{i:03d}.png")
            _save(mask.astype(np.uint8) * 255, cls / "ground_truth" / kind / f"{i:03d}_mask.png")
    return Path(root)


def _listing(mvtec: Path) -> list[dict]:
    """Every image of an MVTec tree as {class, split, label, image, mask, type} (paths relative)."""
    rows = []
    for path in sorted(mvtec.glob("*/*/*/*.png")):
        cls, split, kind = path.parts[-4], path.parts[-3], path.parts[-2]
        if split == "ground_truth":
            continue
        mask = mvtec / cls / "ground_truth" / kind / f"{path.stem}_mask.png"
        rows.append({"class": cls, "split": split, "label": int(kind != "good"), "type": kind,
                     "image": str(path.relative_to(mvtec)),
                     "mask": str(mask.relative_to(mvtec)) if mask.is_file() else ""})
    return rows


def write_folder(root: Path, mvtec: Path) -> Path:
    """ROOT/CLASS/train/good, CLASS/good, CLASS/<kind> (+ ground_truth) from an MVTec tree."""
    import shutil

    for row in _listing(mvtec):
        source = mvtec / row["image"]
        target = (root / row["class"] / "train" / "good" if row["split"] == "train"
                  else root / row["class"] / row["type"]) / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
    for cls_dir in mvtec.iterdir():
        if (cls_dir / "ground_truth").is_dir():
            shutil.copytree(cls_dir / "ground_truth", root / cls_dir.name / "ground_truth")
    return Path(root)


def write_visa(mvtec: Path) -> Path:
    """MVTEC/split_csv/1cls.csv (object,split,label,image,mask) over the MVTec tree's own files."""
    table = mvtec / "split_csv" / "1cls.csv"
    table.parent.mkdir(parents=True, exist_ok=True)
    with table.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["object", "split", "label", "image", "mask"])
        for row in _listing(mvtec):
            writer.writerow([row["class"], row["split"], "anomaly" if row["label"] else "normal",
                             row["image"], row["mask"]])
    return mvtec


def write_json(mvtec: Path) -> Path:
    """MVTEC/dataset.json: the source paper's format (correctness 1 normal / 0 anomalous)."""
    items = [{"image": r["image"], "class": r["class"], "correctness": 1 - r["label"], "split": r["split"],
              "defect_type": r["type"], **({"mask": r["mask"]} if r["mask"] else {})} for r in _listing(mvtec)]
    path = mvtec / "dataset.json"
    path.write_text(json.dumps(items, indent=1))
    return path
