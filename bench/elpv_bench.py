"""ELPV benchmark of the evidence core (vision-only), printing numbers — not a timed test.

Real monocrystalline solar-cell EL images from PyPI `elpv-dataset` (CC BY-NC-SA 4.0, non-commercial).
A seeded half of the normal cells (defect probability 0) become the references; the test set is the
other half plus the defective cells (probability >= 2/3 by default, as in bench/make_datasets.py).

Reports, on identical EfficientNet-Lite0 patch features:
- image AUROC of the few-shot map (k retrieved references per query) for each --k;
- image AUROC of a full-memory PatchCore baseline (nearest patch over ALL reference patches, no
  retrieval, no subsampling);
- median / p90 latency of one full inspection (`Inspector.inspect`, model loaded, vision-only);
- ingest throughput (validate + encode + cache + store) and calibration time.

    .venv/bin/python bench/elpv_bench.py [--limit N] [--k 8 16] [--min-probability 0.6667]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.config import NormalcyConfig  # noqa: E402
from assistant.home import Home  # noqa: E402
from assistant.inspector import Inspector  # noqa: E402
from assistant.evaluation.metrics import auroc  # noqa: E402

CLASS = "solar_cell_mono"


def split(min_probability: float, limit: int | None, seed: int = 0):
    """(references, test images, labels) from the ELPV mono cells."""
    import elpv_dataset

    data = Path(elpv_dataset.__file__).parent / "data"
    rows = [line.split() for line in (data / "labels.csv").read_text().splitlines()]
    normal = sorted(data / r[0] for r in rows if r[2] == "mono" and float(r[1]) == 0.0)
    defective = sorted(data / r[0] for r in rows if r[2] == "mono" and float(r[1]) >= min_probability - 1e-9)
    order = np.random.default_rng(seed).permutation(len(normal))
    references = [normal[i] for i in sorted(order[: len(normal) // 2])]
    good = [normal[i] for i in sorted(order[len(normal) // 2:])]
    if limit:
        good, defective = good[:limit], defective[:limit]
    return references, good + defective, np.array([0] * len(good) + [1] * len(defective))


def full_memory_scores(inspector: Inspector, tests) -> list[float]:
    """PatchCore baseline on the same features: nearest patch over every reference patch."""
    import torch

    from retrieval import anomaly_map
    from retrieval.patch_features import as_patches

    scorer, cfg = inspector.scorer, inspector.config.retrieval.map
    refs = inspector.workspace.references.of_class(CLASS)
    bank = torch.cat([torch.from_numpy(scorer.stored(r).bank).float() for r in refs])
    scores = []
    for path in tests:
        features, _ = scorer.featurize([inspector.load(path).image])
        grid = anomaly_map.nearest_patch_distance(as_patches(features[0]), bank).reshape(features.shape[2:])
        scores.append(anomaly_map.image_score(anomaly_map.gaussian_smooth(grid.numpy(), cfg.sigma), cfg.top_fraction))
    return scores, bank.shape[0]


def few_shot(home: Home, k: int, tests) -> tuple[list[float], list[float]]:
    """(anomaly scores, per-inspection seconds) with k retrieved references."""
    base = NormalcyConfig()
    config = replace(base, retrieval=replace(base.retrieval, map=replace(base.retrieval.map, k=k)))
    inspector = Inspector(config, home)
    inspector.inspect(tests[0], CLASS, log=False)            # load weights, calibrate for this k
    scores, seconds = [], []
    for path in tests:
        start = time.perf_counter()
        verdict = inspector.inspect(path, CLASS, log=False).verdict
        seconds.append(time.perf_counter() - start)
        scores.append(verdict.anomaly_score)
    return scores, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="at most N good and N defective test cells")
    parser.add_argument("--k", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--min-probability", type=float, default=2 / 3)
    args = parser.parse_args()
    references, tests, labels = split(args.min_probability, args.limit)
    print(f"ELPV mono (CC BY-NC-SA 4.0): {len(references)} references, {int((labels == 0).sum())} good + "
          f"{int(labels.sum())} defective test cells (defect probability >= {args.min_probability:.2f})")
    home = Home(tempfile.mkdtemp(prefix="elpv_bench_"))
    inspector = Inspector(NormalcyConfig(), home)
    _ = inspector.workspace.encoder, inspector.workspace.rules        # weights loaded before timing
    start = time.perf_counter()
    inspector.references.ingest([(CLASS, p) for p in references])
    took = time.perf_counter() - start
    print(f"ingest: {len(references) / took:.1f} images/s ({took:.1f} s incl. calibration)")
    for k in args.k:
        scores, seconds = few_shot(home, k, tests)
        ms = sorted(1000 * s for s in seconds)
        print(f"few-shot k={k:<3} image AUROC {auroc(labels, scores):.4f}   latency median {statistics.median(ms):.0f} ms,"
              f" p90 {ms[int(0.9 * (len(ms) - 1))]:.0f} ms per inspection")
    scores, patches = full_memory_scores(inspector, tests)
    print(f"full-memory PatchCore baseline ({patches} patches) image AUROC {auroc(labels, scores):.4f}")


if __name__ == "__main__":
    main()
