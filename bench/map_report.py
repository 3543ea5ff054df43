"""The report of bench/map_quality.py: quality table, latency, operating point (bench only)."""

from __future__ import annotations

import time

import numpy as np
import torch

from bench import map_data, map_pipelines as mp
from bench.map_pipelines import Variant
from retrieval.config import CalibrationConfig, MapConfig

SHIPPED = Variant("shipped map", product=True)


def rows(skip_full: bool = False):
    from bench.map_quality import BASELINE, RANDOM8

    out = [SHIPPED.but("shipped map, k=8", k=8), SHIPPED.but("shipped map, k=16", k=16), BASELINE, RANDOM8]
    return [v for v in out if not (skip_full and v is BASELINE)]


def inspection_seconds(data: map_data.Dataset, feats, n: int = 40) -> list[float]:
    """Wall time of one inspection through the shipped functions: decode, encode, retrieve, map, score."""
    from retrieval import anomaly_map
    from retrieval.patch_features import aggregate, as_patches, embedding

    cfg = MapConfig()
    encoder = feats.encoder(224)
    _, refs, _ = feats.get(SHIPPED)
    cached = [r.numpy().astype(np.float16) for r in refs]       # the feature cache keeps float16
    ref_emb = mp.embeddings(refs)
    out = []
    for path in map_data._spread(data.tests, n):
        start = time.perf_counter()
        image = map_data.load_rgb(path)
        features = aggregate(encoder.layer_maps(encoder.to_tensor([image])), cfg.neighbourhood)
        chosen = np.argsort(-(ref_emb @ embedding(features)[0].numpy()))[: cfg.k]
        bank = torch.cat([as_patches(torch.from_numpy(cached[j].astype(np.float32))) for j in chosen])
        grid = anomaly_map.gaussian_smooth(anomaly_map.distance_grid(features[0], bank, cfg.window).numpy(), cfg.sigma)
        anomaly_map.image_score(grid, cfg.top_fraction)
        anomaly_map.upsample(grid, image.size[1], image.size[0])
        out.append(time.perf_counter() - start)
    return out


def operating_point(data, feats, shipped_scores, baseline_scores) -> dict:
    """Threshold from leave-one-out reference scores at the stated overkill; measured on the test split."""
    from retrieval.calibration import threshold_at_overkill

    target = CalibrationConfig().target_overkill
    _, refs, banks = feats.get(SHIPPED)
    loo = mp.leave_one_out(refs, banks, SHIPPED, CalibrationConfig().max_references)
    threshold, _, _, promised = threshold_at_overkill(loo, target)
    normal, defect = data.labels == 0, data.labels == 1
    overkill = float((shipped_scores[normal] >= threshold).mean())
    miss = float((shipped_scores[defect] < threshold).mean())
    # the baseline at the same measured overkill: its threshold cut at that quantile of its normal scores
    cut = None if baseline_scores is None else (
        np.quantile(baseline_scores[normal], 1.0 - overkill, method="higher") if overkill > 0
        else baseline_scores[normal].max() + 1e-9)
    base_miss = None if baseline_scores is None else float((baseline_scores[defect] < cut).mean())
    return {"target": target, "n": loo.size, "promised": promised, "overkill": overkill, "miss": miss,
            "baseline_miss": base_miss}


def _pct(x: float | None) -> str:
    return "  (not run)" if x is None else f"{100 * x:5.1f} %"


def report(sets, features_cls, skip_full: bool = False, full_on: list[str] | None = None) -> None:
    """full_on: only these sets get the (slow) full-memory baseline; None = every set unless skip_full."""
    from bench.map_quality import evaluate, fmt

    print(f"\n{'set':18}{'map':34}{'image AUROC':>12}{'pixel AUROC':>13}{'AUPRO':>8}")
    points, latency = {}, {}
    for data in sets:
        feats = features_cls(data)
        results = {}
        for v in rows(skip_full or (full_on is not None and data.name not in full_on)):
            results[v.label] = r = evaluate(feats, v)
            print(f"{data.name:18}{v.label:34}{fmt(r['auroc']):>12}{fmt(r['pixel_auroc']):>13}{fmt(r['aupro']):>8}",
                  flush=True)
        points[data.name] = operating_point(data, feats, results["shipped map, k=8"]["scores"],
                                            results.get(rows()[2].label, {}).get("scores"))
        latency[data.name] = inspection_seconds(data, feats)
    print("\nlatency of one inspection, shipped map k=8 (2 threads; shared 2-core machine, noisy)")
    for name, secs in latency.items():
        ms = np.array(secs) * 1000
        print(f"  {name:18} p50 {np.percentile(ms, 50):6.1f} ms   p90 {np.percentile(ms, 90):6.1f} ms   (n={ms.size})")
    print("\noperating point (threshold from leave-one-out reference scores only; measured on the test split)")
    for name, p in points.items():
        print(f"  {name:18} target overkill {_pct(p['target'])} (n scored {p['n']}, promised <= {_pct(p['promised'])})"
              f"   measured overkill {_pct(p['overkill'])}   miss {_pct(p['miss'])}"
              f"   | full-memory PatchCore miss at the same overkill {_pct(p['baseline_miss'])}")
