"""Tiny random VLMs built from REAL model folders: the real config.json with its towers shrunk, and
the real processor, tokenizer and chat template files copied beside the random weights.

A test tool, not product code. What is kept from the real config, because it decides what the
processor and the model do with a prompt: the vocabulary size, every special token id (image, video,
vision start/end, bos/eos/pad), the image/patch sizes, merge sizes, scale factors and position
tables that decide how many tokens an image costs, and the context window (max_position_embeddings).
What is shrunk: hidden sizes, layer counts, heads, MLP widths (to a few M parameters, mostly the
real-sized embedding table).

Sources: `tests/fixtures/vlm-processors/<folder>` (Apache-2.0 / MIT, copied with PROVENANCE.json) and,
for LLaVA-1.5 (Llama 2 licence, never committed), `<repo>/../shared/fixtures/vlm-processors/`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "vlm-processors"
SHARED = REPO.parent / "shared" / "fixtures" / "vlm-processors"
SOURCES = {"qwen2_vl": FIXTURES / "Qwen2-VL-2B-Instruct", "qwen2_5_vl": FIXTURES / "Qwen2.5-VL-7B-Instruct",
           "qwen3_vl": FIXTURES / "Qwen3-VL-4B-Instruct", "smolvlm": FIXTURES / "SmolVLM-256M-Instruct",
           "llava": SHARED / "llava-1.5-7b-hf"}
WEIGHT_FREE = ("config.json", "PROVENANCE.json", "LICENSE.model", "README.md")
TEXT = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
            num_key_value_heads=1)
VISION = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)


def source(family: str) -> Path:
    return SOURCES[family]


def missing_reason(family: str) -> str | None:
    """Why `family` cannot be built here (its real folder is absent), or None."""
    folder = SOURCES[family]
    if (folder / "config.json").is_file():
        return None
    return f"real processor files of {family} not found at {folder} (CI has shared/ beside the clone)"


def _scaled_mrope(section: list[int], head_dim: int) -> list[int]:
    """The real mrope_section scaled so that it sums to head_dim / 2 (as transformers requires)."""
    half, total = head_dim // 2, sum(section)
    scaled = [max(1, s * half // total) for s in section]
    scaled[0] += half - sum(scaled)
    return scaled


def _shrink_qwen_rope(text: dict, head_dim: int) -> None:
    for key in ("rope_scaling", "rope_parameters"):
        rope = text.get(key)
        if isinstance(rope, dict) and "mrope_section" in rope:
            rope["mrope_section"] = _scaled_mrope(rope["mrope_section"], head_dim)


def shrink_qwen(config: dict) -> dict:
    """Qwen2-VL keeps its text settings at the top level; Qwen2.5/3-VL under text_config (or top)."""
    text = config.get("text_config", config)
    text.update(TEXT)
    head_dim = TEXT["hidden_size"] // TEXT["num_attention_heads"]
    if "head_dim" in text:
        text["head_dim"] = head_dim
    _shrink_qwen_rope(text, head_dim)
    vision = config["vision_config"]
    vision.update(depth=2, num_heads=2)
    if config["model_type"] == "qwen2_vl":
        # Qwen2-VL: embed_dim is the tower width, hidden_size the merger's output = the text width.
        vision.update(embed_dim=32, hidden_size=TEXT["hidden_size"], mlp_ratio=2)
    else:
        vision.update(hidden_size=32, intermediate_size=64, out_hidden_size=TEXT["hidden_size"])
    if "fullatt_block_indexes" in vision:
        vision["fullatt_block_indexes"] = [1]
    if "deepstack_visual_indexes" in vision:
        vision["deepstack_visual_indexes"] = [1]
    return config


def shrink_llama_vlm(config: dict) -> dict:
    """LLaVA-1.5 (CLIP + Llama) and SmolVLM (SigLIP + Llama): shrink both towers, keep sizes and ids."""
    text = config.setdefault("text_config", {})
    text.update(TEXT, model_type=text.get("model_type", "llama"))
    text.setdefault("vocab_size", config.get("vocab_size"))
    if "head_dim" in text:
        text["head_dim"] = TEXT["hidden_size"] // TEXT["num_attention_heads"]
    text.pop("perceiver_config", None)
    config["vision_config"].update(VISION)
    config["vision_config"].pop("projection_dim", None)
    return config


SHRINK = {"qwen2_vl": shrink_qwen, "qwen2_5_vl": shrink_qwen, "qwen3_vl": shrink_qwen,
          "smolvlm": shrink_llama_vlm, "llava": shrink_llama_vlm}


def build_real(family: str, folder: Path, seed: int = 0) -> Path:
    """Random weights from the shrunk real config + the real processor files, saved into `folder`."""
    import torch
    from transformers import AutoConfig, AutoModelForImageTextToText

    src = SOURCES[family]
    config = SHRINK[family](json.loads((src / "config.json").read_text()))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    torch.manual_seed(seed)
    model = AutoModelForImageTextToText.from_config(AutoConfig.from_pretrained(folder))
    model.save_pretrained(folder)
    for file in src.iterdir():
        if file.name not in WEIGHT_FREE:
            shutil.copyfile(file, folder / file.name)
    return folder
