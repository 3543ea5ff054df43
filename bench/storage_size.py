"""Bytes per reference and map quality for each feature encoding (issue 14) — prints numbers.

    PYTHONPATH=$PWD .venv/bin/python bench/make_datasets.py /tmp/nb_dev --seed 1 --elpv-types mono,poly
    PYTHONPATH=$PWD .venv/bin/python bench/storage_size.py /tmp/nb_dev [--limit N] [--sets brick,grass]

For every dev set (ELPV mono, ELPV poly, brick, grass, gravel) and every encoding of the reference
features (`retrieval/feature_codec.py`: float16, int8 or int4, whole grid or a greedy coreset of it, with
or without the class's PCA basis (`retrieval.features.pca`; the bank mapped back to the channels when read)), the bytes one reference takes (features file + copy) and the
image AUROC (textures: pixel AUROC and AUPRO too) of the shipped map, all in one run on identical backbone
maps. The map is the shipped one (`bench.map_pipelines` with product=True: the shipped aggregation, k = 8
retrieved by the full-precision embedding as Chroma holds it, nearest patch, sigma 1, top-10 mean); only
the bank patches come from the decoded file. Copy bytes (`retrieval.features.copies`): "old" = the
reduced RGB PNG re-encoding (<= 768 px) stored before issue 14, "original" = the file as ingested,
"webp" = a lossless WebP of the decoded pixels when smaller, "link" = path + sha256 + a 256 px JPEG
thumbnail. The reduction is against float16 + the old copy.
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
from retrieval.config import FeaturesConfig  # noqa: E402

PRODUCT = mp.Variant("shipped map", product=True)
# (label, encoding: precision, coreset, per-class PCA channels or 0)
ENCODINGS = [
    ("float16 grid (before)", FeaturesConfig("float16", 1.0, pca=0)),
    ("int8 grid", FeaturesConfig("int8", 1.0, pca=0)),
    ("int8 coreset 25 %", FeaturesConfig("int8", 0.25, pca=0)),
    ("int8 coreset 20 %", FeaturesConfig("int8", 0.2, pca=0)),
    ("int8 coreset 15 %", FeaturesConfig("int8", 0.15, pca=0)),
    ("int4 grid", FeaturesConfig("int4", 1.0, pca=0)),
    ("int4 coreset 25 %", FeaturesConfig("int4", 0.25, pca=0)),
    ("int4 coreset 20 %", FeaturesConfig("int4", 0.2, pca=0)),
    ("PCA 96, int8 coreset 25 %", FeaturesConfig("int8", 0.25, pca=96)),
    ("PCA 64, int8 coreset 25 %", FeaturesConfig("int8", 0.25, pca=64)),
    ("PCA 64, int4 coreset 25 %", FeaturesConfig("int4", 0.25, pca=64)),
    ("PCA 64, int8 coreset 20 %", FeaturesConfig("int8", 0.2, pca=64)),
    ("PCA 96, int8 coreset 20 %", FeaturesConfig("int8", 0.2, pca=96)),
    ("PCA 112, int8 coreset 20 %", FeaturesConfig("int8", 0.2, pca=112)),
    ("PCA 128, int8 coreset 20 %", FeaturesConfig("int8", 0.2, pca=128)),
]
COPIES = ("original", "webp", "link")      # the original file; lossless WebP when smaller; path + sha + thumbnail
THUMB_SIDE, THUMB_QUALITY, LINK_RECORD = 256, 80, 200    # a link record (path, sha256, size) as ~200 bytes


def encoder():
    from retrieval.config import EncoderConfig
    from retrieval.encoders.image_encoder import load_image_encoder

    return load_image_encoder(EncoderConfig())


def copy_sizes(paths: list[Path]) -> dict:
    """Mean bytes per copy: the old reduced RGB PNG ("old"), the original file, a lossless WebP of the
    decoded pixels when that is smaller (else the original), a link record + a 256 px JPEG thumbnail."""
    from assistant.inspection.inputs import load_image
    from retrieval.atomic_file import png_bytes

    sizes = {"old": [], **{c: [] for c in COPIES}}
    for path in paths:
        image = load_image(path).image
        old = image.copy()
        old.thumbnail((768, 768))
        sizes["old"].append(len(png_bytes(old)))
        sizes["original"].append(path.stat().st_size)
        sizes["webp"].append(min(path.stat().st_size, len(_saved(image, "WEBP", lossless=True, method=6))))
        thumb = image.copy()
        thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
        sizes["link"].append(LINK_RECORD + len(_saved(thumb, "JPEG", quality=THUMB_QUALITY, optimize=True)))
    return {k: float(np.mean(v)) for k, v in sizes.items()}


def _saved(image, fmt: str, **options) -> bytes:
    import io

    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


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
    copies = copy_sizes(data.references)
    rows = []
    for label, encoding in ENCODINGS:
        banks, size = mp.encoded_banks(refs, encoding)
        row = scored(data, queries, ref_emb, q_emb, banks)
        rows.append({"label": label, "features": size, "copies": copies, **row})
        print(f"  {data.name:16} {label:28} features {size / 1000:7.1f} kB  AUROC {fmt(row['auroc'])}"
              f"  px {fmt(row['pixel_auroc'])}  AUPRO {fmt(row['aupro'])}", flush=True)
    return rows


def fmt(x) -> str:
    return "  -  " if x is None else f"{x:.3f}"


def table(sets, results) -> None:
    """Per encoding: image AUROC per set, then bytes per reference (features + copy) per set and copy kind,
    with the reduction against the float16 grid + RGB PNG copy stored before issue 14; pixel AUROC / AUPRO."""
    names = [d.name.replace("solar_cell_", "elpv_") for d in sets]
    print(f"\n{'encoding':30}{'feat kB':>8}" + "".join(f"{n:>13}" for n in names) + "  min dAUROC")
    old = [r[0]["features"] + r[0]["copies"]["old"] for r in results]
    print(f"{'before: float16 grid + RGB PNG':30}{results[0][0]['features'] / 1000:8.1f}"
          + "".join(f"{fmt(r[0]['auroc']):>13}" for r in results))
    print(f"{'   total kB per reference':38}" + "".join(f"{t / 1000:13.1f}" for t in old))
    for index, (label, _) in enumerate(ENCODINGS):
        rows = [r[index] for r in results]
        delta = min(r["auroc"] - base[0]["auroc"] for r, base in zip(rows, results))
        print(f"{label:30}{np.mean([r['features'] for r in rows]) / 1000:8.1f}"
              + "".join(f"{fmt(r['auroc']):>13}" for r in rows) + f"  {delta:+.4f}")
        for kind in COPIES:
            totals = [r["features"] + r["copies"][kind] for r in rows]
            print(f"{'   total kB, copy ' + kind:38}"
                  + "".join(f"{t / 1000:7.1f} x{o / t:4.1f}" for t, o in zip(totals, old)))
        print(f"{'   pixel AUROC / AUPRO':38}" + "".join(
            f"{'-':>13}" if r["pixel_auroc"] is None else f"{r['pixel_auroc']:.3f}/{r['aupro']:.3f}".rjust(13)
            for r in rows))
    for d, r in zip(names, results):
        print(f"{d}: copy kB " + ", ".join(f"{k} {v / 1000:.1f}" for k, v in r[0]["copies"].items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="output folder of bench/make_datasets.py")
    parser.add_argument("--limit", type=int, help="at most N good and N defective ELPV test cells (evenly spread)")
    parser.add_argument("--sets", type=lambda t: t.split(","), help="only these sets, e.g. brick,grass,gravel")
    parser.add_argument("--encodings", type=lambda t: t.split(","),
                        help="only the encodings whose label contains one of these, e.g. 'float16,PCA 96'")
    args = parser.parse_args()
    if args.encodings:        # the first row stays the float16 baseline every reduction is measured against
        ENCODINGS[1:] = [e for e in ENCODINGS[1:] if any(t in e[0] for t in args.encodings)]
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
