"""Run-log scale benchmark: History list / get through the SQLite index at 100k **synthetic** records.

Writes N synthetic inspection records (spread over 30 days, a follow-up turn and an owner line for every
10th) straight into a run log, then times: building the index from the JSONL (first use, or after it
was deleted), History list (the default newest 1,000, the newest 50, all rows), History get (random ids), the refresh after one
more record is appended, an export of one day as CSV, and — for comparison — one full read of the JSONL,
which is what every list and get cost before the index.

    .venv/bin/python bench/records_scale.py [--n 100000]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.records.inspection_history import InspectionHistory  # noqa: E402
from assistant.records.run_log import RunLog  # noqa: E402


def record(i: int, day: int) -> dict:
    return {"time": f"2026-11-{day:02d}T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}",
            "kind": "inspection", "id": f"insp-{i:07d}", "class": f"part{i % 50:02d}", "question": None,
            "image": f"{i:064x}", "overlay": f"{i + 1:064x}", "source": f"line1/part_{i}.png",
            "encoder": "efficientnet-lite0@synthetic", "config_hash": "000000000000",
            "verdict": {"anomaly_score": (i % 200) / 100, "threshold": 1.0, "correctness": int(i % 200 < 100),
                        "status": "vision_only", "reasoning": "synthetic record for the benchmark " * 4,
                        "references": [{"sha256": f"{j:064x}", "distance": 0.1} for j in range(8)], "rules": []}}


def fill(log: RunLog, n: int) -> None:
    per_day = -(-n // 30)
    for day in range(30):
        rows = []
        for i in range(day * per_day, min(n, (day + 1) * per_day)):
            rows.append(record(i, day + 1))
            if i % 10 == 0:
                rows += [{"time": rows[-1]["time"], "kind": "turn", "inspection": f"insp-{i:07d}",
                          "question": "where?", "answer": "top left"},
                         {"time": rows[-1]["time"], "kind": "owner", "inspection": f"insp-{i:07d}",
                          "owner": f"user:op{i % 7}"}]
        log.append_many(rows)
        os.rename(log.folder / f"{time.strftime('%Y-%m-%d')}.jsonl", log.folder / f"2026-11-{day + 1:02d}.jsonl")


def timed(call, repeat: int = 1) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        out.append(1000 * (time.perf_counter() - start))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="records_scale_") as root:
        log = RunLog(Path(root) / "runs")
        start = time.perf_counter()
        fill(log, args.n)
        size = sum(p.stat().st_size for p in log.folder.glob("*.jsonl")) / 1e6
        print(f"{args.n} synthetic inspection records ({size:.0f} MB of JSONL) written in "
              f"{time.perf_counter() - start:.1f} s; load {os.getloadavg()[0]:.1f}")
        history = InspectionHistory(log)
        build = timed(lambda: history.list(limit=1))[0]
        print(f"index built from the JSONL (first use / after deleting it): {build / 1000:.1f} s")
        report("History list (default: newest 1,000)", timed(lambda: history.list(), 20))
        report("History list, newest 50", timed(lambda: history.list(limit=50), 20))
        report("History list, all rows (limit=None)", timed(lambda: history.list(limit=None), 5))
        report("History list, one owner", timed(lambda: history.list("user:op3"), 5))
        ids = [f"insp-{i:07d}" for i in rng.integers(0, args.n, 50)]
        report("History get (random id)", [timed(lambda i=i: history.get(i))[0] for i in ids])
        appended = []
        for i in range(10):
            log.append(record(args.n + i, 30))
            appended += timed(lambda: history.list(limit=50))
        report("list right after one more record is appended", appended)
        sink = io.StringIO()
        report("export one day as CSV", timed(lambda: history.export("2026-11-15", "2026-11-15", "csv", sink)))
        report("(before the index) one full read of the JSONL", timed(log.records))
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")


def report(what: str, ms: list[float]) -> None:
    ordered = sorted(ms)
    print(f"{what:<48} p50 {statistics.median(ms):8.1f} ms   p90 {ordered[int(0.9 * (len(ms) - 1))]:8.1f} ms")


if __name__ == "__main__":
    main()
