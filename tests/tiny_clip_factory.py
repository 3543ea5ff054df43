"""Tiny random open_clip models built from the REAL ViT-B-16 config, with the real CLIP BPE tokenizer.

A test tool, not product code. Source: `tests/fixtures/vlm-processors/open_clip-ViT-B-16/ViT-B-16.json`
(open_clip's own model config, MIT, with PROVENANCE.json). Kept from the real config: patch size 16,
image size 224 (a 14 x 14 patch grid), vocab size 49408 and context length 77 — what the real BPE
tokenizer needs (the vocab itself is the one open_clip ships; its sha256 is the one in PROVENANCE.json,
which `bundled_bpe_sha256` lets a test compare). Shrunk: embed dim 512 -> 32, vision width 768 -> 64
and blocks 12 -> 4 (heads of 32), text width 512 -> 32, heads 8 -> 2, blocks 12 -> 1. Saved in open_clip's
`local-dir:` layout (open_clip_config.json + open_clip_model.safetensors), loaded back by the product.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

VIT_B_16 = Path(__file__).resolve().parent / "fixtures" / "vlm-processors" / "open_clip-ViT-B-16"
SHRUNK = {"embed_dim": 32, "vision_cfg": {"width": 64, "layers": 4, "head_width": 32},
          "text_cfg": {"width": 32, "heads": 2, "layers": 1}}


def real_config() -> dict:
    """open_clip's ViT-B-16 model config, as shipped."""
    return json.loads((VIT_B_16 / "ViT-B-16.json").read_text())


def tiny_config(**vision) -> dict:
    """The real config with the widths and depths shrunk (+ `vision` changes to vision_cfg)."""
    config = copy.deepcopy(real_config())
    config["embed_dim"] = SHRUNK["embed_dim"]
    config["vision_cfg"].update(SHRUNK["vision_cfg"], **vision)
    config["text_cfg"].update(SHRUNK["text_cfg"])
    return config


def build_open_clip(folder: Path, seed: int = 0, model_cfg: dict | None = None) -> Path:
    """Random weights for `model_cfg` (default: the tiny ViT-B-16) saved as an open_clip local-dir in `folder`."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    model_cfg = model_cfg or tiny_config()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": model_cfg, "preprocess_cfg": {
        "mean": list(open_clip.OPENAI_DATASET_MEAN), "std": list(open_clip.OPENAI_DATASET_STD)}}))
    torch.manual_seed(seed)
    model = open_clip.CLIP(**model_cfg)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "open_clip_model.safetensors"))
    return folder


def bundled_bpe_sha256() -> tuple[str, str]:
    """(sha256 of the BPE vocab open_clip tokenizes with, sha256 of the real one in PROVENANCE.json)."""
    from open_clip.tokenizer import default_bpe

    provenance = json.loads((VIT_B_16 / "PROVENANCE.json").read_text())
    real = provenance["copied_files"]["bpe_simple_vocab_16e6.txt.gz"]["sha256"]
    return hashlib.sha256(Path(default_bpe()).read_bytes()).hexdigest(), real
