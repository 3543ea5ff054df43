"""Where a running server's memory goes: `NORMALCY_MEMORY_PROBE=FILE normalcy serve` appends one JSON line
to FILE every `NORMALCY_MEMORY_PROBE_S` seconds (default 20) — RSS, the sessions Gradio holds, the number
of Python objects and the object types (gc) that grew most since the first line; with
`NORMALCY_MEMORY_PROBE_TRACE=1` also the Python heap tracemalloc sees and the allocation sites (8 frames)
that grew most (tracing slows every allocation: a loaded server then times out requests). A diagnosis
tool, off unless the variable is set; it does not see memory that native libraries (torch, Pillow,
Chroma's HNSW) allocate themselves.
"""

from __future__ import annotations

import gc
import json
import os
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path

PROBE_ENV = "NORMALCY_MEMORY_PROBE"
INTERVAL_ENV = "NORMALCY_MEMORY_PROBE_S"
TRACE_ENV = "NORMALCY_MEMORY_PROBE_TRACE"
TOP = 12


def start_probe(app) -> threading.Event | None:
    """Start sampling into $NORMALCY_MEMORY_PROBE (nothing when it is unset); `app`: the Gradio Blocks.
    Returns the event that stops it (and its tracing)."""
    target = os.environ.get(PROBE_ENV)
    if not target:
        return None
    interval = float(os.environ.get(INTERVAL_ENV, "20"))
    trace, stop = os.environ.get(TRACE_ENV) == "1", threading.Event()
    threading.Thread(target=_sample_until, args=(Path(target), app, interval, trace, stop), daemon=True,
                     name="memory-probe").start()
    return stop


def rss_mb() -> float:
    """This process's resident set size in MB (Linux /proc; 0 elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def _types() -> Counter:
    return Counter(type(obj).__qualname__ for obj in gc.get_objects())


def _sessions(app) -> int | None:
    holder = getattr(app, "state_holder", None)
    return len(holder.session_data) if holder is not None else None


def _grown(snapshot, baseline) -> list[dict]:
    stats = snapshot.compare_to(baseline, "traceback")[:TOP]
    return [{"mb": round(stat.size_diff / 2**20, 2), "blocks": stat.count_diff,
             "where": [f"{frame.filename.split('site-packages/')[-1]}:{frame.lineno}" for frame in stat.traceback]}
            for stat in stats if stat.size_diff > 0]


def _sample_until(target: Path, app, interval: float, trace: bool, stop: threading.Event) -> None:
    if stop.wait(interval):       # tracing starts once the server is up
        return
    if trace:
        tracemalloc.start(8)
    try:
        _sample(target, app, interval, trace, stop)
    finally:
        if trace:
            tracemalloc.stop()


def _sample(target: Path, app, interval: float, trace: bool, stop: threading.Event) -> None:
    started, baseline, base_types = time.monotonic(), None, None
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    while not stop.wait(interval):
        gc.collect()
        snapshot, types = tracemalloc.take_snapshot().filter_traces(ignore) if trace else None, _types()
        if base_types is None:
            baseline, base_types = snapshot, types
        line = {"t_s": round(time.monotonic() - started, 1), "rss_mb": rss_mb(), "sessions": _sessions(app),
                "objects": sum(types.values()), "grown_types": (types - base_types).most_common(TOP)}
        if trace:
            line.update(traced_mb=round(tracemalloc.get_traced_memory()[0] / 2**20, 1),
                        grown_at=_grown(snapshot, baseline))
        with target.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")
