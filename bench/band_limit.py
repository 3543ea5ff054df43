"""The band part of a series' score alone: overkill and catch rate of its threshold over many draws of references.

    PYTHONPATH=$PWD .venv/bin/python bench/band_limit.py [--draws 200] [--references 14] [--new 200]

Each draw generates `references` normal series (bench/modalities.py's 10-day hourly shape, its own seeds),
fits the class band on them, scores each leave one out (`held_out_deviations`, what ingest keeps) and sets
the band threshold at the target overkill two ways: v1, the conformal quantile alone (the maximum when the
references are too few for the target), and the shipped `band_limit` (that maximum raised to the normal
log-normal prediction bound). `new` fresh normal series and as many faint spikes (`--spike` times the bench's 12 units,
3 hours) are scored against the draw's band; printed per rule: the share of new normals over the threshold
(the band's own overkill; mean and 90th percentile over draws) and of spikes over it. The band alone: the
verdict fuses it with the map (bench/modalities.py), so these are not the verdict's rates.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from assistant.inspection.band_fusion import MIN_BAND_THRESHOLD, band_limit  # noqa: E402
from assistant.modalities.time_series_band import band_of, build_profile, deviations, held_out_deviations  # noqa: E402
from assistant.modalities.time_series_data import Series  # noqa: E402
from retrieval.calibration import threshold_at_overkill  # noqa: E402

STEPS = 240


def generated(rng, spike: float = 0.0) -> Series:
    t = np.arange(STEPS)
    value = 20 + 3 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.3, STEPS)
    if spike:
        onset = int(rng.integers(40, 200))
        value[onset:onset + 3] += spike
    stamps = np.datetime64("2026-01-01T00:00", "us") + t.astype("timedelta64[h]")
    return Series(values=value[:, None], channels=("temperature",), timestamps=stamps)


def _normal_bound(held, target: float) -> float:
    """The prediction bound on the deviations themselves, not their logarithm: what band_limit would be
    without it (the comparison of its docstring)."""
    from scipy.stats import t as student_t

    quantile, mean, std, _ = threshold_at_overkill(held, target)
    n = len(held)
    return max(quantile, mean + float(student_t.ppf(1 - target, n - 1)) * std * np.sqrt(1 + 1 / n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--references", type=int, default=14)
    parser.add_argument("--new", type=int, default=200, help="fresh normals (and spikes) scored per draw")
    parser.add_argument("--target", type=float, default=0.02)
    parser.add_argument("--spike", type=float, default=0.08, help="spike height, times the bench's 12 units")
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    rules = {"v1: conformal alone": lambda held: threshold_at_overkill(held, args.target)[0],
             "normal bound (not shipped)": lambda held: _normal_bound(held, args.target),
             "shipped: band_limit": lambda held: band_limit(held, args.target)}
    overkill = {rule: [] for rule in rules}
    caught = {rule: [] for rule in rules}
    for _ in range(args.draws):
        references = [generated(rng) for _ in range(args.references)]
        profile = build_profile(references)
        held = held_out_deviations(references, profile, fitted_on_them=True)
        band = band_of(profile)
        normals = np.array([deviations(generated(rng), band).max() for _ in range(args.new)])
        spikes = np.array([deviations(generated(rng, 12 * args.spike), band).max() for _ in range(args.new)])
        for rule, limit in rules.items():
            threshold = max(limit(held), MIN_BAND_THRESHOLD)
            overkill[rule].append(np.mean(normals >= threshold))
            caught[rule].append(np.mean(spikes >= threshold))
    print(f"{args.draws} draws of {args.references} references, target {args.target:.0%}, "
          f"{args.new} new normals and spikes ({args.spike} x 12) per draw")
    print("rule | band overkill mean / 90th pct over draws | spikes over the band threshold")
    print("--- | --- | ---")
    for rule in rules:
        print(f"{rule} | {np.mean(overkill[rule]):.1%} / {np.percentile(overkill[rule], 90):.1%} | "
              f"{np.mean(caught[rule]):.1%}")


if __name__ == "__main__":
    main()
