"""Evaluation datasets: a layout on disk → the test samples and the training normals of every class.

Layouts (`load_dataset(root, layout)`; image suffixes: those `inspection.inputs` decodes, any case):
- "mvtec": `CLASS/train/good/*` (training normals), `CLASS/test/good|TYPE/*` (test),
  `CLASS/ground_truth/TYPE/NNN_mask.png` (or `NNN.png`) masks. ROOT may also be one class folder.
- "visa": `ROOT/split_csv/1cls.csv` with columns object,split,label,image,mask; paths relative to ROOT;
  label normal|anomaly; split train (normal rows are training normals) | test. Defect type "anomaly".
- "folder": `CLASS/good/*` normals and `CLASS/<any other name>/*` defects of that type (masks, if any,
  in `CLASS/ground_truth/TYPE/` as for mvtec). Training normals: `CLASS/train/good/*` when present;
  otherwise `CLASS/good` is split deterministically: its images ordered by sha256("SEED:filename"),
  the first ⌊n/2⌋ become references and the rest test images (n ≥ 2 required). ROOT may be one class.
- "json": the source paper's format, a JSON file holding a list of objects; paths relative to the file.
  Keys: image (or image_path, path, img_path), class (or class_name, object, category), label (0 good /
  1 defective, or normal|good|ok / anomaly|anomalous|abnormal|defect|defective|bad) or, instead,
  correctness (the paper's verdict convention: 1 normal / 0 anomalous); optional mask (or mask_path),
  defect_type (or type), split (test default | train: a normal training image), and reference (a
  path or list of paths: training normals of that class).
In every layout a reference image may never be a test image (the source paper used test images as
references); such a dataset is a BadInput. Samples are sorted by (class, label, defect type, path).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from assistant.inspection.inputs import IMAGE_SUFFIXES
from retrieval.errors import BadInput

NORMAL_WORDS = ("normal", "good", "ok", "0")
DEFECT_WORDS = ("anomaly", "anomalous", "abnormal", "defect", "defective", "bad", "1")
VISA_COLUMNS = ("object", "split", "label", "image", "mask")


@dataclass(frozen=True)
class Sample:
    """One test image: label 0 good / 1 defective; defect_type "good" for normals."""

    path: Path
    class_name: str
    label: int
    defect_type: str
    mask_path: Path | None = None


@dataclass(frozen=True)
class Dataset:
    """The test split (`samples`) and, per class, the training normals (`references`)."""

    layout: str
    root: Path
    samples: tuple[Sample, ...]
    references: dict[str, tuple[Path, ...]]

    @property
    def classes(self) -> list[str]:
        return sorted({s.class_name for s in self.samples} | set(self.references))

    def for_class(self, name: str) -> list[Sample]:
        return [s for s in self.samples if s.class_name == name]


def _images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _masks(folder: Path) -> dict[str, Path]:
    """Mask files of one defect type, keyed by the image stem they belong to (`000_mask.png` → "000")."""
    return {p.stem.removesuffix("_mask"): p for p in _images(folder)}


def _defect_samples(class_dir: Path, type_dir: Path) -> list[Sample]:
    masks = _masks(class_dir / "ground_truth" / type_dir.name)
    return [Sample(p, class_dir.name, 1, type_dir.name, masks.get(p.stem)) for p in _images(type_dir)]


def _is_mvtec_class(folder: Path) -> bool:
    return (folder / "train" / "good").is_dir() and (folder / "test").is_dir()


def _mvtec(root: Path, seed: int) -> tuple[list[Sample], dict]:
    class_dirs = [root] if _is_mvtec_class(root) else [d for d in _subdirs(root) if _is_mvtec_class(d)]
    if not class_dirs:
        raise BadInput(f"{root} is not an MVTec-AD tree: expected CLASS/train/good/ and "
                       "CLASS/test/<good|TYPE>/ folders (for CLASS/good + CLASS/<TYPE> use --layout folder)")
    samples, refs = [], {}
    for d in class_dirs:
        refs[d.name] = _images(d / "train" / "good")
        for t in _subdirs(d / "test"):
            if t.name == "good":
                samples += [Sample(p, d.name, 0, "good") for p in _images(t)]
            else:
                samples += _defect_samples(d, t)
    return samples, refs


def split_normals(images: list[Path], seed: int) -> tuple[list[Path], list[Path]]:
    """→ (references, test): images ordered by sha256(f"{seed}:{name}"), first ⌊n/2⌋ are references."""
    ordered = sorted(images, key=lambda p: hashlib.sha256(f"{seed}:{p.name}".encode()).hexdigest())
    half = len(ordered) // 2
    return sorted(ordered[:half]), sorted(ordered[half:])


def _folder(root: Path, seed: int) -> tuple[list[Sample], dict]:
    class_dirs = [root] if (root / "good").is_dir() else [d for d in _subdirs(root) if (d / "good").is_dir()]
    if not class_dirs:
        raise BadInput(f"{root} matches no folder layout: expected CLASS/good/ (normal images) and "
                       "CLASS/<defect type>/ folders, optionally CLASS/train/good/ for references")
    samples, refs = [], {}
    for d in class_dirs:
        goods = _images(d / "good")
        if (d / "train" / "good").is_dir():
            refs[d.name], test_goods = _images(d / "train" / "good"), goods
        elif len(goods) < 2:
            raise BadInput(f"{d / 'good'} holds {len(goods)} image(s): need at least 2 to split into "
                           f"references and test images, or add {d / 'train' / 'good'}/")
        else:
            refs[d.name], test_goods = split_normals(goods, seed)
        samples += [Sample(p, d.name, 0, "good") for p in test_goods]
        for t in _subdirs(d):
            if t.name not in ("good", "train", "ground_truth"):
                samples += _defect_samples(d, t)
    return samples, refs


def parse_label(value, where: str) -> int:
    """0/1 or a word (normal, good, ok / anomaly, defective, …) → 0 good / 1 defective."""
    word = str(value).strip().lower() if not isinstance(value, bool) else ""
    if word in NORMAL_WORDS:
        return 0
    if word in DEFECT_WORDS:
        return 1
    raise BadInput(f"{where}: label {value!r} is neither 0/1 nor normal/anomaly; fix the label")


def _visa(root: Path, seed: int) -> tuple[list[Sample], dict]:
    table = root / "split_csv" / "1cls.csv"
    if not table.is_file():
        raise BadInput(f"{root} is not a VisA tree: expected {table} with columns {','.join(VISA_COLUMNS)}")
    with table.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if rows and not set(VISA_COLUMNS) <= set(rows[0]):
        raise BadInput(f"{table} has columns {','.join(rows[0])}; expected {','.join(VISA_COLUMNS)}")
    samples, refs = [], {}
    for i, row in enumerate(rows, start=2):
        where, label = f"{table} line {i}", parse_label(row["label"], f"{table} line {i}")
        image, split = root / row["image"], row["split"].strip().lower()
        if split == "train" and label == 0:
            refs.setdefault(row["object"], []).append(image)
        elif split == "test":
            mask = root / row["mask"] if (row["mask"] or "").strip() else None
            samples.append(Sample(image, row["object"], label, "anomaly" if label else "good", mask))
        elif split != "train":
            raise BadInput(f"{where}: split {row['split']!r} is neither train nor test")
    return samples, refs


def _first(item: dict, keys: tuple[str, ...]):
    return next((item[k] for k in keys if item.get(k) not in (None, "")), None)


def _json_label(item: dict, where: str) -> int:
    """'label' (0 good / 1 defective, or a word), else 'correctness' (the paper's: 1 normal / 0 anomalous)."""
    if _first(item, ("label",)) is not None:
        return parse_label(item["label"], where)
    correctness = item.get("correctness")
    if correctness in (0, 1) and not isinstance(correctness, bool):
        return 1 - int(correctness)
    raise BadInput(f"{where}: needs 'label' (0 good / 1 defective) or 'correctness' (1 normal / 0 anomalous)")


def _json_item(item, base: Path, where: str) -> tuple[Sample, str, list[Path]]:
    """One JSON object → (sample, split, its reference paths)."""
    if not isinstance(item, dict):
        raise BadInput(f"{where}: expected an object with image, class and label, got {type(item).__name__}")
    image = _first(item, ("image", "image_path", "path", "img_path"))
    name = _first(item, ("class", "class_name", "object", "category"))
    if image is None or name is None:
        raise BadInput(f"{where}: needs an image path ('image' or 'image_path') and a class ('class')")
    label = _json_label(item, where)
    mask = _first(item, ("mask", "mask_path"))
    kind = _first(item, ("defect_type", "type")) or ("anomaly" if label else "good")
    refs = item.get("reference") or []
    refs = [refs] if isinstance(refs, str) else list(refs)
    sample = Sample(base / image, str(name), label, str(kind), base / mask if mask else None)
    return sample, str(item.get("split") or "test").strip().lower(), [base / r for r in refs]


def _json(root: Path, seed: int) -> tuple[list[Sample], dict]:
    if root.is_dir() or root.suffix.lower() != ".json":
        raise BadInput(f"{root} is not a JSON file: --layout json takes the file itself, a list of "
                       "{\"image\", \"class\", \"label\"} objects")
    try:
        items = json.loads(root.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{root} is not valid JSON ({exc}); fix the file") from exc
    if not isinstance(items, list):
        raise BadInput(f"{root} must hold a JSON list of objects, got {type(items).__name__}")
    samples, refs = [], {}
    for i, item in enumerate(items):
        sample, split, item_refs = _json_item(item, root.parent, f"{root} item {i}")
        refs.setdefault(sample.class_name, []).extend(item_refs)
        if split == "train" and sample.label == 0:
            refs[sample.class_name].append(sample.path)
        elif split == "test":
            samples.append(sample)
        else:
            raise BadInput(f"{root} item {i}: split {split!r} must be test, or train for a normal image")
    return samples, refs


LAYOUTS = {"mvtec": _mvtec, "visa": _visa, "folder": _folder, "json": _json}


def _check_files(samples: list[Sample], refs: dict, source: Path) -> None:
    """Listed files (visa, json) must exist and be images of a supported kind."""
    paths = [p for s in samples for p in (s.path, s.mask_path) if p is not None]
    paths += [p for ps in refs.values() for p in ps]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise BadInput(f"{len(missing)} file(s) listed in {source} do not exist (first: {missing[0]}); "
                       "paths are read relative to the dataset, fix them")
    odd = [p for p in paths if p.suffix.lower() not in IMAGE_SUFFIXES]
    if odd:
        raise BadInput(f"{odd[0]} is not a supported image ({' '.join(IMAGE_SUFFIXES)}); convert or drop it")


def _check_no_leak(samples: list[Sample], refs: dict) -> None:
    test = {s.path.resolve() for s in samples}
    leaked = sorted(str(p) for ps in refs.values() for p in ps if p.resolve() in test)
    if leaked:
        raise BadInput(f"{len(leaked)} reference image(s) are also test images (first: {leaked[0]}); "
                       "references must be training normals, never test images: remove them from one side")


def _select(samples: list[Sample], refs: dict, classes, root: Path) -> tuple[list[Sample], dict]:
    available = sorted({s.class_name for s in samples} | set(refs))
    if not available:
        raise BadInput(f"{root} holds no images with a supported suffix ({' '.join(IMAGE_SUFFIXES)})")
    names = classes.split(",") if isinstance(classes, str) else classes or []
    wanted = [c.strip() for c in names if c.strip()]
    if not wanted:
        return samples, refs
    unknown = [c for c in wanted if c not in available]
    if unknown:
        raise BadInput(f"unknown class(es) {', '.join(unknown)} in {root}; available: {', '.join(available)}")
    return [s for s in samples if s.class_name in wanted], {c: refs.get(c, []) for c in wanted}


def load_dataset(root, layout: str, classes: Iterable[str] | str | None = None, *, seed: int = 0) -> Dataset:
    """Read the dataset at `root` in `layout` (see the module doc) → Dataset; `classes` keeps only those
    (names, or one comma-separated string); `seed` picks the folder layout's reference/test split."""
    if layout not in LAYOUTS:
        raise BadInput(f"unknown layout {layout!r}; use one of {', '.join(LAYOUTS)}")
    root = Path(root).expanduser().resolve()
    if not root.exists():
        raise BadInput(f"{root} does not exist; give the dataset folder (or the JSON file for --layout json)")
    samples, refs = _select(*LAYOUTS[layout](root, seed), classes, root)
    if layout in ("visa", "json"):
        _check_files(samples, refs, root)
    _check_no_leak(samples, refs)
    ordered = sorted(samples, key=lambda s: (s.class_name, s.label, s.defect_type, str(s.path)))
    return Dataset(layout, root, tuple(ordered), {c: tuple(sorted(set(refs[c]))) for c in sorted(refs)})
