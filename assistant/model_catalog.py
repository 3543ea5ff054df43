"""Model folders and presets, for front ends: is a folder a complete model, which presets ship.

A door of the facade beside the Inspector: neither needs a data home, and neither loads weights,
torch or transformers (`vlm.model_check` reads config.json, the shard index and safetensors headers).
"""

from __future__ import annotations

from assistant.vlm.model_check import ModelReport, check_model_dir, report_lines
from assistant.vlm.preset import ModelPreset, all_presets

__all__ = ["ModelPreset", "ModelReport", "all_presets", "check_model_dir", "report_lines"]
