"""Quality of the few-shot anomaly map against plain PatchCore on the same features — prints numbers.

    PYTHONPATH=$PWD .venv/bin/python bench/make_datasets.py /tmp/nb --elpv-types mono,poly
    PYTHONPATH=$PWD .venv/bin/python bench/map_quality.py /tmp/nb [--limit 120] [--ablation] [--config FILE]

For ELPV mono, ELPV poly and the textures (brick, grass, gravel): image AUROC, pixel AUROC and AUPRO
(textures only: ELPV has no masks) of the shipped map at k=8 and k=16, of the full-memory PatchCore
baseline (EfficientNet-Lite0 blocks 4 + 10 at 224 px, the 14x14 map upsampled to 28x28 and
concatenated, one 3x3 average, nearest patch over ALL reference patches, image score = max) and of the
same baseline with 8 random references; latency p50/p90 of one inspection through the shipped
functions; and the operating point: the class threshold from leave-one-out reference scores at
retrieval.calibration.target_overkill, the measured overkill on the test normals and the miss rate,
beside the full-memory baseline's miss at the same measured overkill.
--ablation prints the stage-by-stage table instead (bench/map_pipelines.py spells out each stage).
Backbone maps are cached in /tmp/map_quality_cache, so a second run only does the scoring.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.evaluation.metrics import auroc  # noqa: E402
from assistant.evaluation.pixel_metrics import pixel_metrics  # noqa: E402
from bench import map_data, map_pipelines as mp  # noqa: E402
from bench.map_pipelines import Variant  # noqa: E402
from retrieval import anomaly_map  # noqa: E402

BASELINE = Variant("PatchCore, all references", pool="after", include_pad=True, sigma=0.0, refs="all")
RANDOM8 = BASELINE.but("PatchCore, 8 random references", refs="random", k=8)
OLD = Variant("shipped before issue 9 (pool per layer, sigma 1)")
PAD = OLD.but("pool after, zero padding counted, sigma 1", pool="after", include_pad=True)
ABLATION = [
    OLD,
    OLD.but("- one 3x3 average after upsampling", pool="after"),
    OLD.but("- ... with zero padding counted", pool="after", include_pad=True),
    OLD.but("- ... and sigma 0 (= PatchCore on k=8)", pool="after", include_pad=True, sigma=0.0),
    OLD.but("pool per layer, zero padding counted, sigma 1", include_pad=True),
    PAD.but("pad, sigma 0.5", sigma=0.5),
    PAD.but("pad, sigma 2", sigma=2.0),
    PAD.but("pad, sigma 1, border ring 1 replicated", border=1),
    PAD.but("pad, sigma 1, top-3 mean", top=3),
    PAD.but("pad, sigma 1, top-10 mean", top=10),
    PAD.but("pad, sigma 1, sub-space (PCA 99 %) residual", score="subspace"),
    PAD.but("pad, sigma 1, Mahalanobis (shrunk)", score="maha"),
    PAD.but("pad, sigma 1, flips x4", augment=4),
    PAD.but("pad, sigma 1, dihedral x8", augment=8),
    PAD.but("pad, sigma 1, k=16", k=16),
    PAD.but("pad, sigma 1, 320 px", size=320),
    RANDOM8,
    BASELINE,
    PAD.but("pad, sigma 1, position window +-2 cells", window=2),
    PAD.but("pad, sigma 1, position window +-4 cells", window=4),
    PAD.but("pad, sigma 1, position window +-7 cells", window=7),
    PAD.but("pad, sigma 1, top-10 mean, window +-4", top=10, window=4),
    PAD.but("pad, sigma 1, top-20 mean", top=20),
    PAD.but("pad, sigma 1, PatchCore density re-weighting, b=3", reweight=3),
    PAD.but("pad, sigma 1, PatchCore density re-weighting, b=9", reweight=9),
    PAD.but("pad, sigma 1, k=32", k=32),
    PAD.but("pad, sigma 1, 32 retrieved, keep 8 of lowest mean distance", rerank="mean"),
    PAD.but("pad, sigma 1, 32 retrieved, keep 8 by greedy coverage", rerank="greedy"),
    PAD.but("pad, sigma 1, 32 retrieved, keep 8 of lowest own max", rerank="max"),
    Variant("shipped now (product functions), full-precision grids", product=True),
    Variant("shipped now (product functions), stored features", product=True, stored=True),
    Variant("shipped now, stored features, query + 3 flips", product=True, stored=True, flips=True),
    Variant("shipped now, full-precision grids, query + 3 flips", product=True, flips=True),
    Variant("shipped now, stored, 50 % coreset, query + 3 flips", product=True, stored=True, coreset=0.5, flips=True),
    Variant("shipped now, stored, 50 % coreset", product=True, stored=True, coreset=0.5),
]


def encoder_for(size: int):
    from retrieval.config import EncoderConfig
    from retrieval.encoders.image_encoder import load_image_encoder

    return load_image_encoder(EncoderConfig(image_size=size))


class Features:
    """Cached backbone maps of one dataset, turned into features per variant (memoised)."""

    def __init__(self, data: map_data.Dataset):
        self.data, self._enc, self._memo = data, {}, {}

    def encoder(self, size: int):
        if size not in self._enc:
            self._enc[size] = encoder_for(size)
        return self._enc[size]

    def get(self, v: Variant):
        """(queries, unaugmented reference features, per-reference banks) of variant `v`."""
        key = (v.pool, v.include_pad, v.size, v.augment, v.product, v.stored, v.coreset)
        if key not in self._memo:
            self._memo = {k: m for k, m in self._memo.items() if k[0] == "views"}   # bounded memory
            enc, name = self.encoder(v.size), self.data.name
            queries = mp.features(map_data.cached_maps(enc, f"{name}-test", self.data.tests), v)
            refs = mp.features(map_data.reference_maps(enc, f"{name}-ref", self.data.references, v.augment), v)
            plain = refs[:: v.augment].contiguous()
            self._memo[key] = (queries, plain, mp.stored_banks(plain, v.coreset) if v.stored else mp.banks(refs, v.augment))
        return self._memo[key]

    def views(self, v: Variant, split: str):
        """(N, 4, C, H, W) features of the "test" or "ref" images as they are and flipped (variants with flips)."""
        key = ("views", split, v.pool, v.include_pad, v.size, v.product)
        if key not in self._memo:
            paths = self.data.tests if split == "test" else self.data.references
            maps = map_data.reference_maps(self.encoder(v.size), f"{self.data.name}-{split}", paths, 4)
            feats = mp.features(maps, v)
            self._memo[key] = feats.reshape(-1, 4, *feats.shape[1:])
        return self._memo[key]


def pixel(data: map_data.Dataset, grids: np.ndarray) -> tuple[float | None, float | None]:
    if data.masks is None:
        return None, None
    maps, masks = [], []
    for path, mask_path, grid in zip(data.tests, data.masks, grids):
        size = map_data.load_rgb(path).size
        maps.append(anomaly_map.upsample(grid, size[1], size[0]))
        masks.append(map_data.load_mask(mask_path, size))
    result = pixel_metrics(maps, masks)
    return result["pixel_auroc"], result["aupro"]


def evaluate(feats: Features, v: Variant) -> dict:
    queries, refs, banks = feats.get(v)
    scores, grids = mp.run(queries, refs, banks, v, views=feats.views(v, "test") if v.flips else None)
    pix_auc, pro = pixel(feats.data, grids)
    return {"auroc": auroc(feats.data.labels, scores), "pixel_auroc": pix_auc, "aupro": pro, "scores": scores}


def fmt(x) -> str:
    return "  -  " if x is None else f"{x:.3f}"


def ablation(sets: list[map_data.Dataset], only: list[int] | None = None) -> None:
    names = [d.name.replace("solar_cell_", "elpv_") for d in sets]
    print(f"{'variant (image AUROC; textures: mean pixel AUROC / AUPRO)':58}" + "".join(f"{n:>11}" for n in names)
          + "   px-AUC  AUPRO")
    feats = [Features(d) for d in sets]
    for v in [ABLATION[i] for i in only] if only else ABLATION:
        rows = [evaluate(f, v) for f in feats]
        px = [r["pixel_auroc"] for r in rows if r["pixel_auroc"] is not None]
        pro = [r["aupro"] for r in rows if r["aupro"] is not None]
        print(f"{v.label:58}" + "".join(f"{fmt(r['auroc']):>11}" for r in rows)
              + f"   {fmt(np.mean(px) if px else None)}  {fmt(np.mean(pro) if pro else None)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="output folder of bench/make_datasets.py")
    parser.add_argument("--limit", type=int, help="at most N good and N defective ELPV test cells (evenly spread)")
    parser.add_argument("--ablation", action="store_true", help="print the stage-by-stage table")
    parser.add_argument("--rows", type=lambda t: [int(i) for i in t.split(",")], help="only these ablation rows (0-based)")
    parser.add_argument("--skip-full", action="store_true", help="leave out the (slow) full-memory baseline")
    parser.add_argument("--full-on", type=lambda t: t.split(","), help="the full-memory baseline only on these sets")
    parser.add_argument("--sets", type=lambda t: t.split(","), help="only these sets, e.g. brick,grass,gravel")
    parser.add_argument("--config", type=Path, help="a Normalcy config whose class settings (flips) the shipped "
                        "rows use, e.g. configs/elpv.yaml")
    args = parser.parse_args()
    torch.set_num_threads(2)
    sets = [d for d in map_data.datasets(args.root, args.limit) if not args.sets or d.name in args.sets]
    for d in sets:
        print(f"{d.name}: {len(d.references)} references, {int((d.labels == 0).sum())} good + "
              f"{int(d.labels.sum())} defective test images")
    if args.ablation:
        ablation(sets, args.rows)
    else:
        from bench.map_report import report

        from assistant.config import load_config

        report(sets, Features, args.skip_full, args.full_on, load_config(args.config))


if __name__ == "__main__":
    main()
