"""A time series' band deviation beside its plot-based map in the score the verdict rests on.

A series' render carries `band_deviation`: how far (in band widths) it leaves the class's normal 5-95 %
band. The class's band threshold is the conformal quantile, at the class's overkill target (the map's), of
its references' held-out band deviations, computed with the class calibration and stored in it
(`Calibration.band_threshold`), so an inspection computes nothing more than the render already did.

**Held out.** The band is fitted once, from the first references ingested into the class, so each of those
is scored leave one out (against the band refitted from the others); a reference ingested later is scored
against the stored band, which never saw it. No reference is scored against a band that contains it. The
scores are kept in the class profile under "held_out_scores", keyed by the sha256 of each reference's
render (the reference store's id), so a removed reference's score drops out with it.

**The fusion.** anomaly_score = (1 - BAND_WEIGHT) * map_score / threshold + BAND_WEIGHT * band_deviation /
band_threshold, 1.0 still the class limit: each ratio is 1.0 at its own part's threshold, so a part that
both halves put at their limit stays at it. An equal-weight mean beat the max of the two ratios on
bench/modalities.py (README, Numbers): higher AUROC on every faint anomaly type and no more normals
failed (a normal near one part's limit is usually well inside the other's); the max caught a few more
of the faintest spikes. So a series fails on the band alone only when it leaves the band by
more than (2 - map ratio) band thresholds. When the band decides (its ratio is the larger and the
series fails) the verdict's location is where the series leaves the band (time range, channel), else
the map box's. A class whose profile predates the held-out scores has no band threshold and is judged on
its map alone, as before.
"""

from __future__ import annotations

from retrieval.calibration import MIN_REFERENCES, threshold_at_overkill

HELD_OUT = "held_out_scores"      # key of the class profile: {render sha256: held-out band deviation}
RECIPE = "band-loo-v1"            # part of the calibration's settings: another recipe makes it stale
BAND_WEIGHT = 0.5                 # the band ratio's share in the verdict's score (the map's: 1 - it)
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
    return round(max(threshold_at_overkill(normals, target)[0], MIN_BAND_THRESHOLD), 6), len(normals)


def band_ratio(rendered, calibration) -> float | None:
    """band_deviation / band threshold of a render (None: not a series, or the class has no band part)."""
    deviation = None if rendered is None else rendered.scores.get("band_deviation")
    if deviation is None or calibration.band_threshold is None:
        return None
    return float(deviation) / calibration.band_threshold


def fused(map_ratio: float, band: float | None) -> float:
    """The score the verdict rests on (1.0 = the class limit) from the map's ratio and the band's."""
    return map_ratio if band is None else (1 - BAND_WEIGHT) * map_ratio + BAND_WEIGHT * band


def band_decides(map_ratio: float, band: float | None) -> bool:
    """The band carries a failing score: its ratio is the larger one and the fused score is at the limit."""
    return band is not None and band > map_ratio and fused(map_ratio, band) >= 1.0


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
