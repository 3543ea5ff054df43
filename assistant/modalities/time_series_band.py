"""The class profile of a time series and a series' distance to its normal band (pure numpy, no drawing).

Relative time [0, 1] (`Series.positions`) is cut into `steps` equal bins, about SAMPLES_PER_BIN of
the references' median length each (at least 32 bins or one per sample, at most STEPS_CAP, so the
profile stays small and JSON-ready). Each reference gives per bin and
channel its min, mean and max (a reference shorter than `steps` is first resampled to `steps` points by
linear interpolation); the band is the 5 % quantile of the minima, the median of the means and the 95 %
quantile of the maxima over the references. A bin's band so covers the within-bin noise of a normal
series, and a query is compared sample by sample, at its full resolution, with the band of each
sample's bin: a one-sample spike in a long series is not averaged away. A sample's deviation is its
distance outside the band in units of the band's width, the width floored at WIDTH_FLOOR of the
channel's median width so that a place where the references agree exactly does not turn noise into
huge scores.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from assistant.modalities.time_series_data import MIN_LENGTH, Series, format_time
from retrieval.errors import BadInput

STEPS_CAP = 512
SAMPLES_PER_BIN = 4             # a bin's min..max then spans a few samples' noise, not one sample's
QUANTILES = (0.05, 0.5, 0.95)
Y_MARGIN = 0.25                 # of the band's extent, above and below it, so a deviation is in view
WIDTH_FLOOR = 0.1               # of the channel's median band width
PROFILE_VERSION = 1


@dataclass(frozen=True)
class Band:
    channels: tuple[str, ...]
    low: np.ndarray                 # (steps, C)
    median: np.ndarray              # (steps, C)
    high: np.ndarray                # (steps, C)
    width: np.ndarray               # (steps, C) high - low, floored
    y_range: np.ndarray             # (C, 2) fixed axis of each channel's panel

    @property
    def steps(self) -> int:
        return len(self.low)


def bins_of(positions: np.ndarray, steps: int) -> np.ndarray:
    """(T,) bin index in [0, steps) of relative-time positions in [0, 1]."""
    return np.minimum((positions * steps).astype(np.int64), steps - 1)


def bin_count(length: int) -> int:
    """Bins of the band for references of (median) `length` time steps."""
    return int(min(max(length // SAMPLES_PER_BIN, min(length, 32), MIN_LENGTH), STEPS_CAP))


def bin_stats(series: Series, steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per bin and channel min, mean and max, each (steps, C); bins no sample falls in (irregular
    sampling) are interpolated from their neighbours."""
    positions, values = series.positions(), series.values
    if len(values) < steps:
        grid = np.linspace(0.0, 1.0, steps)
        values = np.column_stack([np.interp(grid, positions, column) for column in values.T])
        positions = grid
    bins = bins_of(positions, steps)
    starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])       # bins ascend: time increases
    counts = np.diff(np.r_[starts, len(values)])[:, None]
    stats = (np.minimum.reduceat(values, starts, axis=0), np.add.reduceat(values, starts, axis=0) / counts,
             np.maximum.reduceat(values, starts, axis=0))
    return tuple(_fill_bins(stat, bins[starts], steps) for stat in stats)


def _fill_bins(stat: np.ndarray, occupied: np.ndarray, steps: int) -> np.ndarray:
    if len(occupied) == steps:
        return stat
    grid = np.arange(steps)
    return np.column_stack([np.interp(grid, occupied, column) for column in stat.T])


def aligned(series: Series, channels, against: str) -> Series:
    """`series` with its channels in the order of `channels`; a BadInput naming the missing and extra
    channels when the names differ."""
    channels = tuple(channels)
    if series.channels == channels:
        return series
    missing = [name for name in channels if name not in series.channels]
    extra = [name for name in series.channels if name not in channels]
    if missing or extra:
        said = [f"{label} {', '.join(map(repr, names))}" for label, names in
                (("missing", missing), ("extra", extra)) if names]
        raise BadInput(f"{series.source or 'the series'}: channels do not match {against}: "
                       f"{'; '.join(said)}; give every file of the class the same columns")
    order = [series.channels.index(name) for name in channels]
    return replace(series, values=series.values[:, order], channels=channels)


def build_profile(references: list[Series]) -> dict:
    """The class profile (JSON-ready) from the class's normal reference series."""
    if not references:
        raise BadInput("no normal reference series to build the class profile from; ingest at least one")
    channels = references[0].channels
    against = f"the first reference {references[0].source or ''} ({', '.join(channels)})".replace("  ", " ")
    references = [aligned(series, channels, against) for series in references]
    steps = bin_count(int(np.median([len(series.values) for series in references])))
    return _profile(references, steps, [bin_stats(series, steps) for series in references])


def held_out_deviations(references: list[Series], profile: dict, fitted_on_them: bool) -> list[float]:
    """Each reference's band deviation against a band that does not contain it, for the class's band
    threshold: with `fitted_on_them` (the profile was fitted on these very references) leave one out, each
    scored against the band refitted from the others (needs two or more: else []); otherwise the stored
    band, which never saw them (references ingested after the profile was fitted)."""
    band = band_of(profile)
    references = [aligned(series, band.channels, "the class profile") for series in references]
    if not fitted_on_them:
        return [float(deviations(series, band).max()) for series in references]
    if len(references) < 2:
        return []
    stats = [bin_stats(series, profile["steps"]) for series in references]
    return [float(deviations(series, band_of(_profile(references[:i] + references[i + 1:], profile["steps"],
                                                       stats[:i] + stats[i + 1:]))).max())
            for i, series in enumerate(references)]


def _profile(references: list[Series], steps: int, stats: list) -> dict:
    """The profile dict of aligned `references` from their per-bin (min, mean, max) `stats`."""
    channels = references[0].channels
    lengths = [len(series.values) for series in references]
    low = np.quantile(np.stack([s[0] for s in stats]), QUANTILES[0], axis=0)
    median = np.quantile(np.stack([s[1] for s in stats]), QUANTILES[1], axis=0)
    high = np.quantile(np.stack([s[2] for s in stats]), QUANTILES[2], axis=0)
    kinds = {series.time_kind for series in references}
    return {
        "kind": "time_series", "version": PROFILE_VERSION, "references": len(references),
        "channels": list(channels), "steps": steps, "quantiles": list(QUANTILES),
        "length": int(np.median(lengths)), "time": kinds.pop() if len(kinds) == 1 else "mixed",
        "duration": float(np.median([_duration(series) for series in references])),
        "y_range": {name: _rounded(_y_range(low[:, c], high[:, c])) for c, name in enumerate(channels)},
        "band": {name: {"low": _rounded(low[:, c]), "median": _rounded(median[:, c]),
                        "high": _rounded(high[:, c])} for c, name in enumerate(channels)},
    }


def _duration(series: Series) -> float:
    """The series' extent in its own time unit: seconds for datetimes, the timestamps' unit, samples."""
    times = series.time_numbers()
    extent = float(times[-1] - times[0])
    return extent / 1e6 if series.time_kind == "datetime" else extent


def _y_range(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    bottom, top = float(low.min()), float(high.max())
    span = top - bottom if top > bottom else max(abs(top), 1.0) * 0.1
    return np.array([bottom - Y_MARGIN * span, top + Y_MARGIN * span])


def _rounded(values: np.ndarray) -> list[float]:
    return [float(f"{value:.6g}") for value in np.asarray(values, dtype=np.float64)]


def band_of(profile: dict) -> Band:
    """The profile's band as arrays, with the floored width the deviation is measured in."""
    channels = tuple(profile["channels"])
    low, median, high = (np.column_stack([profile["band"][name][key] for name in channels])
                         for key in ("low", "median", "high"))
    y_range = np.array([profile["y_range"][name] for name in channels], dtype=np.float64)
    width = high - low
    typical = np.median(width, axis=0)
    floor = np.where(typical > 0, WIDTH_FLOOR * typical, 1e-3 * (y_range[:, 1] - y_range[:, 0]))
    return Band(channels, low, median, high, np.maximum(width, floor), y_range)


def deviations(series: Series, band: Band) -> np.ndarray:
    """(T, C) distance of each sample outside the band of its bin, in band widths (0 inside); `series`
    has the band's channels in its order (`aligned`)."""
    bins = bins_of(series.positions(), band.steps)
    outside = np.maximum(band.low[bins] - series.values, series.values - band.high[bins])
    return np.maximum(outside, 0.0) / band.width[bins]


def deviation_location(series: Series, profile: dict) -> dict | None:
    """Where the series leaves the band most: the channel, the time range of the run of out-of-band
    samples around the worst one (gaps up to 1 % of the length bridged) and its deviation; None when the
    series stays inside the band everywhere."""
    band = band_of(profile)
    series = aligned(series, band.channels, "the class profile")
    return worst_run(series, band, deviations(series, band))


def worst_run(series: Series, band: Band, distance: np.ndarray) -> dict | None:
    """`deviation_location` from the (T, C) `deviations` of an aligned series already computed."""
    if distance.max() <= 0:
        return None
    worst, channel = np.unravel_index(int(np.argmax(distance)), distance.shape)
    outside = np.flatnonzero(distance[:, channel] > 0)
    runs = np.split(outside, np.flatnonzero(np.diff(outside) > max(1, len(distance) // 100)) + 1)
    run = next(run for run in runs if run[0] <= worst <= run[-1])
    times = series.time_numbers()
    return {"time_range": [format_time(series, times[run[0]]), format_time(series, times[run[-1]])],
            "peak": format_time(series, times[worst]), "channels": [band.channels[channel]],
            "band_deviation": float(distance[worst, channel])}
