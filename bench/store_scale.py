"""Store scale benchmark: inspection latency, ingest and recalibration as the reference store grows.

Real parts: ELPV monocrystalline normal cells from PyPI `elpv-dataset` (CC BY-NC-SA 4.0, non-commercial).
A pool of real cells is ingested for real (features computed and cached). The store is then filled to
N references with **synthetic** ones: each is a pool cell's embedding plus small Gaussian noise
(re-normalised) under a new id, its cached features a hard link to that cell's file — so the k = 8 query,
the calibration check, the map against k cached references and the log all run for real at size N,
without encoding N images. Then, at each size and layout:
- inspect p50 / p90: `Inspector.inspect` of real held-out cells (vision-only, logged), warm, every
  query on every home in turn (the machine's changing load falls on all sizes alike); and the part of it
  that depends on the store (class check, threshold check, k = 8 query) timed alone;
- recalibration: a full one (no reusable scores) and the one inside an ingest of new real cells
  (incremental: only references whose neighbours changed are rescored), with that ingest's time;
- layouts: "one class" (all N references in the inspected class) and "50 classes" (N spread over 50).
Finally Chroma alone at --chroma-n synthetic vectors in one class (k = 8 query of the class's collection),
and with --legacy the older layout (one collection, filtered by class) for comparison.

    .venv/bin/python bench/store_scale.py [--sizes 100 1000 10000] [--chroma-n 100000] [--legacy]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.config import NormalcyConfig  # noqa: E402
from assistant.home import Home  # noqa: E402
from assistant.inspector import Inspector  # noqa: E402
from retrieval.reference_store import Reference  # noqa: E402

POOL, QUERIES, NEW = 40, 20, 8
CONFIG = replace(NormalcyConfig(), inputs=replace(NormalcyConfig().inputs, max_seconds=1e6))   # no time limit here


def cells() -> list[Path]:
    import elpv_dataset

    data = Path(elpv_dataset.__file__).parent / "data"
    rows = [line.split() for line in (data / "labels.csv").read_text().splitlines()]
    return sorted(data / r[0] for r in rows if r[2] == "mono" and float(r[1]) == 0.0)


def percentile(values, q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def seed(root: Path, pool: list[Path]):
    """A home holding the real pool cells -> (its workspace, their references, their (N, D) embeddings)."""
    inspector = Inspector(CONFIG, Home(root / "seed"))
    inspector.references.ingest([("pool", p) for p in pool])
    ws = inspector.workspace
    with ws.using_store():
        refs, embeddings = ws.references.of_class("pool", with_embeddings=True)
    return ws, refs, embeddings


def build(root: Path, seeded, n: int, n_classes: int, seed_no: int = 0):
    """A home with n synthetic references in n_classes classes (the inspected class is the first): each a
    pool cell's embedding + noise under a new id, its features a hard link to that cell's cached file."""
    seed_ws, pool_refs, pool_embeddings = seeded
    inspector = Inspector(CONFIG, Home(root / f"{n_classes}x{n}"))
    ws = inspector.workspace.for_writing()
    ws.features.dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed_no)
    classes, per_class = [f"part{c:02d}" for c in range(n_classes)], max(2, n // n_classes)
    with ws.using_store():
        for c, name in enumerate(classes):
            picks = rng.integers(0, len(pool_refs), per_class)
            noisy = pool_embeddings[picks] + rng.normal(0, 0.01, (per_class, pool_embeddings.shape[1]))
            noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
            refs = []
            for i, p in enumerate(picks):
                sha = f"{c:08x}{i:056x}"
                ws.features.path(sha).parent.mkdir(exist_ok=True)          # sharded by hash prefix
                os.link(seed_ws.features.path(pool_refs[p].sha256), ws.features.path(sha))
                refs.append(Reference(name, pool_refs[p].path, sha, pool_refs[p].width, pool_refs[p].height))
            ws.references.add(refs, noisy.astype(np.float32))
        ws.changed()
    return inspector, classes[0]


def calibration_times(inspector, name: str, query: Path, new: list[Path]) -> dict:
    """A full recalibration (no reusable scores), then an ingest of new real cells (incremental one inside)."""
    thresholds = inspector.thresholds
    start = time.perf_counter()
    inspector.inspect(query, name, log=False)                      # weights, first calibration
    first = time.perf_counter() - start
    thresholds.scores.path(name).unlink(missing_ok=True)
    start = time.perf_counter()
    thresholds.recalibrate(name)
    full = time.perf_counter() - start
    start = time.perf_counter()
    inspector.references.ingest([(name, p) for p in new])
    return {"first": first, "recal_full": full, "ingest": time.perf_counter() - start, "reused": thresholds.reused,
            "scored": thresholds.known(name).n_scored, "size": inspector.classes()[name]}


def store_part(inspector, name: str, embedding) -> float:
    """ms of what depends on the store's size: class check, threshold check, k = 8 query."""
    ws = inspector.workspace
    start = time.perf_counter()
    with ws.using_store():
        ws.references.require_class(name)
        inspector.thresholds.current(name)
        ws.references.nearest(name, embedding, 8)
    return 1000 * (time.perf_counter() - start)


def interleaved(homes: list[dict], queries: list[Path]) -> None:
    """Every query on every home in turn, so the machine's changing load falls on all sizes alike."""
    for home in homes:
        home["inspect"], home["store"] = [], []
    first = homes[0]["inspector"]
    for path in queries:
        embedding = first.scorer.featurize([first.load(path).image])[1][0]
        for home in homes:
            start = time.perf_counter()
            home["inspector"].inspect(path, home["name"])
            home["inspect"].append(1000 * (time.perf_counter() - start))
            home["store"].append(store_part(home["inspector"], home["name"], embedding))


def store_rows(root: Path, sizes, pool, queries, new) -> None:
    seeded = seed(root, pool)
    homes = []
    for n_classes, label in ((1, "one class"), (50, "50 classes")):
        for n in sizes:
            inspector, name = build(root, seeded, n, n_classes)
            homes.append({"label": label, "n": n, "inspector": inspector, "name": name,
                          **calibration_times(inspector, name, queries[0], new)})
            print(f"built {label} N={n}", file=sys.stderr, flush=True)
    interleaved(homes, queries)
    print(f"{'layout':<11} {'N':>6} {'class':>6} {'inspect p50':>11} {'p90':>7} {'store part p50':>14} {'p90':>6} "
          f"{'first inspect':>13} {'full recal':>10} {'ingest +8 (incl. recal)':>23} {'reused':>7}")
    for h in homes:
        print(f"{h['label']:<11} {h['n']:>6} {h['size']:>6} {statistics.median(h['inspect']):>8.0f} ms "
              f"{percentile(h['inspect'], 0.9):>4.0f} ms {statistics.median(h['store']):>11.1f} ms "
              f"{percentile(h['store'], 0.9):>3.0f} ms {h['first']:>11.1f} s {h['recal_full']:>8.1f} s {h['ingest']:>21.1f} s "
              f"{h['reused']:>3}/{h['scored']}")
    for label in ("one class", "50 classes"):
        p90 = {h["n"]: percentile(h["inspect"], 0.9) for h in homes if h["label"] == label}
        print(f"{label}: inspect p90 at {max(sizes)} / p90 at {min(sizes)} = {p90[max(sizes)] / p90[min(sizes)]:.2f}"
              " (target <= 1.2)")


def chroma_only(n: int, dim: int, legacy: bool) -> None:
    """k = 8 query latency at n synthetic vectors in one class: per-class collection (and the old layout)."""
    from retrieval.chroma_client import open_client
    from retrieval.config import StoreConfig
    from retrieval.reference_store import ReferenceStore

    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[rng.integers(0, n, 50)] + 0.01
    with tempfile.TemporaryDirectory(prefix="chroma_scale_") as root:
        store = ReferenceStore(open_client(Path(root), StoreConfig()), "synthetic@0")
        start = time.perf_counter()
        store.add([Reference("big", "x.png", f"{i:064x}", 1, 1) for i in range(n)], vectors)
        added = time.perf_counter() - start
        timed = _timed(lambda q: store.nearest("big", q, 8), queries)
        print(f"chroma alone, {n} synthetic {dim}-d vectors in one class, per-class collection: add {added:.0f} s, "
              f"k=8 query p50 {statistics.median(timed):.1f} ms, p90 {percentile(timed, 0.9):.1f} ms; "
              f"fingerprint {_timed(lambda q: store.fingerprint('big'), queries[:10])[5]:.1f} ms", flush=True)
        if legacy:
            _legacy(store.client, vectors, queries)


def _legacy(client, vectors, queries) -> None:
    old = client.create_collection("references", metadata={"hnsw:space": "cosine"}, embedding_function=None)
    for start in range(0, len(vectors), 5000):
        rows = range(start, min(len(vectors), start + 5000))
        old.add(ids=[f"big/{i:064x}" for i in rows], embeddings=vectors[start:start + 5000].tolist(),
                metadatas=[{"class": "big"} for _ in rows])
    timed = _timed(lambda q: old.query(query_embeddings=[q.tolist()], n_results=8, where={"class": "big"}), queries)
    print(f"  older layout (one collection, class filter): k=8 query p50 {statistics.median(timed):.1f} ms, "
          f"p90 {percentile(timed, 0.9):.1f} ms")


def _timed(call, queries) -> list[float]:
    out = []
    for q in queries:
        start = time.perf_counter()
        call(q)
        out.append(1000 * (time.perf_counter() - start))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 1000, 10000], help="none: Chroma alone only")
    parser.add_argument("--chroma-n", type=int, default=100_000, help="0 skips the Chroma-only run")
    parser.add_argument("--legacy", action="store_true", help="also time the older single-collection layout")
    args = parser.parse_args()
    normal = cells()
    pool, queries, new = normal[:POOL], normal[POOL:POOL + QUERIES], normal[POOL + QUERIES:POOL + QUERIES + NEW]
    print(f"ELPV mono normals (CC BY-NC-SA 4.0): {POOL} real pool cells, the rest of each store synthetic; "
          f"{QUERIES} real held-out query cells; {NEW} real cells ingested; load {os.getloadavg()[0]:.1f}")
    if args.sizes:
        with tempfile.TemporaryDirectory(prefix="store_scale_") as root:
            store_rows(Path(root), args.sizes, pool, queries, new)
    if args.chroma_n:
        chroma_only(args.chroma_n, 152, args.legacy)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
