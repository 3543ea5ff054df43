"""Point clouds, time series and video through the whole Inspector (issue 15), on data generated here.

    PYTHONPATH=$PWD .venv/bin/python bench/modalities.py [--n 10] [--threads 1]

Per modality a class of normal references is ingested (12 plates / 14 series / 3 calm clips), then n normal
and n anomalous inputs of each anomaly type are inspected (vision-only). Printed per modality and type:
image-level AUROC of the verdict's anomaly score (normal vs that type), the localisation hit rate (the
verdict's location holds the injected anomaly: the 3D box holds the bump's / dent's / hole's centre in x, y;
the time range overlaps the anomaly's samples; a flagged frame or the worst frame shows the object), and the
latency per input (p50 / p90 of `Inspector.inspect`). For the series a second table sets the map's part of
the score (map score / threshold: the verdict before the band joined) beside the band's (band deviation /
band threshold), their max (`band_fusion.fused`: what the verdict rests on) and, for comparison, their
equal-weight mean and that mean under the earlier band threshold (band-loo-v1, shipped before); `--series-size
0.15` makes the spike, shift and drift 0.15 times as high, where the parts differ.
The generators are the tests' (tests/point_cloud_writers.py, tests/inspection/test_video_modality.py,
tests/inspection/test_time_series_inspection.py' shape).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "inspection")]

from assistant.config import NormalcyConfig  # noqa: E402
from assistant.home import Home  # noqa: E402
from assistant.inspector import Inspector  # noqa: E402


def auroc(normal, anomalous) -> float:
    normal, anomalous = np.asarray(normal)[:, None], np.asarray(anomalous)[None, :]
    return float(np.mean((anomalous > normal) + 0.5 * (anomalous == normal)))


def clouds(root: Path, n: int):
    """(references, {type: [(path, hit(location) -> bool)]}) of plates with a bump, a dent or a hole."""
    from point_cloud_writers import BUMP_RADIUS, plate, write_ply

    rng = np.random.default_rng(3)
    refs = [root / f"ref_{k}.ply" for k in range(12)]
    for k, path in enumerate(refs):
        write_ply(path, plate(seed=k)[0])
    cases = {"normal": [], "bump": [], "dent": [], "hole": []}
    for kind in cases:
        for k in range(n):
            centre = (rng.uniform(0.2, 0.8), rng.uniform(0.15, 0.45))
            points, _ = plate(bump={"bump": 0.02, "dent": -0.02}.get(kind, 0.0), centre=centre, seed=100 + k)
            if kind == "hole":
                points = points[np.hypot(points[:, 0] - centre[0], points[:, 1] - centre[1]) > 2 * BUMP_RADIUS]
            path = root / f"{kind}_{k}.ply"
            write_ply(path, points)
            cases[kind].append((path, lambda loc, c=centre: _box_holds(loc, c, BUMP_RADIUS)))
    return refs, cases


def _box_holds(location, centre, margin) -> bool:
    if not location:
        return False
    low, high = location["box_3d"]["min"], location["box_3d"]["max"]
    return all(lo - margin <= c <= hi + margin for lo, c, hi in zip(low, centre, high))


def series(root: Path, n: int, size: float = 1.0):
    """(references, cases) of 10-day hourly series: spike, level shift, drift, period change (spike, shift
    and drift `size` times their default height)."""
    start, steps = datetime(2026, 1, 1), 240

    def write(path, seed, kind=None, onset=150):
        rng = np.random.default_rng(seed)
        t = np.arange(steps)
        period = np.where((kind == "period") & (t >= onset), 12, 24)
        value = 20 + 3 * np.sin(2 * np.pi * np.cumsum(1 / period)) + rng.normal(0, 0.3, steps)
        value += size * {"spike": 12 * ((t >= onset) & (t < onset + 3)), "shift": 5 * (t >= onset),
                         "drift": 0.12 * np.clip(t - onset, 0, None)}.get(kind, 0)
        rows = [f"{(start + timedelta(hours=int(i))).isoformat()},{v:.4f}" for i, v in zip(t, value)]
        path.write_text("timestamp,temperature\n" + "\n".join(rows) + "\n")
        until = onset + 3 if kind == "spike" else steps
        return (start + timedelta(hours=onset)).isoformat(), (start + timedelta(hours=until)).isoformat()

    refs = [root / f"ref_{k}.csv" for k in range(14)]
    for k, path in enumerate(refs):
        write(path, k)
    cases = {kind: [] for kind in ("normal", "spike", "shift", "drift", "period")}
    rng = np.random.default_rng(4)
    for kind in cases:
        for k in range(n):
            onset = int(rng.integers(40, 200))
            span = write(root / f"{kind}_{k}.csv", 100 + k, None if kind == "normal" else kind, onset)
            cases[kind].append((root / f"{kind}_{k}.csv", lambda loc, s=span: _overlaps(loc, s)))
    return refs, cases


def _overlaps(location, span) -> bool:
    """The verdict's time range overlaps the anomaly's [onset, end] (ISO strings, compared to the hour)."""
    if not location or "time_range" not in location:       # nothing hot: only the series' scores
        return False
    start, end = location["time_range"]
    return start[:13] <= span[1][:13] and end[:13] >= span[0][:13]


def videos(root: Path, n: int):
    """(references, cases) of 6 s clips: an object that appears (2-4 s), vanishes (from 4 s) or flickers."""
    from test_video_modality import _shows_object, _write

    refs = [_write(root / f"ref_{k}.mp4", "static", noise_seed=k) for k in range(3)]
    cases = {kind: [] for kind in ("normal", "both", "vanish", "flicker")}
    for kind in cases:
        for k in range(n):
            path = _write(root / f"{kind}_{k}.mp4", "static" if kind == "normal" else kind, noise_seed=50 + k)
            cases[kind].append((path, lambda loc, kd=kind: bool(loc) and _shows_object(
                kd, round(loc["worst_frame"]["t"] * 10))))
    return refs, cases


def run(name: str, make, n: int, work: Path) -> None:
    folder = work / name
    folder.mkdir()
    refs, cases = make(folder, n)
    inspector = Inspector(NormalcyConfig(), Home(work / f"{name}_home"))
    inspector.references.ingest([(name, p) for p in refs])
    scores, hits, passed, spent, parts = {}, {}, {}, [], {}
    for kind, items in cases.items():
        for path, hit in items:
            start = time.perf_counter()
            inspection = inspector.inspect(path, name, log=False)
            spent.append(time.perf_counter() - start)
            verdict = inspection.verdict
            scores.setdefault(kind, []).append(verdict.anomaly_score)
            passed.setdefault(kind, []).append(verdict.correctness == 1)
            hits.setdefault(kind, []).append(kind != "normal" and hit(verdict.location))
            parts.setdefault(kind, []).append(_parts(inspection, hit))
    p50, p90 = np.percentile(np.array(spent) * 1000, [50, 90])
    _table(name, cases, scores, hits, passed, p50, p90)
    if name == "time_series":
        _fusions(parts, _earlier_band_limit(inspector, name))


def _parts(inspection, hit) -> tuple:
    """(map ratio, band ratio or None, does the map box's location hold the anomaly) of one inspection."""
    evidence = inspection.evidence
    rendered = evidence.query.rendered
    return evidence.map_ratio, evidence.band_ratio, hit(rendered.location(evidence.defect_box))


def _earlier_band_limit(inspector, name: str) -> float:
    """The earlier recipe's band threshold (band-loo-v1: the conformal quantile alone, the maximum of the held-out
    deviations when they are too few for the target) over the shipped one: a band ratio times it is v1's."""
    from assistant.inspection.band_fusion import MIN_BAND_THRESHOLD, _kept
    from retrieval.calibration import threshold_at_overkill

    calibration = inspector.references.calibration(name)
    held_out = list(_kept(inspector.workspace, name).values())
    earlier = max(threshold_at_overkill(held_out, calibration.target_overkill)[0], MIN_BAND_THRESHOLD)
    print(f"\nband threshold: shipped {calibration.band_threshold:.4f}, v1 (conformal alone) {earlier:.4f} "
          f"on {len(held_out)} held-out deviations", flush=True)
    return calibration.band_threshold / earlier


def _fusions(parts: dict, to_earlier: float) -> None:
    """Per anomaly type of the series: AUROC of the map ratio alone (before the band joined), the band ratio
    alone, their equal-weight mean, their max (`fused`, shipped), and their mean under the earlier band
    threshold (v1: what was shipped before); localised by the map box alone (the verdict's location is in the
    first table)."""
    from assistant.inspection.band_fusion import fused

    def mean(m, b):
        return (m + b) / 2

    rules = {"map": lambda m, b: m, "band": lambda m, b: b, "mean": mean, "max": fused,
             "mean v1": lambda m, b: mean(m, b * to_earlier)}
    fused = {kind: {rule: [f(m, b) for m, b, _ in rows] for rule, f in rules.items()}
             for kind, rows in parts.items()}

    def rate(kind, rule, fail):
        return f"{np.mean((np.array(fused[kind][rule]) >= 1) == fail) * 100:.0f} %"

    print("\nseries fusion | AUROC map / band / mean / max / mean v1 | failed map / band / mean / max / mean v1 | "
          "localised by the map box")
    print("--- | --- | --- | ---")
    print(f"normal | | passed {' / '.join(rate('normal', rule, False) for rule in rules)} |")
    for kind, rows in parts.items():
        if kind != "normal":
            aurocs = " / ".join(f"{auroc(fused['normal'][rule], fused[kind][rule]):.3f}" for rule in rules)
            failed = " / ".join(rate(kind, rule, True) for rule in rules)
            print(f"{kind} | {aurocs} | {failed} | {np.mean([h for *_, h in rows]) * 100:.0f} %")


def _table(name, cases, scores, hits, passed, p50, p90) -> None:
    for kind in cases:
        if kind == "normal":
            print(f"{name} | normal: {np.mean(passed[kind]) * 100:.0f} % passed | | | {p50:.0f} / {p90:.0f}")
        else:
            print(f"{name} | {kind}: {100 - np.mean(passed[kind]) * 100:.0f} % failed | "
                  f"{auroc(scores['normal'], scores[kind]):.3f} | {np.mean(hits[kind]) * 100:.0f} % | "
                  f"{p50:.0f} / {p90:.0f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10, help="inputs per anomaly type (and normal ones)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", choices=["point_cloud", "time_series", "video"], help="one modality only")
    parser.add_argument("--series-size", type=float, default=1.0,
                        help="height of the series' spike, shift and drift, times the default (smaller: harder)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    print("modality | inputs: verdicts | image AUROC | localised | ms per input p50 / p90 (all inputs of the modality)")
    print("--- | --- | --- | --- | ---")
    with tempfile.TemporaryDirectory(prefix="normalcy-modalities-") as work:
        sized = lambda root, n: series(root, n, args.series_size)     # noqa: E731
        for name, make in [m for m in (("point_cloud", clouds), ("time_series", sized), ("video", videos))
                           if args.only in (None, m[0])]:
            run(name, make, args.n, Path(work))


if __name__ == "__main__":
    main()
