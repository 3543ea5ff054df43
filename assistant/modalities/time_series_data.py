"""`Series`, the raw data of the time-series modality, and the checks every reader's output goes through.

A series is T time steps of C channels with optional timestamps (ISO dates as `datetime64[us]`, or
numbers); without timestamps the time axis is the sample index. Each way a series can be bad is one
`BadInput` line naming the file, what is wrong and what to do: fewer than `MIN_LENGTH` samples, more
than `MAX_SAMPLES`, more than `MAX_CHANNELS` channels, no numeric channel, a channel with no number at
all, timestamps that do not increase. NaN / infinite gaps inside a channel are filled by linear
interpolation and said in `Series.notes`, so the operator knows part of the plot is drawn, not measured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retrieval.errors import BadInput

MIN_LENGTH = 4
MAX_SAMPLES = 10_000_000        # time steps of one file
MAX_CHANNELS = 16               # panels of one render (160 px each)


@dataclass(frozen=True)
class Series:
    values: np.ndarray                  # (T, C) float64, finite
    channels: tuple[str, ...]           # C names, unique
    timestamps: np.ndarray | None       # (T,) datetime64[us] or float64, strictly increasing; None: index
    notes: tuple[str, ...] = ()         # what the operator should know about the reading (gaps filled)
    source: str = ""                    # the file it came from, for messages

    @property
    def time_kind(self) -> str:
        """'datetime', 'number' or 'index' (no timestamps)."""
        if self.timestamps is None:
            return "index"
        return "datetime" if np.issubdtype(self.timestamps.dtype, np.datetime64) else "number"

    def positions(self) -> np.ndarray:
        """(T,) relative time in [0, 1]: by timestamps when there are any, else by sample index.
        The profile's band and the render's x axis are in this relative time, so series of different
        lengths or sampling rates are compared over their own extent."""
        t = self.time_numbers()
        return (t - t[0]) / (t[-1] - t[0])

    def time_numbers(self) -> np.ndarray:
        """(T,) float64 time: microseconds since the epoch, the numeric timestamps, or the index."""
        if self.timestamps is None:
            return np.arange(len(self.values), dtype=np.float64)
        if self.time_kind == "datetime":
            return self.timestamps.astype("datetime64[us]").astype(np.int64).astype(np.float64)
        return self.timestamps.astype(np.float64)


def series_from_arrays(values, channels, timestamps=None, source: str = "") -> Series:
    """A checked `Series` from a (T,) or (T, C) array, C channel names and optional (T,) timestamps.
    All-NaN channels, too short / too long series and non-increasing timestamps are refused; NaN gaps
    are interpolated (noted)."""
    where = source or "the series"
    array = np.asarray(values, dtype=np.float64)
    array = array[:, None] if array.ndim == 1 else array
    channels = tuple(str(name) for name in channels)
    if array.ndim != 2 or array.shape[1] != len(channels):
        raise BadInput(f"{where}: values of shape {array.shape} do not match {len(channels)} channel names")
    _check_shape(array.shape, channels, where)
    filled, notes = _fill_gaps(array, channels, where)
    stamps = _check_timestamps(timestamps, len(array), where)
    return Series(filled, channels, stamps, tuple(notes), source)


def _check_shape(shape, channels, where: str) -> None:
    length, count = shape
    if count == 0:
        raise BadInput(f"{where}: no numeric column; a time series needs at least one column of numbers")
    if count > MAX_CHANNELS:
        raise BadInput(f"{where}: {count} channels, more than the cap of {MAX_CHANNELS}; keep at most "
                       f"{MAX_CHANNELS} columns (a C×T array must be transposed to T×C)")
    if len(set(channels)) != count:
        raise BadInput(f"{where}: channel names repeat ({', '.join(channels)}); give each column its own name")
    if length < MIN_LENGTH:
        raise BadInput(f"{where}: {length} sample(s); a time series needs at least {MIN_LENGTH} time steps")
    if length > MAX_SAMPLES:
        raise BadInput(f"{where}: {length} time steps, more than the cap of {MAX_SAMPLES:,}; "
                       "split the series or downsample it")


def _fill_gaps(array: np.ndarray, channels, where: str) -> tuple[np.ndarray, list[str]]:
    """NaN / infinite samples replaced by linear interpolation over the sample index; an all-missing
    channel is refused."""
    filled = array.copy()
    notes = []
    index = np.arange(len(array), dtype=np.float64)
    for column, name in enumerate(channels):
        good = np.isfinite(array[:, column])
        if not good.any():
            raise BadInput(f"{where}: channel {name!r} has no number (all empty or NaN); "
                           "drop the column or fill it")
        missing = int((~good).sum())
        if missing:
            filled[:, column] = np.interp(index, index[good], array[good, column])
            notes.append(f"channel {name!r}: {missing} missing sample(s) interpolated linearly")
    return filled, notes


def _check_timestamps(timestamps, length: int, where: str) -> np.ndarray | None:
    if timestamps is None:
        return None
    stamps = np.asarray(timestamps)
    if np.issubdtype(stamps.dtype, np.datetime64):
        stamps = stamps.astype("datetime64[us]")
        bad = np.isnat(stamps)
    else:
        stamps = stamps.astype(np.float64)
        bad = ~np.isfinite(stamps)
    if stamps.shape != (length,):
        raise BadInput(f"{where}: {stamps.size} timestamps for {length} samples")
    if bad.any():
        raise BadInput(f"{where}: timestamp of sample {int(np.argmax(bad)) + 1} is missing; "
                       "give every row a time or drop the time column")
    back = stamps[1:] <= stamps[:-1]
    if back.any():
        sample = int(np.argmax(back)) + 2                     # 1-based, the later of the two
        shown = stamps.astype("datetime64[s]") if np.issubdtype(stamps.dtype, np.datetime64) else stamps
        raise BadInput(f"{where}: timestamps do not increase at sample {sample} ({shown[sample - 2]} then "
                       f"{shown[sample - 1]}); sort the rows by time and drop repeated times")
    return stamps


def format_time(series: Series, value: float, integer_round=np.floor):
    """A time number (as from `time_numbers`) in the series' own unit, JSON-ready: an ISO string for
    datetimes, a float for numeric timestamps, a sample index (rounded by `integer_round`) otherwise."""
    if series.time_kind == "datetime":
        return str(np.datetime64(int(round(value)), "us").astype("datetime64[s]"))
    if series.time_kind == "number":
        return float(f"{value:.10g}")
    return int(np.clip(integer_round(value), 0, len(series.values) - 1))
