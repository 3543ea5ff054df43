"""The demo: a store built from real images, then a few inspections with their verdicts.

Sources (both optional, from the `demo` extra):
- ELPV: 2,624 real electroluminescence images of solar cells with real defects (PyPI `elpv-dataset`,
  CC BY-NC-SA 4.0: non-commercial use only). Monocrystalline cells become class `solar_cell_mono`.
- scikit-image textures (brick, grass, gravel): tiles as normal references, synthetic defects on held-out
  tiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.errors import BadInput

ELPV_LICENCE = "ELPV images: CC BY-NC-SA 4.0, non-commercial use only (Buerhop-Lutz et al., Deitsch et al.)"
TEXTURES = ("brick", "grass", "gravel")


@dataclass(frozen=True)
class DemoCase:
    class_name: str
    path: Path
    expected: str     # "normal" or "defective"


def elpv_cells(kind: str = "mono") -> tuple[list[Path], list[Path]]:
    """(normal cells, clearly defective cells) of one cell type, sorted by file name."""
    try:
        import elpv_dataset
    except ImportError:
        raise BadInput("the ELPV demo data is not installed: pip install -e '.[demo]'") from None
    data = Path(elpv_dataset.__file__).parent / "data"
    normal, defective = [], []
    for line in (data / "labels.csv").read_text().splitlines():
        name, probability, cell_type = line.split()
        if cell_type == kind and float(probability) == 0.0:
            normal.append(data / name)
        elif cell_type == kind and float(probability) == 1.0:
            defective.append(data / name)
    return sorted(normal), sorted(defective)


def elpv_demo(n_references: int) -> tuple[list[tuple[str, Path]], list[DemoCase]]:
    normal, defective = elpv_cells("mono")
    references = [("solar_cell_mono", p) for p in normal[:n_references]]
    held_out = normal[n_references:]
    cases = [DemoCase("solar_cell_mono", p, "normal") for p in held_out[:2]]
    cases += [DemoCase("solar_cell_mono", p, "defective") for p in defective[:3]]
    return references, cases


def texture_demo(folder: Path, seed: int = 0) -> tuple[list[tuple[str, Path]], list[DemoCase]]:
    """Write 128 px texture tiles (references + a normal and defective test tile each) under `folder`."""
    try:
        import skimage.data
    except ImportError:
        raise BadInput("the texture demo needs scikit-image: pip install -e '.[demo]'") from None
    from PIL import Image

    from assistant.demo.synthetic_defect import DEFECT_KINDS, add_defect, tiles

    rng = np.random.default_rng(seed)
    references, cases = [], []
    for index, name in enumerate(TEXTURES):
        parts = tiles(getattr(skimage.data, name)(), 128)
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i, tile in enumerate(parts[:-2]):
            Image.fromarray(tile).save(folder / name / f"ref_{i:02d}.png")
            references.append((name, folder / name / f"ref_{i:02d}.png"))
        Image.fromarray(parts[-2]).save(folder / name / "test_good.png")
        defect, _ = add_defect(parts[-1], DEFECT_KINDS[index % len(DEFECT_KINDS)], rng)
        Image.fromarray(defect).save(folder / name / "test_defect.png")
        cases += [DemoCase(name, folder / name / "test_good.png", "normal"),
                  DemoCase(name, folder / name / "test_defect.png", "defective")]
    return references, cases


def demo_parts(source: str, n_references: int, folder: Path) -> tuple[list[tuple[str, Path]], list[DemoCase], list[str]]:
    """-> (references, cases, notices) of `source` ("all", "elpv" or "textures"); textures are written
    under `folder`/textures; notices: licences the operator must see."""
    references, cases, notices = [], [], []
    if source in ("all", "elpv"):
        refs, more = elpv_demo(n_references)
        references, cases, notices = references + refs, cases + more, [ELPV_LICENCE]
    if source in ("all", "textures"):
        refs, more = texture_demo(Path(folder) / "textures")
        references, cases = references + refs, cases + more
    return references, cases, notices
