"""Tiny random vision backbones built from a REAL model folder's config: DINOv2-small.

A test tool, not product code. Source: `tests/fixtures/vlm-processors/dinov2-small` (config.json and
preprocessor_config.json of facebook/dinov2-small, Apache-2.0, with PROVENANCE.json). Kept from the real
config: model_type, patch size 14, image_size 518 (the position table the model interpolates from),
layer-norm eps, layerscale, the MLP ratio, and the real image processor (ImageNet mean/std). Shrunk:
hidden size 384 -> 32, blocks 12 -> 4, heads 6 -> 2 (the Backbone stage names of the real file go with
the 12 blocks, so they are dropped). Saved with `save_pretrained`, loaded back by the product's loader.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

DINOV2_SMALL = Path(__file__).resolve().parent / "fixtures" / "vlm-processors" / "dinov2-small"
SHRUNK = dict(hidden_size=32, num_hidden_layers=4, num_attention_heads=2)
BACKBONE_KEYS = ("out_features", "out_indices", "stage_names")


def build_dinov2(folder: Path, seed: int = 0, **changes) -> Path:
    """Random DINOv2 weights from the shrunk real config (+ `changes`) and the real processor, in `folder`."""
    import torch
    from transformers import AutoConfig, AutoModel

    config = json.loads((DINOV2_SMALL / "config.json").read_text())
    for key in BACKBONE_KEYS:
        config.pop(key, None)
    config.update(SHRUNK, **changes)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    torch.manual_seed(seed)
    model = AutoModel.from_config(AutoConfig.from_pretrained(folder, local_files_only=True))
    model.save_pretrained(folder)
    shutil.copyfile(DINOV2_SMALL / "preprocessor_config.json", folder / "preprocessor_config.json")
    return folder
