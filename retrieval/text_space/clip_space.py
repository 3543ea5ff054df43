"""The CLIP patch <-> text space, from a local open_clip checkpoint (never a hub).

Patches: the patch tokens of a few intermediate ViT blocks (a quarter, half, three quarters and all the
way deep), each through the model's own final norm (`ln_post`) and projection (`proj`) into the text
space — APRIL-GAN's projection with CLIP's weights instead of trained ones — unit length, averaged over
the blocks, shaped (H, W, D) on the patch grid. Optional WinCLIP-style windows average each patch with
its k x k neighbourhood at several scales, for defects larger than a patch. Texts: the checkpoint's own
tokenizer and `encode_text`, cached per text (a class's prompt ensemble is embedded once), and on disk
when a cache folder is given (`clip_text_cache`: once per home, not once per process).

The checkpoint is what `retrieval.encoders.open_clip_encoder` loads: a folder with `open_clip_config.json`
and weights, or a weights file with `arch` naming the architecture. Only ViT towers have patch tokens
to project; another tower is a ConfigError.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from retrieval.config import EncoderConfig
from retrieval.errors import ConfigError, MissingWeights
from retrieval.text_space import clip_text_cache

KEY = "retrieval.text_map"


def checkpoint_path(path: str | None, arch: str | None) -> Path:
    """The configured checkpoint, or the one-line error saying what to put where (keys of `KEY`)."""
    if not path:
        raise MissingWeights(f"the CLIP text map needs a local open_clip checkpoint: set {KEY}.path")
    resolved = Path(os.path.expanduser(path)).resolve()
    if not resolved.exists():
        raise MissingWeights(f"no open_clip checkpoint at {resolved}; put a folder with open_clip_config.json "
                             f"and its weights there (or a weights file, with {KEY}.arch), or set {KEY}.path")
    if resolved.is_file() and not arch:
        raise ConfigError(f"{KEY}.arch: {resolved.name} is a weights file; name its architecture (e.g. ViT-B-16)")
    return resolved


def block_indices(depth: int) -> list[int]:
    """0-based blocks at a quarter, half, three quarters and the full depth (each once)."""
    return sorted({max(0, (depth * q) // 4 - 1) for q in (1, 2, 3, 4)})


class ClipTextSpace:
    """A PatchTextSpace over one open_clip ViT checkpoint. windows: WinCLIP scales in patches (1 = none);
    cache: a folder for the text features on disk (None: in memory only)."""

    def __init__(self, path: str | None, arch: str | None = None, windows: Sequence[int] = (1,),
                 cache: Path | None = None):
        from retrieval.encoders.open_clip_encoder import OpenClipEncoder

        if not windows or any(int(k) < 1 for k in windows):
            raise ValueError(f"windows are sizes in patches (>= 1), got {list(windows)!r}")
        resolved = checkpoint_path(path, arch)
        self.encoder = OpenClipEncoder(EncoderConfig(name="open_clip", path=str(resolved), arch=arch), text=True)
        visual = self.encoder.model
        if getattr(visual, "proj", None) is None or getattr(visual, "attn_pool", None) is not None:
            raise ConfigError(f"{KEY}.path: {self.encoder.arch}'s vision tower ({type(visual).__name__}) has no "
                              "patch tokens to project into the text space; use a ViT checkpoint")
        self.windows = tuple(int(k) for k in windows)
        self.blocks = block_indices(len(visual.transformer.resblocks))
        encoder_id = self.encoder.id.split(":", 1)[1]
        self.id = (f"clip:{encoder_id} blocks {','.join(str(b + 1) for b in self.blocks)}"
                   f" windows {','.join(map(str, self.windows))}")
        self._file = clip_text_cache.cache_file(cache, self.encoder.id) if cache else None
        dim = int(visual.proj.shape[1])
        self._texts: dict[str, torch.Tensor] = clip_text_cache.load(self._file, dim) if self._file else {}

    def patch_embeddings(self, image) -> torch.Tensor:
        """PIL RGB image -> (H, W, D) unit-length patch embeddings in the text space."""
        visual = self.encoder.model
        with torch.inference_mode():
            out = visual.forward_intermediates(self.encoder.to_tensor([image]), indices=self.blocks,
                                               normalize_intermediates=True, intermediates_only=True,
                                               output_fmt="NLC")
            tokens = torch.stack([F.normalize(t[0] @ visual.proj, dim=-1) for t in out["image_intermediates"]])
        side = self.encoder.image_size // visual.patch_size[0]
        grid = F.normalize(tokens.mean(0), dim=-1).reshape(side, -1, tokens.shape[-1])
        return windowed(grid, self.windows)

    def text_embeddings(self, texts: Sequence[str]) -> torch.Tensor:
        """texts -> (N, D) unit-length text features (each text embedded once per space)."""
        texts = list(texts)
        if not texts:
            raise ValueError("no texts to embed")
        new = [t for t in dict.fromkeys(texts) if t not in self._texts]
        if new:
            self._texts.update(zip(new, self.encoder.encode_texts(new)))
            if self._file:
                clip_text_cache.save(self._file, self._texts)
        return torch.stack([self._texts[t] for t in texts])


def windowed(grid: torch.Tensor, windows: Sequence[int]) -> torch.Tensor:
    """(H, W, D) unit embeddings -> the mean over scales of each patch's k x k window mean, unit length.

    Windows are centred on the patch and clipped at the border (the mean of the patches inside)."""
    if tuple(windows) == (1,):
        return grid
    maps = grid.permute(2, 0, 1).unsqueeze(0)                             # (1, D, H, W)
    scales = []
    for k in windows:
        pooled = F.avg_pool2d(maps, k, stride=1, padding=k // 2, count_include_pad=False)
        scales.append(F.normalize(pooled[..., :grid.shape[0], :grid.shape[1]], dim=1))
    return F.normalize(torch.stack(scales).mean(0), dim=1)[0].permute(1, 2, 0).contiguous()
