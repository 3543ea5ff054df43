"""The report of bench/map_quality.py: quality table, latency, operating point (bench only)."""

from __future__ import annotations

import time

import numpy as np
import torch

from bench import map_data, map_pipelines as mp
from bench.map_pipelines import Variant
from retrieval.config import CalibrationConfig, FeaturesConfig, MapConfig

SHIPPED = Variant("shipped map", product=True, stored=True)


def shipped(name: str, config=None) -> Variant:
    """The shipped map at k = 8 for class `name`: product functions, features as stored, and the query's
    flips when `config` (a NormalcyConfig, e.g. configs/elpv.yaml; default: the code defaults) turns them
    on for the class."""
    from assistant.config import NormalcyConfig

    config = config or NormalcyConfig()
    flips, coreset = config.for_class(name).flips, config.features_for(name).coreset
    own = coreset != config.retrieval.features.coreset
    label = f"shipped map, k=8{' (flips on)' if flips else ''}{f' (coreset {coreset:g})' if own else ''}"
    return SHIPPED.but(label, k=8, flips=flips, coreset=coreset)


def rows(name: str, skip_full: bool = False, config=None):
    """What the report measures for class `name`: the shipped map (k = 8, the other flips setting, k = 16),
    the full-memory baseline (unless skipped) and 8 random references."""
    from bench.map_quality import BASELINE, RANDOM8

    k8 = shipped(name, config)
    other = k8.but(f"  same, flips {'off' if k8.flips else 'on'}", flips=not k8.flips)
    out = [k8, other, k8.but("shipped map, k=16", k=16), BASELINE, RANDOM8]
    return [v for v in out if not (skip_full and v is BASELINE)]


def inspection_seconds(data: map_data.Dataset, feats, v: Variant, n: int = 40) -> list[float]:
    """Wall time of one inspection through the shipped functions: decode, encode (the query and, with
    flips, its 3 flips), retrieve, decode the k stored feature files, map, score, upsample."""
    from retrieval import anomaly_map, feature_basis, feature_codec
    from retrieval.patch_features import aggregate, embedding

    cfg = MapConfig()
    encoder = feats.encoder(224)
    _, refs, _ = feats.get(v)
    encoding = FeaturesConfig(coreset=v.coreset) if v.coreset else FeaturesConfig()
    grids = [r.numpy() for r in refs]
    basis = feature_basis.fit([grids[i] for i in feature_basis.spread(len(grids))], encoding.pca) if encoding.pca else None
    files = [feature_codec.encode(g, encoding, basis) for g in grids]       # as the feature cache keeps them
    ref_emb = mp.embeddings(refs)
    out = []
    for path in map_data._spread(data.tests, n):
        start = time.perf_counter()
        image = map_data.load_rgb(path)
        views = [image] + ([map_data._dihedral(image, t) for t in (1, 2, 3)] if v.flips else [])
        features = aggregate(encoder.layer_maps(encoder.to_tensor(views)), cfg.neighbourhood)
        chosen = np.argsort(-(ref_emb @ embedding(features[:1])[0].numpy()))[: cfg.k]
        bank = torch.cat([torch.from_numpy(feature_codec.decode(files[j], lambda _: basis)[0].bank) for j in chosen])
        grid = mp.grid_score(features[0], bank, v, features)[0]
        anomaly_map.image_score(grid, cfg.top_fraction)
        anomaly_map.upsample(grid, image.size[1], image.size[0])
        out.append(time.perf_counter() - start)
    return out


def operating_point(data, feats, v: Variant, shipped_scores, baseline_scores) -> dict:
    """Threshold from leave-one-out reference scores of the shipped map `v` at the stated overkill;
    measured on the test split."""
    from retrieval.calibration import threshold_at_overkill

    target = CalibrationConfig().target_overkill
    _, refs, banks = feats.get(v)
    loo = mp.leave_one_out(refs, banks, v, CalibrationConfig().max_references,
                           feats.views(v, "ref") if v.flips else None)
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


def report(sets, features_cls, skip_full: bool = False, full_on: list[str] | None = None, config=None) -> None:
    """full_on: only these sets get the (slow) full-memory baseline; None = every set unless skip_full;
    config: the NormalcyConfig whose class settings (flips) the shipped rows use."""
    from bench.map_quality import evaluate, fmt

    print(f"\n{'set':18}{'map':34}{'image AUROC':>12}{'pixel AUROC':>13}{'AUPRO':>8}")
    points, latency = {}, {}
    for data in sets:
        feats = features_cls(data)
        skip = skip_full or (full_on is not None and data.name not in full_on)
        results, measured = {}, rows(data.name, skip, config)
        for v in measured:
            results[v.label] = r = evaluate(feats, v)
            print(f"{data.name:18}{v.label:34}{fmt(r['auroc']):>12}{fmt(r['pixel_auroc']):>13}{fmt(r['aupro']):>8}",
                  flush=True)
        k8, baseline = measured[0], rows(data.name)[3].label
        points[data.name] = operating_point(data, feats, k8, results[k8.label]["scores"],
                                            results.get(baseline, {}).get("scores"))
        latency[data.name] = inspection_seconds(data, feats, k8)
    print("\nlatency of one inspection, shipped map k=8 (2 threads; shared 2-core machine, noisy)")
    for name, secs in latency.items():
        ms = np.array(secs) * 1000
        print(f"  {name:18} p50 {np.percentile(ms, 50):6.1f} ms   p90 {np.percentile(ms, 90):6.1f} ms   (n={ms.size})")
    print("\noperating point (threshold from leave-one-out reference scores only; measured on the test split)")
    for name, p in points.items():
        print(f"  {name:18} target overkill {_pct(p['target'])} (n scored {p['n']}, promised <= {_pct(p['promised'])})"
              f"   measured overkill {_pct(p['overkill'])}   miss {_pct(p['miss'])}"
              f"   | full-memory PatchCore miss at the same overkill {_pct(p['baseline_miss'])}")
