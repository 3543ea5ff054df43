"""Latency of the CLIP text map per inspection, with a cold and a warm reference patch cache (issue 12).

    PYTHONPATH=$PWD .venv/bin/python bench/clip_latency.py [--queries 10] [--references 14] [--k 8]
                                                          [--clip FOLDER] [--threads 1]

A fresh home is ingested with --references tiles of scikit-image's brick photo (the test suite's texture),
class `brick`, with `retrieval.text_map.provider: clip` (weight 0). Each of --queries other tiles is
gathered twice through the shipped path (`EvidenceGatherer.gather`): once after the home's CLIP patch
cache is emptied (cold: the query and its k references go through the ViT) and once with it full (warm:
the query only). Timed is the text-map step inside the gather (zero-shot map + few-shot CLIP memory),
median and p90, with the CLIP forwards counted (after one untimed gather that embeds the prompts).
--clip: an open_clip checkpoint folder; default the tiny random ViT-B-16 of tests/tiny_clip_factory.py
(embed 32, width 64, 4 blocks): its times are not a real ViT-B-16's. Say the machine's load (`uptime`)
beside the figures.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))      # tiny_clip_factory: the test tool that builds the tiny model


def tiles(folder: Path, count: int) -> list[Path]:
    """`count` 96 px tiles of the brick photo saved as PNGs in `folder`."""
    import skimage.data
    from PIL import Image

    from assistant.demo.synthetic_defect import tiles as cut

    folder.mkdir(parents=True)
    paths = []
    for i, tile in enumerate(cut(skimage.data.brick(), 96)[:count]):
        Image.fromarray(tile).save(folder / f"tile_{i:02d}.png")
        paths.append(folder / f"tile_{i:02d}.png")
    return paths


def inspector_for(home: Path, clip: Path, k: int):
    from assistant.config import NormalcyConfig
    from assistant.home import Home
    from assistant.inspector import Inspector
    from retrieval.config import MapConfig, RetrievalConfig, TextMapConfig

    retrieval = RetrievalConfig(map=MapConfig(k=k), text_map=TextMapConfig(provider="clip", path=str(clip)))
    return Inspector(NormalcyConfig(retrieval=retrieval), Home(home))


def instrumented(space, spent: list[float], forwards: list[int]) -> None:
    """Time the text-map step into `spent`; count `space`'s CLIP forwards into forwards[0]."""
    from assistant.inspection import text_map

    original_map, original_forward = text_map.text_map, space.patch_embeddings

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original_map(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - start)

    def counted(image):
        forwards[0] += 1
        return original_forward(image)

    text_map.text_map, space.patch_embeddings = timed, counted


def measure(inspector, queries: list[Path]) -> dict[str, tuple[list[float], list[int]]]:
    """{"cold", "warm"}: (text-map seconds, CLIP forwards) per inspection."""
    from assistant.inspection.text_spaces import text_space_for

    ws = inspector.workspace
    with ws.using_store():
        inspector.thresholds.current("brick")
        space = text_space_for(ws, "brick")
    inspector.gatherer.gather(inspector.load(queries[0]), "brick", with_rules=False)   # the prompts, embedded once
    spent, forwards = [], [0]
    instrumented(space, spent, forwards)
    result = {"cold": ([], []), "warm": ([], [])}
    for path in queries:
        loaded = inspector.load(path)
        for state in ("cold", "warm"):
            if state == "cold":
                shutil.rmtree(ws.home.features / "clip", ignore_errors=True)
            forwards[0] = 0
            inspector.gatherer.gather(loaded, "brick", with_rules=False)
            result[state][0].append(spent[-1])
            result[state][1].append(forwards[0])
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=10, help="at most 25 - --references (the photo's tiles)")
    parser.add_argument("--references", type=int, default=14)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--clip", type=Path, default=None, help="open_clip checkpoint folder (default: tiny)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="clip_latency-") as tmp:
        root = Path(tmp)
        if args.clip is None:
            from tiny_clip_factory import build_open_clip

            args.clip = build_open_clip(root / "ViT-B-16-tiny")
        paths = tiles(root / "tiles", args.references + args.queries)
        inspector = inspector_for(root / "home", args.clip, args.k)
        inspector.references.ingest([("brick", p) for p in paths[:args.references]])
        queries = paths[args.references:]
        if not queries:
            print(f"--references {args.references}: the photo has {len(paths)} tiles, none left to query")
            return 2
        result = measure(inspector, queries)
    print(f"CLIP text map per inspection: {args.clip.name}, {args.references} references, k={args.k}, "
          f"{len(queries)} queries, {args.threads} thread(s)")
    print("cache | median ms | p90 ms | CLIP forwards per inspection")
    for state, (seconds, forwards) in result.items():
        ms = np.array(seconds) * 1000
        print(f"{state} | {statistics.median(ms):.1f} | {np.quantile(ms, 0.9):.1f} | {statistics.median(forwards):g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
