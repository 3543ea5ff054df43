"""What `normalcy models check` says about an open_clip checkpoint folder (`open_clip_config.json` + weights).

It loads the folder exactly as the CLIP text map would (`ClipTextSpace`) and runs one blank image and one
text through it: the architecture, the patch grid and the dims of the shared space, the blocks whose
patch tokens are projected, the space's id, and the config lines that use it. A folder that does not
load raises the loader's own one-line error (`MissingWeights` / `ConfigError`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

CONFIG_FILE = "open_clip_config.json"


def is_open_clip_folder(path) -> bool:
    """Whether `path` is a folder in open_clip's local-dir layout (its config file is there)."""
    return (Path(path).expanduser() / CONFIG_FILE).is_file()


@dataclass
class ClipReport:
    """grid: the patch grid of one image; dim: the shared patch <-> text space's dims."""

    path: str
    arch: str
    loads: bool
    space_id: str
    n_params: int
    image_size: int
    patch_size: int
    grid: list[int]
    dim: int
    blocks: list[int]

    def to_dict(self) -> dict:
        return asdict(self)


def check_clip_dir(path) -> ClipReport:
    """Load `path` as the CLIP text map's checkpoint, embed a blank image and one text; raises the one-line
    error of the loader when it fails."""
    from PIL import Image

    from retrieval.text_space.clip_space import ClipTextSpace

    space = ClipTextSpace(str(path))
    encoder = space.encoder
    patches = space.patch_embeddings(Image.new("RGB", (encoder.image_size, encoder.image_size)))
    space.text_embeddings(["a photo of a part."])                      # the tokenizer and text tower load
    return ClipReport(path=str(Path(path).expanduser().resolve()), arch=encoder.arch, loads=True,
                      space_id=space.id, n_params=sum(p.numel() for p in encoder.clip.parameters()),
                      image_size=encoder.image_size, patch_size=int(encoder.model.patch_size[0]),
                      grid=[int(s) for s in patches.shape[:2]], dim=int(patches.shape[2]),
                      blocks=[b + 1 for b in space.blocks])


def clip_report_lines(report: ClipReport) -> list[str]:
    """Human-readable summary, one fact per line."""
    return [
        f"{report.path}: open_clip checkpoint, loads",
        f"  architecture: {report.arch}, {report.n_params:,} parameters (image and text towers)",
        f"  input: {report.image_size} px, patch {report.patch_size} -> patch grid "
        f"{report.grid[0]}x{report.grid[1]}",
        f"  patch <-> text space: {report.dim} dims, patch tokens of blocks "
        f"{', '.join(map(str, report.blocks))} through the model's own projection",
        f"  space id: {report.space_id}",
        f"  use it: retrieval.text_map: {{provider: clip, path: {report.path}}}",
        f"  or as the image encoder: retrieval.encoder: {{name: open_clip, path: {report.path}}}",
    ]
