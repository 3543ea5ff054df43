"""Bytes per reference and map quality for each feature encoding (issue 14) — prints numbers.

    PYTHONPATH=$PWD .venv/bin/python bench/make_datasets.py /tmp/nb_dev --seed 1 --elpv-types mono,poly
    PYTHONPATH=$PWD .venv/bin/python bench/storage_size.py /tmp/nb_dev [--limit N] [--sets brick,grass]

For every dev set (ELPV mono, ELPV poly, brick, grass, gravel) and every encoding of the reference
features (`retrieval/feature_codec.py`: float16 or int8, whole grid or a greedy coreset of it; and, for
comparison, a random orthogonal projection of the channels, which the product does not ship): the bytes
one reference takes (features file, stored copy, total) and the image AUROC (textures: pixel AUROC and
AUPRO too) of the shipped map, all in one run on identical backbone maps. The map is the shipped one
(`bench.map_pipelines` with product=True: the shipped aggregation, k = 8 retrieved by the full-precision
embedding as Chroma holds it, nearest patch, sigma 1, max); only the bank patches come from the decoded
file. Copy bytes: "old" = the reduced RGB PNG re-encoding (<= 768 px) stored before issue 14, "new" =
the original file as ingested.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.evaluation.metrics import auroc  # noqa: E402
from bench import map_data, map_pipelines as mp  # noqa: E402
from bench.map_quality import pixel  # noqa: E402
from retrieval import feature_codec  # noqa: E402
from retrieval.config import FeaturesConfig  # noqa: E402

PRODUCT = mp.Variant("shipped map", product=True)
# (label, encoding, projected channels or 0)
ENCODINGS = [
    ("float16 grid (before)", FeaturesConfig("float16", 1.0), 0),
    ("int8 grid", FeaturesConfig("int8", 1.0), 0),
    ("int8 coreset 50 %", FeaturesConfig("int8", 0.5), 0),
    ("int8 coreset 25 %", FeaturesConfig("int8", 0.25), 0),
    ("int8 coreset 10 %", FeaturesConfig("int8", 0.1), 0),
    ("int8 grid, projection to 64", FeaturesConfig("int8", 1.0), 64),
]


def encoder():
    from retrieval.config import EncoderConfig
    from retrieval.encoders.image_encoder import load_image_encoder

    return load_image_encoder(EncoderConfig())


def projection(channels: int, dims: int) -> torch.Tensor:
    """(C, dims) random orthonormal columns, seeded: distances shrink by about sqrt(dims / C), evenly."""
    gaussian = torch.from_numpy(np.random.default_rng(0).standard_normal((channels, dims)).astype(np.float32))
    return torch.linalg.qr(gaussian).Q


def project(feats: torch.Tensor, basis: torch.Tensor | None) -> torch.Tensor:
    return feats if basis is None else torch.einsum("nchw,cd->ndhw", feats, basis)


def stored_banks(ref_feats: torch.Tensor, encoding, basis) -> tuple[list[torch.Tensor], float]:
    """Each reference's bank as read back from its encoded file, and the mean file size in bytes."""
    banks, sizes = [], []
    for feats in project(ref_feats, basis):
        data = feature_codec.encode(feats.numpy(), encoding)
        stored, problem = feature_codec.decode(data)
        assert problem is None, problem
        banks.append(torch.from_numpy(stored.bank))
        extra = 4 * (ref_feats.shape[1] - basis.shape[1]) if basis is not None else 0   # the full mean is kept
        sizes.append(len(data) + extra)
    return banks, float(np.mean(sizes))


def copy_sizes(paths: list[Path]) -> tuple[float, float]:
    """Mean bytes of the old reduced RGB PNG copy and of the original file."""
    from assistant.inspection.inputs import load_image
    from retrieval.atomic_file import png_bytes

    old = []
    for path in paths:
        copy = load_image(path).image.copy()
        copy.thumbnail((768, 768))
        old.append(len(png_bytes(copy)))
    return float(np.mean(old)), float(np.mean([p.stat().st_size for p in paths]))


def scored(data: map_data.Dataset, queries, ref_emb, q_emb, banks) -> dict:
    rng = np.random.default_rng(0)
    scores, grids = [], []
    for i in range(queries.shape[0]):
        bank = torch.cat([banks[j] for j in mp.choose(q_emb[i], ref_emb, PRODUCT, rng)])
        grid, score = mp.grid_score(queries[i], bank, PRODUCT)
        scores.append(score)
        grids.append(grid)
    pix_auc, pro = pixel(data, np.stack(grids))
    return {"auroc": auroc(data.labels, np.array(scores)), "pixel_auroc": pix_auc, "aupro": pro}


def measure(data: map_data.Dataset, enc) -> list[dict]:
    queries = mp.features(map_data.cached_maps(enc, f"{data.name}-test", data.tests), PRODUCT)
    refs = mp.features(map_data.cached_maps(enc, f"{data.name}-ref", data.references), PRODUCT)
    ref_emb, q_emb = mp.embeddings(refs), mp.embeddings(queries)          # as Chroma holds them: full precision
    old_copy, new_copy = copy_sizes(data.references)
    rows = []
    for label, encoding, dims in ENCODINGS:
        basis = projection(refs.shape[1], dims) if dims else None
        banks, size = stored_banks(refs, encoding, basis)
        row = scored(data, project(queries, basis), ref_emb, q_emb, banks)
        rows.append({"label": label, "features": size, "old_copy": old_copy, "new_copy": new_copy, **row})
        print(f"  {data.name:16} {label:28} features {size / 1000:7.1f} kB  AUROC {fmt(row['auroc'])}"
              f"  px {fmt(row['pixel_auroc'])}  AUPRO {fmt(row['aupro'])}", flush=True)
    return rows


def fmt(x) -> str:
    return "  -  " if x is None else f"{x:.3f}"


def table(sets, results) -> None:
    """Per encoding: image AUROC per set, then bytes per reference (features + copy) per set and the
    reduction against the float16 grid + RGB PNG copy stored before issue 14; textures: pixel AUROC / AUPRO."""
    names = [d.name.replace("solar_cell_", "elpv_") for d in sets]
    print(f"\n{'encoding':30}{'feat kB':>8}" + "".join(f"{n:>13}" for n in names) + "  min dAUROC")
    old = [r[0]["features"] + r[0]["old_copy"] for r in results]
    print(f"{'before: float16 grid + RGB PNG':30}{results[0][0]['features'] / 1000:8.1f}"
          + "".join(f"{fmt(r[0]['auroc']):>13}" for r in results))
    print(f"{'   total kB per reference':38}" + "".join(f"{t / 1000:13.1f}" for t in old))
    for index, (label, _, _) in enumerate(ENCODINGS):
        rows = [r[index] for r in results]
        delta = min(r["auroc"] - base[0]["auroc"] for r, base in zip(rows, results))
        print(f"{label:30}{np.mean([r['features'] for r in rows]) / 1000:8.1f}"
              + "".join(f"{fmt(r['auroc']):>13}" for r in rows) + f"  {delta:+.4f}")
        totals = [r["features"] + r["new_copy"] for r in rows]
        print(f"{'   total kB (original copy)':38}" + "".join(f"{t / 1000:7.1f} x{o / t:4.1f}" for t, o in zip(totals, old)))
        print(f"{'   pixel AUROC / AUPRO':38}" + "".join(
            f"{'-':>13}" if r["pixel_auroc"] is None else f"{r['pixel_auroc']:.3f}/{r['aupro']:.3f}".rjust(13)
            for r in rows))
    for d, r in zip(names, results):
        print(f"{d}: copy old {r[0]['old_copy'] / 1000:.1f} kB (RGB PNG), new {r[0]['new_copy'] / 1000:.1f} kB "
              "(the original file)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="output folder of bench/make_datasets.py")
    parser.add_argument("--limit", type=int, help="at most N good and N defective ELPV test cells (evenly spread)")
    parser.add_argument("--sets", type=lambda t: t.split(","), help="only these sets, e.g. brick,grass,gravel")
    args = parser.parse_args()
    torch.set_num_threads(2)
    sets = [d for d in map_data.datasets(args.root, args.limit) if not args.sets or d.name in args.sets]
    enc = encoder()
    results = []
    for d in sets:
        print(f"{d.name}: {len(d.references)} references, {int((d.labels == 0).sum())} good + "
              f"{int(d.labels.sum())} defective test images", flush=True)
        results.append(measure(d, enc))
    table(sets, results)


if __name__ == "__main__":
    main()
