"""The CLAD text map beside the few-shot map (issue 12) — prints numbers, through the shipped code path.

    PYTHONPATH=$PWD .venv/bin/python bench/make_datasets.py /tmp/nb --elpv-types mono,poly --seed 1
    PYTHONPATH=$PWD .venv/bin/python bench/text_maps.py /tmp/nb [--limit 60] [--references 48]
                                                       [--weights 0.1,0.25,0.5] [--sets brick,grass]
                                                       [--temperature 0.07] [--threads 1]
    PYTHONPATH=$PWD .venv/bin/python bench/text_maps.py /tmp/nb --nand [--group stain] [--weights 0,0.1]
                                                       [--temperature 1.0] [--normality-temperature 0.07]
                                                       [--threads 1]

Per set (ELPV mono / poly: image labels only; the textures: masks too) a fresh home is ingested with (an
even spread of at most --references of) its train/good images, the class's CLAD heads are trained
(`retrieval.text_map.provider: clad`, weight 0, so the gathered grid is the few-shot map itself) and every
test image (at most --limit of each ELPV kind) is gathered once. From that one evidence: image AUROC and
(textures) pixel AUROC of the few-shot map alone, the text map alone and the fused map at each weight
(fused = (1 - w) * few-shot / threshold + w * text, assistant/inspection/text_map.py); the training time
of the class; the time the text map adds to one inspection (the text-map step, timed inside the gather:
median and p90). Say the machine's load (`uptime`) beside the timings: on a loaded 2-core machine
torch's default two threads contend (the encoder alone went 29 ms -> 1.6 s), --threads 1 avoids that.

--nand: the NAND protocol on DATA/textures (MVTec layout), through the harness's own code path
(`normalcy eval DATA/textures --add-normal GROUP`, assistant/evaluation/normality_protocol.py): GROUP (stain)
re-labelled normal, "a GROUP is acceptable" added per class; per class and mean, AUROC before -> after on
the re-labelled task and on each other group (vs the good images), once per fusion weight in --weights.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.evaluation.metrics import auroc  # noqa: E402
from assistant.home import Home  # noqa: E402
from bench import map_data  # noqa: E402


def inspector_for(home, temperature: float, weight: float = 0.0, normality_temperature: float | None = None):
    """An Inspector over `home` (a Home) with the CLAD text map at `temperature`, fused at `weight`; NAND's
    suppression at `normality_temperature` (None: the config's default)."""
    from assistant.config import NormalcyConfig
    from assistant.inspector import Inspector
    from retrieval.config import RetrievalConfig, TextMapConfig

    colder = {} if normality_temperature is None else {"normality_temperature": normality_temperature}
    text_map = TextMapConfig(provider="clad", weight=weight, temperature=temperature, **colder)
    config = NormalcyConfig(retrieval=RetrievalConfig(text_map=text_map))
    return Inspector(config, home)


def timed_text_maps(spent: list[float]):
    """Wrap the text-map step of the gather so its time per inspection lands in `spent`."""
    from assistant.inspection import text_map

    original = text_map.text_map

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - start)

    text_map.text_map = timed


def gathered(inspector, dataset, limit_refs: int):
    """(train seconds, [(few-shot grid, text grid) in anomaly-score units, per test image]). The heads train
    during the ingest's recalibration; their stored record says how long that took."""
    import json

    references = map_data._spread(dataset.references, limit_refs)
    inspector.references.ingest([(dataset.name, p) for p in references])
    records = [json.loads(p.read_text()) for p in inspector.workspace.home.text_heads.glob("*.json")]
    seconds = next((r["training"]["seconds"] for r in records if r["class"] == dataset.name), float("nan"))
    maps = []
    for path in dataset.tests:
        evidence = inspector.gatherer.gather(inspector.load(path), dataset.name, with_rules=False)
        maps.append((evidence.grid / evidence.threshold, evidence.text_grid, evidence.query.size))
    return seconds, maps


def source(maps, weight: float | None) -> list[np.ndarray]:
    """Per image the grid of one source: few-shot (weight 0), text (weight None), fused (weight w)."""
    if weight is None:
        return [text for _, text, _ in maps]
    return [(1 - weight) * few + weight * text for few, text, _ in maps]


def pixel_auroc(dataset, grids, maps) -> float:
    from retrieval import anomaly_map

    shown = [anomaly_map.upsample(g, size[1], size[0]) for g, (_, _, size) in zip(grids, maps)]
    masks = [map_data.load_mask(m, size) for m, (_, _, size) in zip(dataset.masks, maps)]
    return auroc(np.concatenate([m.ravel() for m in masks]), np.concatenate([s.ravel() for s in shown]))


def row(dataset, maps, weights, top: float) -> list[str]:
    from retrieval import anomaly_map

    cells = []
    for weight in [0.0, None, *weights]:
        grids = source(maps, weight)
        image = auroc(dataset.labels, [anomaly_map.image_score(g, top) for g in grids])
        pixel = None if dataset.masks is None else pixel_auroc(dataset, grids, maps)
        cells.append(f"{image:.4f}" + ("" if pixel is None else f" / {pixel:.4f}"))
    return cells


def _cells(result: dict) -> list[str]:
    """"before -> after (+change)" of the re-labelled task, then of each other group."""
    def cell(pair):
        return f"{pair['before']:.4f} -> {pair['after']:.4f} ({100 * (pair['after'] - pair['before']):+.1f})"
    return [cell(result["relabelled"]), *(cell(pair) for _, pair in sorted(result["others"].items()))]


def nand(data: Path, group: str, weights: list[float], temperature: float, normality_temperature=None) -> int:
    """The NAND protocol's table (see the module docstring), one block per fusion weight."""
    from assistant.evaluation.dataset import load_dataset
    from assistant.evaluation.normality_protocol import run_protocol
    from retrieval.config import TextMapConfig

    colder = TextMapConfig().normality_temperature if normality_temperature is None else normality_temperature
    dataset = load_dataset(data / "textures", "mvtec")
    for weight in weights:
        with tempfile.TemporaryDirectory(prefix="text_maps-nand-") as out:
            start = time.perf_counter()
            document = run_protocol(dataset, Path(out), group, inspector_for=lambda home, _backend:
                                    inspector_for(home, temperature, weight, normality_temperature)).document
            seconds = time.perf_counter() - start
        others = sorted(document["mean"]["others"])
        header = ["class", f"{group} re-labelled", *[f"{g} vs good" for g in others]]
        print(f"\nNAND, weight {weight:g}, temperature {temperature:g}, normality temperature "
              f"{colder:g}, {document['normality']!r}, {seconds:.0f} s\n"
              + " | ".join(header) + "\n" + " | ".join("---" for _ in header))
        for name, result in [*document["classes"].items(), ("mean", document["mean"])]:
            print(" | ".join([name, *_cells(result)]), flush=True)
    print("cells: AUROC before -> after the normality (change in AUROC points)")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--limit", type=int, default=60, help="ELPV: at most N good and N defect test images")
    parser.add_argument("--references", type=int, default=48, help="at most N references per set (even spread)")
    parser.add_argument("--weights", default="0.1,0.25,0.5")
    parser.add_argument("--sets", default="", help="comma-separated set names (default: all found)")
    parser.add_argument("--temperature", type=float, default=0.07, help="retrieval.text_map.temperature")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--nand", action="store_true", help="the NAND protocol on DATA/textures instead")
    parser.add_argument("--group", default="stain", help="--nand: the defect group re-labelled normal")
    parser.add_argument("--normality-temperature", type=float, default=None,
                        help="--nand: retrieval.text_map.normality_temperature (default: the config's)")
    args = parser.parse_args(argv)
    weights = [float(w) for w in args.weights.split(",") if w]
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.nand:
        return nand(args.data, args.group, weights, args.temperature, args.normality_temperature)
    wanted = {s.strip() for s in args.sets.split(",") if s.strip()}
    sets = [d for d in map_data.datasets(args.data, args.limit) if not wanted or d.name in wanted]
    if not sets:
        print(f"no datasets under {args.data}; make them with bench/make_datasets.py", file=sys.stderr)
        return 2
    spent: list[float] = []
    timed_text_maps(spent)
    header = ["set", "refs", "tests", "heads s", "few-shot", "text", *[f"fused w={w:g}" for w in weights],
              "text ms p50/p90"]
    print(" | ".join(header) + "\n" + " | ".join("---" for _ in header))
    for dataset in sets:
        with tempfile.TemporaryDirectory(prefix="text_maps-") as home:
            inspector = inspector_for(Home(Path(home)), args.temperature)
            top = inspector.config.retrieval.map.top_fraction
            spent.clear()
            seconds, maps = gathered(inspector, dataset, args.references)
            p50, p90 = (1000 * float(np.quantile(spent[1:] or spent, q)) for q in (0.5, 0.9))
            refs = min(len(dataset.references), args.references)
            print(" | ".join([dataset.name, str(refs), str(len(dataset.tests)), f"{seconds:.1f}",
                              *row(dataset, maps, weights, top), f"{p50:.1f} / {p90:.1f}"]), flush=True)
    print("cells: image AUROC (/ pixel AUROC where the set has masks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
