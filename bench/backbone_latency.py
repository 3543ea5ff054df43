"""Cost of a transformers backbone as the image encoder — prints numbers.

    PYTHONPATH=$PWD .venv/bin/python bench/backbone_latency.py [--folder DINOV2_FOLDER] [--sizes 224,448]

With `--folder`, that local model folder (real weights); without, a DINOv2 of the real dinov2-small
architecture (tests/fixtures/vlm-processors/dinov2-small/config.json, 12 blocks x 384, 22 M parameters)
with RANDOM weights, saved to a temp folder: the compute is that of the real model, the features are not.
For each input size: patch grid, feature dims, and p50 / p90 wall time of one image through the product's
path (`to_tensor` + `encode` + `aggregate`), at the current torch thread count. No quality numbers here:
this machine has no real DINOv2 weights (published anchors: AnomalyDINO 96.6, SubspaceAD 98.0 image
AUROC on MVTec-AD 1-shot).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import retrieval.offline  # noqa: E402,F401

DINOV2_SMALL = REPO / "tests" / "fixtures" / "vlm-processors" / "dinov2-small"


def random_dinov2_small(folder: Path) -> Path:
    """The real dinov2-small architecture with random weights (the Backbone stage keys dropped)."""
    from transformers import AutoConfig, AutoModel

    config = json.loads((DINOV2_SMALL / "config.json").read_text())
    for key in ("out_features", "out_indices", "stage_names"):
        config.pop(key, None)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    AutoModel.from_config(AutoConfig.from_pretrained(folder)).save_pretrained(folder)
    shutil.copyfile(DINOV2_SMALL / "preprocessor_config.json", folder / "preprocessor_config.json")
    return folder


def measure(folder: Path, size: int, layers: tuple[int, ...], repeats: int) -> dict:
    from PIL import Image

    from retrieval.config import EncoderConfig
    from retrieval.encoders.image_encoder import load_image_encoder
    from retrieval.patch_features import aggregate

    encoder = load_image_encoder(EncoderConfig(name="transformers", path=str(folder), image_size=size,
                                               layers=layers, pooling="cls"))
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (600, 600, 3), dtype=np.uint8))
    times = []
    for _ in range(repeats + 2):
        start = time.perf_counter()
        maps, _ = encoder.encode(encoder.to_tensor([image]))
        features = aggregate(maps, 3)
        times.append(time.perf_counter() - start)
    times = np.array(times[2:]) * 1000
    return {"size": size, "grid": list(features.shape[-2:]), "dims": int(features.shape[1]),
            "p50_ms": float(np.percentile(times, 50)), "p90_ms": float(np.percentile(times, 90))}


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, help="a local DINOv2 / CLIP / SigLIP vision folder")
    parser.add_argument("--sizes", default="224,448")
    parser.add_argument("--layers", default="-4,-1")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    layers = tuple(int(v) for v in args.layers.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or random_dinov2_small(Path(tmp) / "dinov2-small-random")
        print(f"backbone {folder.name}, layers {list(layers)}, torch threads {torch.get_num_threads()}")
        for size in (int(v) for v in args.sizes.split(",")):
            row = measure(folder, size, layers, args.repeats)
            print(f"{row['size']:>4} px  grid {row['grid'][0]}x{row['grid'][1]}  {row['dims']} dims  "
                  f"p50 {row['p50_ms']:.0f} ms  p90 {row['p90_ms']:.0f} ms")


if __name__ == "__main__":
    main()
