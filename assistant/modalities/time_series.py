"""The time-series modality: CSV / TSV / Parquet (and .npy by name) -> a plot against the class's band.

Registered as "time_series" for .csv, .tsv and .parquet on import. A .npy file is claimed by the point
cloud modality by extension; the integrator asks `looks_like_series(array)` (or the operator says
`--modality time_series`) and this modality then reads it as well. A CSV headed exactly x, y, z is a
point cloud (`looks_like_point_csv`). The render's scores carry `band_deviation` (the largest distance
of any sample outside the class's normal band, in band widths), fused with the plot-based map into the
verdict's score (`inspection/band_fusion`), and the render's `deviation` (`deviation_location`) says
where in time and on which channel that is, the way one says "a peak around 1994". The class's band
threshold rests on its references' `held_out_scores`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant.modalities import rendering
from assistant.modalities.time_series_band import (aligned, band_of, build_profile, deviation_location, deviations,
                                                   held_out_deviations, worst_run)
from assistant.modalities.time_series_data import Series, format_time
from assistant.modalities.time_series_files import looks_like_point_csv, looks_like_series, read_series
from assistant.modalities.time_series_plot import Layout, draw, tick_labeller

__all__ = ["TIME_SERIES", "Series", "deviation_location", "looks_like_point_csv", "looks_like_series"]

LENGTH_RATIO = 2.0      # a series this many times longer or shorter than the class's gets a note


class TimeSeriesModality:
    name = "time_series"
    suffixes = (".csv", ".tsv", ".parquet")

    def read(self, path: Path) -> Series:
        """The file's `Series`; a one-line BadInput for each way it can be bad."""
        return read_series(path)

    def profile(self, raws: list[Series]) -> dict:
        """Channels, time bins, y ranges and normal band of the class, from its reference series."""
        return build_profile(raws)

    def held_out_scores(self, raws: list[Series], profile: dict, fitted_on_them: bool) -> list[float]:
        """Each reference's band deviation against a band fitted without it (`held_out_deviations`)."""
        return held_out_deviations(raws, profile, fitted_on_them)

    def render(self, raw: Series, profile: dict) -> rendering.Rendered:
        """The plot of `raw` against the profile's band, its band deviation and its box -> time mapper."""
        if not isinstance(raw, Series):
            raise TypeError(f"time_series renders a Series, not {type(raw).__name__}")
        band = band_of(profile)
        series = aligned(raw, band.channels, f"the class profile ({', '.join(band.channels)})")
        distance = deviations(series, band)
        image = draw(series, band, distance, tick_labeller(series))
        return rendering.Rendered(image=image, modality=self.name, location=_locator(series, Layout(band.channels)),
                                  scores={"band_deviation": float(distance.max())},
                                  deviation=worst_run(series, band, distance),
                                  notes=[*series.notes, *_notes(series, band, profile)])


def _locator(series: Series, layout: Layout):
    """Box [x0, y0, x1, y1] on the render (x1, y1 exclusive) -> the time range its columns cover (ISO
    strings with timestamps, else sample indices or the timestamps' numbers) and the panels it overlaps."""
    times = series.time_numbers()
    start, span = float(times[0]), float(times[-1] - times[0])

    def location(box):
        if box is None:
            return None
        x0, y0, x1, y1 = box
        first, last = sorted((layout.position(x0), layout.position(x1)))
        return {"time_range": [format_time(series, start + first * span, np.floor),
                               format_time(series, start + last * span, np.ceil)],
                "channels": layout.panels(y0, y1)}
    return location


def _notes(series: Series, band, profile: dict) -> list[str]:
    """What the operator should know about the comparison: clipped values, an unusual length."""
    notes = []
    for c, name in enumerate(band.channels):
        low, high = band.y_range[c]
        clipped = int(((series.values[:, c] < low) | (series.values[:, c] > high)).sum())
        if clipped:
            notes.append(f"channel {name!r}: {clipped} sample(s) beyond the class's y range "
                         f"[{low:.4g}, {high:.4g}] drawn at the panel's edge")
    length, usual = len(series.values), profile["length"]
    if not 1 / LENGTH_RATIO <= length / usual <= LENGTH_RATIO:
        notes.append(f"{length} time steps where the class's references have {usual}: "
                     "compared over relative time (start to end of each series)")
    return notes


TIME_SERIES = rendering.register(TimeSeriesModality())
