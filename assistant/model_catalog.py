"""Model folders and presets, for front ends: is a folder a complete model, which presets ship.

A door of the facade beside the Inspector: none of it needs a data home. A language-model folder is
checked without loading weights, torch or transformers (`vlm.model_check` reads config.json, the shard
index and safetensors headers); a vision-backbone folder (DINOv2 / DINOv3, CLIP or SigLIP vision,
recognised from config.json alone by `encoder_folder`) is loaded as the image encoder would load it
(`retrieval.encoders.encoder_check`), since "it loads, with this patch grid" is what an operator needs; an
open_clip checkpoint folder (`open_clip_config.json`) is loaded as the CLIP text map would load it
(`retrieval.text_space.clip_check`).
"""

from __future__ import annotations

from pathlib import Path

from assistant.vlm.model_check import ModelReport, check_model_dir, report_lines, resolve_model_dir
from assistant.vlm.preset import ModelPreset, all_presets
from retrieval.encoders.encoder_check import EncoderReport, check_encoder_dir, encoder_report_lines, folder_model_type
from retrieval.errors import NormalcyError
from retrieval.text_space.clip_check import ClipReport, check_clip_dir, clip_report_lines, is_open_clip_folder

__all__ = ["ClipReport", "EncoderReport", "ModelPreset", "ModelReport", "all_presets", "check_clip_dir",
           "check_encoder_dir", "check_model_dir", "clip_report_lines", "encoder_folder", "encoder_report_lines",
           "is_open_clip_folder", "report_lines"]


def encoder_folder(path) -> Path | None:
    """The vision-backbone folder at `path` (or its Hugging Face cache snapshot); None when it is not one."""
    try:
        folder = resolve_model_dir(path)
    except NormalcyError:
        return None
    return folder if folder_model_type(folder) else None
