"""Time-series files -> `Series`: CSV / TSV (header optional), Parquet (through pyarrow), NPY (T or T×C).

A column is a channel when every filled cell is a number. The time column is the first one named like
time (time, date, datetime, timestamp, year, ts, t, also "time (s)" or "date_utc") holding ISO dates or
numbers, else the first column of ISO dates; without one the time axis is the sample index. Text
columns are skipped (noted). Unnamed columns (no header, .npy) are ch1, ch2, ... `looks_like_series`
and `looks_like_point_csv` tell the integrator which modality an ambiguous .npy / .csv belongs to: an
N×3 array and a CSV headed x, y, z are point clouds.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from assistant.modalities.time_series_data import MAX_CHANNELS, MAX_SAMPLES, MIN_LENGTH, Series, series_from_arrays
from retrieval.errors import BadInput

TIME_NAME = re.compile(r"^(time|date|datetime|timestamp|year|ts|t)([ _\-(\[].*)?$", re.IGNORECASE)
MISSING = frozenset({"", "nan", "na", "n/a", "null", "none", "-"})


@dataclass(frozen=True)
class _Column:
    name: str
    kind: str           # "number" | "datetime" | "text"
    data: object        # (T,) float64 | (T,) datetime64[us] | list[str]


def read_series(path: str | Path) -> Series:
    """The series in `path`, by extension; one `BadInput` line for a bad or unknown file."""
    path = Path(path)
    readers = {".csv": read_csv, ".tsv": read_csv, ".txt": read_csv, ".parquet": read_parquet,
               ".pq": read_parquet, ".npy": read_npy}
    suffix = path.suffix.lower()
    if suffix not in readers:
        raise BadInput(f"{path}: {suffix or 'no extension'} is not a time-series file; "
                       "use .csv, .tsv, .parquet or .npy")
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    return readers[suffix](path)


def read_csv(path: Path) -> Series:
    rows = _csv_rows(path)
    header = not any(cell.lower() not in MISSING and _number(cell) is not None for cell in rows[0])
    names = [cell or f"ch{i + 1}" for i, cell in enumerate(rows[0])] if header else \
        [f"ch{i + 1}" for i in range(len(rows[0]))]
    body = rows[1:] if header else rows
    for number, row in enumerate(body, start=2 if header else 1):
        if len(row) != len(names):
            raise BadInput(f"{path}: row {number} has {len(row)} cells, the first row {len(names)}; "
                           "give every row the same columns")
    cells = list(zip(*body)) if body else [() for _ in names]
    return _assemble([_classify(name, list(column)) for name, column in zip(names, cells)], path)


def _csv_rows(path: Path) -> list[list[str]]:
    """The non-blank rows of the file, cells stripped; refused past MAX_SAMPLES rows."""
    rows = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            first = handle.readline()
            handle.seek(0)
            delimiter = "\t" if path.suffix.lower() == ".tsv" else _delimiter(first)
            for row in csv.reader(handle, delimiter=delimiter):
                if any(cell.strip() for cell in row):
                    rows.append([cell.strip() for cell in row])
                if len(rows) > MAX_SAMPLES + 1:
                    raise BadInput(f"{path}: more than the cap of {MAX_SAMPLES:,} rows; "
                                   "split the series or downsample it")
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text; save the CSV as UTF-8") from None
    except csv.Error as error:
        raise BadInput(f"{path}: not a readable CSV ({_one_line(error)}); re-export it") from None
    if not rows:
        raise BadInput(f"{path}: empty; a CSV series needs rows of numbers")
    return rows


def _delimiter(line: str) -> str:
    counts = {delimiter: line.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _number(cell: str) -> float | None:
    """The cell as a float (NaN for a missing-value token), None when it is text."""
    if cell.lower() in MISSING:
        return float("nan")
    try:
        return float(cell)
    except ValueError:
        return None


def _classify(name: str, cells: list[str]) -> _Column:
    numbers = [_number(cell) for cell in cells]
    if all(value is not None for value in numbers):
        return _Column(name, "number", np.array(numbers, dtype=np.float64))
    stamps = _datetimes(cells)
    if stamps is not None:
        return _Column(name, "datetime", stamps)
    return _Column(name, "text", cells)


def _datetimes(cells: list[str]) -> np.ndarray | None:
    """ISO 8601 cells as datetime64[us] (UTC when they carry an offset; NaT when missing), None when a
    cell is not ISO or none is filled."""
    out = []
    for cell in cells:
        if cell.lower() in MISSING:
            out.append(np.datetime64("NaT", "us"))
            continue
        try:
            moment = datetime.fromisoformat(cell)
        except ValueError:
            return None
        if moment.tzinfo is not None:
            moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
        out.append(np.datetime64(moment, "us"))
    stamps = np.array(out, dtype="datetime64[us]")
    return None if np.isnat(stamps).all() else stamps


def _assemble(columns: list[_Column], path: Path) -> Series:
    """The time column and the numeric channels of a file's columns, through `series_from_arrays`."""
    time = _time_column(columns, path)
    channels = [column for column in columns if column.kind == "number" and column is not time]
    skipped = [f"column {column.name!r} is not numeric: skipped" for column in columns
               if column.kind != "number" and column is not time]
    if not channels:
        raise BadInput(f"{path}: no numeric column (found {', '.join(c.name for c in columns) or 'none'}); "
                       "a time series needs at least one column of numbers")
    values = np.column_stack([column.data for column in channels])
    series = series_from_arrays(values, [column.name for column in channels],
                                None if time is None else time.data, str(path))
    return replace(series, notes=(*skipped, *series.notes))


def _time_column(columns: list[_Column], path: Path) -> _Column | None:
    named = [column for column in columns if TIME_NAME.match(column.name)]
    if named:
        column = named[0]
        if column.kind == "text":
            example = next((cell for cell in column.data if _number(cell) is None), "")
            raise BadInput(f"{path}: time column {column.name!r} holds neither ISO dates nor numbers "
                           f"(e.g. {example!r}); write ISO 8601 times (2024-01-31T12:00:00) or numbers")
        return column
    return next((column for column in columns if column.kind == "datetime"), None)


def read_parquet(path: Path) -> Series:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise BadInput(f"{path}: reading .parquet needs pyarrow (pip install -c constraints.txt pyarrow); "
                       "or save the series as .csv") from None
    try:
        handle = pq.ParquetFile(path)
        if handle.metadata.num_rows > MAX_SAMPLES:
            raise BadInput(f"{path}: {handle.metadata.num_rows:,} rows, more than the cap of "
                           f"{MAX_SAMPLES:,}; split the series or downsample it")
        table = handle.read()
    except (pa.ArrowException, OSError) as error:
        raise BadInput(f"{path}: not a readable Parquet file ({_one_line(error)}); re-export it") from None
    return _assemble([_arrow_column(name, table.column(name), pa) for name in table.column_names], path)


def _arrow_column(name: str, column, pa) -> _Column:
    kind = column.type
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        stamps = column.cast(pa.timestamp("us")).to_numpy()
        return _Column(name, "datetime", np.asarray(stamps, dtype="datetime64[us]"))
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return _Column(name, "number", np.asarray(column.cast(pa.float64()).to_numpy(), dtype=np.float64))
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _classify(name, ["" if cell is None else cell.strip() for cell in column.to_pylist()])
    return _Column(name, "text", [])


def read_npy(path: Path) -> Series:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise BadInput(f"{path}: not a readable .npy array ({_one_line(error)}); "
                       "save it with numpy.save") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "iuf":
        raise BadInput(f"{path}: not an array of numbers; a time series .npy holds ints or floats")
    if array.ndim not in (1, 2):
        raise BadInput(f"{path}: an array of shape {array.shape}; a time series .npy is 1-D (T) or 2-D (T×C)")
    if array.shape[0] > MAX_SAMPLES:
        raise BadInput(f"{path}: {array.shape[0]:,} time steps, more than the cap of {MAX_SAMPLES:,}; "
                       "split the series or downsample it")
    count = 1 if array.ndim == 1 else array.shape[1]
    return series_from_arrays(np.asarray(array, dtype=np.float64), [f"ch{i + 1}" for i in range(count)],
                              None, str(path))


def looks_like_series(array) -> bool:
    """Whether a loaded .npy array is a time series: numeric, 1-D, or 2-D T×C with 1..MAX_CHANNELS
    columns other than 3 (N×3 is a point cloud's shape; read a 3-channel series with --modality
    time_series) and at least MIN_LENGTH rows. H×W×3 (organised cloud) is not."""
    array = np.asarray(array)
    if array.dtype.kind not in "iuf" or array.ndim not in (1, 2) or array.shape[0] < MIN_LENGTH:
        return False
    return array.ndim == 1 or 1 <= array.shape[1] <= MAX_CHANNELS and array.shape[1] != 3


def looks_like_point_csv(path: str | Path) -> bool:
    """Whether a CSV's header names exactly the columns x, y, z (any order or case): a point cloud."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            first = handle.readline()
    except (OSError, UnicodeDecodeError):
        return False
    cells = next(csv.reader([first], delimiter=_delimiter(first)), [])
    return sorted(cell.strip().lower() for cell in cells) == ["x", "y", "z"]


def _one_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
