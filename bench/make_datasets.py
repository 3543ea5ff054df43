"""Benchmark datasets for `normalcy eval`, from data that installs from PyPI (nothing is downloaded).

    .venv/bin/python bench/make_datasets.py OUT [--elpv-types mono,poly] [--defects likely|certain|any]
                                               [--tile 64] [--seed 0] [--symlink]

(a) OUT/elpv — ELPV (PyPI `elpv-dataset`: 2,624 real electroluminescence images of solar cells, 300x300,
    each labelled by experts with a defect probability 0, 1/3, 2/3 or 1), in the `folder` layout, one class
    per cell type (`solar_cell_mono`; `solar_cell_poly` with --elpv-types mono,poly):
      CLASS/train/good  a seeded half of the normal cells (probability 0): the references
      CLASS/good        the other half of the normal cells: normal test images
      CLASS/defect      the defective cells: --defects likely (default) = probability >= 2/3 (the
                        annotators' "probably" and "certainly" defective), certain = 1 only, any = > 0.
    Cells of probability 1/3 are left out by default (neither clearly normal nor clearly defective).
    Image-level labels only: no masks, so no pixel metrics. LICENCE: CC BY-NC-SA 4.0 (non-commercial).
(b) OUT/textures — scikit-image's real brick, grass and gravel photographs cut into --tile px tiles, in
    the `mvtec` layout: the upper half of each photograph gives CLASS/train/good, the lower half the test
    tiles — half kept as CLASS/test/good, half with a synthetic defect (assistant/demo/synthetic_defect.py: scratch,
    stain, missing) in CLASS/test/<kind> with its exact mask in CLASS/ground_truth/<kind>/NNN_mask.png.
    Train and test tiles never overlap.

Then, e.g.:  normalcy eval OUT/elpv --layout folder --out runs/elpv
             normalcy eval OUT/textures --layout mvtec --out runs/textures
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
from pathlib import Path

import numpy as np

ELPV_NOTICE = ("ELPV dataset (Buerhop-Lutz et al. 2018; Deitsch et al. 2019), PyPI `elpv-dataset`: licensed "
               "CC BY-NC-SA 4.0 - attribution, non-commercial use only, share alike. Do not use these images "
               "or results derived from them commercially.")
DEFECT_RULES = {"likely": lambda p: p >= 2 / 3 - 1e-9, "certain": lambda p: p >= 1.0 - 1e-9, "any": lambda p: p > 0}
TEXTURES = ("brick", "grass", "gravel")


def elpv_labels() -> list[tuple[Path, float, str]]:
    """(image path, defect probability, cell type) of every ELPV cell."""
    import elpv_dataset

    data = Path(elpv_dataset.__file__).parent / "data"
    rows = []
    for line in (data / "labels.csv").read_text().splitlines():
        name, probability, cell_type = line.split()
        rows.append((data / name, float(probability), cell_type))
    return rows


def seeded_halves(paths: list[Path], seed: int) -> tuple[list[Path], list[Path]]:
    """Paths ordered by sha256(f"{seed}:{name}") → (first half, second half)."""
    ordered = sorted(paths, key=lambda p: hashlib.sha256(f"{seed}:{p.name}".encode()).hexdigest())
    half = len(ordered) // 2
    return ordered[:half], ordered[half:]


def place(source: Path, target: Path, symlink: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if symlink:
        target.symlink_to(source.resolve())
    else:
        shutil.copyfile(source, target)


def write_elpv(out: Path, cell_types: list[str], defects: str, seed: int, symlink: bool) -> dict:
    """The ELPV folder layout under `out` → {class: {"train/good": n, "good": n, "defect": n}}."""
    rows, counts = elpv_labels(), {}
    for cell_type in cell_types:
        name = f"solar_cell_{cell_type}"
        shutil.rmtree(out / name, ignore_errors=True)
        normal = sorted(p for p, prob, t in rows if t == cell_type and prob == 0.0)
        defective = sorted(p for p, prob, t in rows if t == cell_type and DEFECT_RULES[defects](prob))
        references, test_good = seeded_halves(normal, seed)
        split = {"train/good": references, "good": test_good, "defect": defective}
        for folder, paths in split.items():
            for path in paths:
                place(path, out / name / folder / path.name, symlink)
        counts[name] = {folder: len(paths) for folder, paths in split.items()}
    (out / "NOTICE.txt").write_text(ELPV_NOTICE + "\n")
    return counts


def write_textures(out: Path, tile: int, seed: int) -> dict:
    """The texture MVTec layout under `out` → {class: {"train": n, "test/good": n, "test/<kind>": n}}."""
    import skimage.data

    from assistant.demo.synthetic_defect import DEFECT_KINDS, add_defect, tiles

    rng, counts = np.random.default_rng(seed), {}
    for name in TEXTURES:
        photo = getattr(skimage.data, name)()
        half = (photo.shape[0] // 2 // tile) * tile
        train, test = tiles(photo[:half], tile), tiles(photo[half:], tile)
        shutil.rmtree(out / name, ignore_errors=True)
        counts[name] = {"train/good": len(train)}
        for i, part in enumerate(train):
            _save(part, out / name / "train" / "good" / f"{i:03d}.png")
        order = rng.permutation(len(test))
        for i, index in enumerate(order[: len(test) // 2]):
            _save(test[index], out / name / "test" / "good" / f"{i:03d}.png")
        for i, index in enumerate(order[len(test) // 2:]):
            kind = DEFECT_KINDS[i % len(DEFECT_KINDS)]
            image, mask = add_defect(test[index], kind, rng)
            _save(image, out / name / "test" / kind / f"{i:03d}.png")
            _save(mask.astype(np.uint8) * 255, out / name / "ground_truth" / kind / f"{i:03d}_mask.png")
            counts[name][f"test/{kind}"] = counts[name].get(f"test/{kind}", 0) + 1
        counts[name]["test/good"] = len(test) // 2
    return counts


def _save(array: np.ndarray, path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format="PNG")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="output folder (gets elpv/ and textures/)")
    parser.add_argument("--elpv-types", default="mono", help="ELPV cell types, comma-separated: mono, poly")
    parser.add_argument("--defects", choices=sorted(DEFECT_RULES), default="likely",
                        help="which ELPV cells are defective: likely = p >= 2/3 (default), certain = p = 1, any = p > 0")
    parser.add_argument("--tile", type=int, default=64, help="texture tile side in px (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the ELPV split and the synthetic defects")
    parser.add_argument("--symlink", action="store_true", help="symlink the ELPV images instead of copying")
    parser.add_argument("--skip-elpv", action="store_true", help="write only the texture set")
    args = parser.parse_args()
    if not args.skip_elpv:
        types = [t.strip() for t in args.elpv_types.split(",") if t.strip()]
        counts = write_elpv(args.out / "elpv", types, args.defects, args.seed, args.symlink)
        print(f"{args.out / 'elpv'} (layout folder): {counts}")
        print(f"NOTE: {ELPV_NOTICE}")
    counts = write_textures(args.out / "textures", args.tile, args.seed)
    print(f"{args.out / 'textures'} (layout mvtec): {counts}")


if __name__ == "__main__":
    main()
