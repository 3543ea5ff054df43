"""A time series' band deviation beside its plot-based map in the score the verdict rests on.

A series' render carries `band_deviation`: how far (in band widths) it leaves the class's normal 5-95 %
band. The class's band threshold is the conformal quantile, at the class's overkill target (the map's), of
its references' held-out band deviations, computed with the class calibration and stored in it
(`Calibration.band_threshold`), so an inspection computes nothing more than the render already did.

**Few references.** With fewer than 1 / target - 1 of them the conformal quantile is their maximum, whose
expected overkill is 1 / (N + 1), not the target (1 in 15 on the 14 references of a typical class, where
the target is 2 %): the band then failed 4 of 20 new normal series (README, Numbers). There the threshold
is the larger of that maximum and a log-normal prediction bound at the target: with x = log(deviation +
MIN_BAND_THRESHOLD) of the held-out deviations, exp(mean(x) + t(1 - target, N - 1) * std(x) * sqrt(1 +
1 / N)) - MIN_BAND_THRESHOLD, the level a new normal exceeds with probability `target` if x were normal.
The deviations are a maximum over samples, skewed right, so the bound is taken on their logarithm (the
shift keeps a deviation of 0, inside the band, finite): on bench/band_limit.py it held the band's own
overkill at 1.7 / 2.2 / 1.7 % on 8 / 14 / 30 references where the maximum gave 8.1 / 6.0 / 2.8 % and the
same bound without the logarithm 3.4 / 4.2 / 2.6 %; the price is fewer faint spikes over the band threshold
(14 % where the maximum had 24 %, on 14 references; README, Numbers). With enough references the conformal
quantile is used as it is.

**Held out.** The band is fitted once, from the first references ingested into the class, so each of those
is scored leave one out (against the band refitted from the others); a reference ingested later is scored
against the stored band, which never saw it. No reference is scored against a band that contains it. The
scores are kept in the class profile under "held_out_scores", keyed by the sha256 of each reference's
render (the reference store's id), so a removed reference's score drops out with it.

**The fusion.** anomaly_score = max(map_score / threshold, band_deviation / band_threshold), 1.0 still the
class limit: each ratio is 1.0 at its own part's threshold, so a series fails when either part is past
its limit, and the band never hides what the map sees. Over 60 series per type on bench/modalities.py
(README, Numbers) the max failed every faint anomaly type at least as often as the map alone and no
normal the map passed; the equal-weight mean ranked faint spikes a little better (AUROC) but, with the
band held to its target, passed level shifts the map alone failed. (The mean was shipped while the band
threshold was the maximum of the held-out deviations, too low, so it was the band that failed normals.)
When the band decides (its ratio is the larger and the series fails) the verdict's location is where the
series leaves the band (time range, channel), else the map box's. A class whose profile predates the
held-out scores has no band threshold and is judged on its map alone, as before.
"""

from __future__ import annotations

import math

import numpy as np

from retrieval.calibration import MIN_REFERENCES, threshold_at_overkill

HELD_OUT = "held_out_scores"      # key of the class profile: {render sha256: held-out band deviation}
RECIPE = "band-loo-v2"            # part of the calibration's settings: another recipe makes it stale (v2: few-
                                  # references bound, `band_limit`)
MIN_BAND_THRESHOLD = 0.05         # band widths: normals all inside the band must not make any sample fail


def held_out_entry(modality, raws: list, profile: dict, fitted_on_them: bool, shas: list[str]) -> dict:
    """{HELD_OUT: the profile's held-out scores with those of `raws` (renders `shas`) added}; {} for a
    modality that has none. A score already kept (a fit reference ingested again) stays as it was."""
    score = getattr(modality, "held_out_scores", None)
    if score is None:
        return {}
    found = dict(zip(shas, score(raws, profile, fitted_on_them)))
    return {HELD_OUT: {**found, **profile.get(HELD_OUT, {})}}


def _kept(workspace, class_name: str) -> dict:
    from assistant.modalities.class_profiles import ClassProfiles

    found = ClassProfiles(workspace.home.modality_profiles).of(class_name)
    return {} if found is None else found.profile.get(HELD_OUT, {})


def band_settings(workspace, class_name: str) -> str:
    """What the band part of a calibration depends on besides the references ("" for a class without it)."""
    return f"|band={RECIPE}" if _kept(workspace, class_name) else ""


def band_threshold(workspace, class_name: str, shas: list[str], target: float) -> tuple[float | None, int]:
    """(band threshold at `target` overkill, how many normals it rests on) of the class's references `shas`;
    (None, n) when fewer than MIN_REFERENCES of them have a held-out score."""
    kept = _kept(workspace, class_name)
    normals = [float(kept[sha]) for sha in shas if sha in kept]
    if len(normals) < MIN_REFERENCES:
        return None, len(normals)
    return round(max(band_limit(normals, target), MIN_BAND_THRESHOLD), 6), len(normals)


def band_limit(normals: list[float], target: float) -> float:
    """The threshold of held-out deviations `normals` at `target` overkill: their conformal quantile, raised
    to the log-normal prediction bound when there are too few of them for the target (module docstring)."""
    from scipy.stats import t as student_t  # a dependency (pyproject); imported on use, as pixel_metrics does

    quantile, *_, expected = threshold_at_overkill(normals, target)
    if expected <= target:
        return quantile
    logs = np.log(np.asarray(normals, dtype=np.float64) + MIN_BAND_THRESHOLD)
    n = logs.size
    spread = float(student_t.ppf(1 - target, n - 1)) * float(logs.std(ddof=1)) * math.sqrt(1 + 1 / n)
    return max(quantile, math.exp(float(logs.mean()) + spread) - MIN_BAND_THRESHOLD)


def band_ratio(rendered, calibration) -> float | None:
    """band_deviation / band threshold of a render (None: not a series, or the class has no band part)."""
    deviation = None if rendered is None else rendered.scores.get("band_deviation")
    if deviation is None or calibration.band_threshold is None:
        return None
    return float(deviation) / calibration.band_threshold


def fused(map_ratio: float, band: float | None) -> float:
    """The score the verdict rests on (1.0 = the class limit) from the map's ratio and the band's."""
    return map_ratio if band is None else max(map_ratio, band)


def band_decides(map_ratio: float, band: float | None) -> bool:
    """The band carries a failing score: its ratio is the larger one and at the limit."""
    return band is not None and band > map_ratio and band >= 1.0


def fused_location(evidence, box) -> dict | None:
    """The verdict's location of a render: the band's out-of-band run when the band decides, else where the
    map `box` lies; a series' location also says both parts of its score ("scores")."""
    rendered, band = evidence.query.rendered, evidence.band_ratio
    chosen = rendered.deviation if band_decides(evidence.map_ratio, band) else None
    location = chosen or rendered.location(box)
    if band is None:
        return location
    scores = {"map": round(evidence.map_ratio, 4), "band": round(band, 4),
              "band_deviation": round(float(rendered.scores["band_deviation"]), 4),
              "band_threshold": evidence.calibration.band_threshold,
              "decided_by": "band" if band > evidence.map_ratio else "map"}
    return {**(location or {}), "scores": scores}
