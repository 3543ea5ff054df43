"""The worst cases of an evaluation, shown with their evidence: overlays saved under DIR/cases/.

Each overlay (heatmap, contour, box) is rendered from the case's evidence, gathered again for the few
cases shown; the file name carries the image's sha256 and the config hash, so a re-run reuses it, and
overlays of earlier runs that are no longer among the worst cases are removed. Class, defect-type and file
names come from the dataset, so they pass through `path_part` and the result is checked to stay in DIR/cases/.
"""

from __future__ import annotations

from pathlib import Path

from retrieval.atomic_file import png_bytes, write_bytes
from retrieval.path_part import inside, path_part

REPORT_KEYS = ("kind", "class_name", "path", "score", "status", "overlay", "reasoning", "strategy")


def case_path(folder: Path, case: dict, config: str) -> Path:
    sample = case["sample"]
    name = f"{path_part(sample.defect_type)}_{path_part(sample.path.stem)}_{case['sha256'][:8]}_{config[:8]}.png"
    return inside(folder, Path(folder) / path_part(sample.class_name) / name)


def save_overlays(gather, cases: list[dict], folder: Path, configs: dict[str, str]) -> list[dict]:
    """Write each case's overlay under `folder` → the cases as the report reads them (with "overlay").

    gather: (sample) → Evidence; configs: {class: config hash of its evidence}."""
    out = []
    for case in cases:
        path = case_path(Path(folder), case, configs[case["class_name"]])
        if not path.is_file():
            write_bytes(path, png_bytes(gather(case["sample"]).overlay("all")))
        out.append({**{k: case.get(k) for k in REPORT_KEYS}, "overlay": str(path)})
    _prune(Path(folder), {Path(case["overlay"]) for case in out})
    return out


def _prune(folder: Path, keep: set[Path]) -> None:
    """Remove overlays of earlier runs that are no longer worst cases (the folder is the evaluation's)."""
    for path in folder.glob("*/*.png") if folder.is_dir() else ():
        if path not in keep:
            path.unlink()
