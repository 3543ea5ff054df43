"""Wrong product, unknown object: how often the out-of-distribution check flags what it should — prints numbers.

    PYTHONPATH=$PWD .venv/bin/python bench/make_datasets.py /tmp/nb --elpv-types mono,poly --symlink
    PYTHONPATH=$PWD .venv/bin/python bench/out_of_distribution.py /tmp/nb [--limit 60] [--margin 1.6]

Every class of the bench sets (ELPV mono and poly, brick / grass / gravel textures) is ingested from its
train/good into one fresh data home; then, through the real Inspector (vision-only), it prints the rate
flagged out of distribution for: each class's own test normals (should be 0) and defects (a defect is
the right product: ideally 0), every other class's test normals inspected as the class (should be 1),
and plain photos (a flat red image, scikit-image's astronaut, coffee, chelsea, camera) as each class.
Also, per class, the limit and the margin it leaves: the largest own-normal distance and the smallest
wrong-product distance, each as a multiple of the leave-one-out quantile the limit is margin x of.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.inspect_options import InspectOptions  # noqa: E402
from bench import map_data  # noqa: E402

NO_RULES = InspectOptions(rules=False)


def photos() -> dict:
    """Plain photos that are no product of any set: name -> PNG bytes."""
    import io

    import skimage.data
    from PIL import Image

    made = {"red": Image.fromarray(np.full((256, 256, 3), (200, 30, 30), np.uint8))}
    for name in ("astronaut", "coffee", "chelsea", "camera"):
        made[name] = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
    encoded = {}
    for name, image in made.items():
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        encoded[name] = buffer.getvalue()
    return encoded


def build_inspector(root: Path, home_dir: Path, margin: float | None, ref_limit: int | None):
    from assistant.config import NormalcyConfig
    from assistant.home import Home
    from assistant.inspector import Inspector

    config = NormalcyConfig()
    if margin is not None:
        calibration = replace(config.retrieval.calibration, ood_margin=margin)
        config = replace(config, retrieval=replace(config.retrieval, calibration=calibration))
    inspector = Inspector(config, Home(home_dir))
    sets = {d.name: d for d in map_data.datasets(root, None)}
    items = [(name, p) for name, d in sets.items() for p in map_data._spread(d.references, ref_limit)]
    inspector.references.ingest(items)
    return inspector, sets


def findings(inspector, images, class_name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Of images (paths or bytes) inspected as class_name: (flagged (N,) bool, nearest-reference distance (N,),
    median map cell over the class threshold (N,))."""
    flagged, nearest, medians = [], [], []
    for image in images:
        evidence = inspector.gather(image, class_name, options=NO_RULES)
        flagged.append(evidence.out_of_distribution is not None)
        nearest.append(evidence.references[0].distance)
        medians.append(float(np.median(evidence.grid)) / evidence.threshold)
    return np.array(flagged), np.array(nearest), np.array(medians)


def row(name: str, kind: str, found, base: float) -> None:
    flags, nearest, medians = found
    print(f"{name:16s} {kind:26s} {len(flags):4d} {flags.mean():8.1%}   distance/quantile {nearest.min() / base:6.2f} "
          f"to {nearest.max() / base:6.2f}   median cell/threshold {medians.min():.2f} to {medians.max():.2f}")


def report(inspector, sets: dict, limit: int | None) -> None:
    pictures = photos()
    tests = {name: ([p for p, y in zip(d.tests, d.labels) if y == 0], [p for p, y in zip(d.tests, d.labels) if y == 1])
             for name, d in sets.items()}
    print(f"{'inspected as':16s} {'images':26s} {'n':>4s} {'flagged':>8s}")
    margin = inspector.config.retrieval.calibration.ood_margin
    for name in sets:
        record = inspector.references.calibration(name)
        base = record.ood_limit / margin
        for kind, paths in zip(("own test normals", "own defects"), tests[name]):
            row(name, kind, findings(inspector, map_data._spread(paths, limit), name), base)
        for other in sets:
            if other != name:
                row(name, f"{other} normals", findings(inspector, map_data._spread(tests[other][0], limit), name), base)
        row(name, "photos (" + ", ".join(pictures) + ")", findings(inspector, list(pictures.values()), name), base)
        print(f"{name:16s} limit {record.ood_limit:.4f} = {margin} x {base:.4f} (quantile of {record.ood_normals} "
              "leave-one-out nearest distances)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="the output folder of bench/make_datasets.py")
    parser.add_argument("--limit", type=int, default=60, help="at most N test images of each kind per set")
    parser.add_argument("--ref-limit", type=int, default=None, help="at most N references per class (all)")
    parser.add_argument("--home", type=Path, help="data home to ingest into and keep (default: a temporary one)")
    parser.add_argument("--margin", type=float, default=None, help="calibration.ood_margin (default: the config's)")
    args = parser.parse_args()
    import retrieval.offline  # noqa: F401

    with tempfile.TemporaryDirectory(prefix="ood-bench-") as home:
        inspector, sets = build_inspector(args.root, args.home or Path(home), args.margin, args.ref_limit)
        report(inspector, sets, args.limit)


if __name__ == "__main__":
    main()
