"""Model presets: named, reviewed settings for one local model, stored as YAML under `configs/models/`.

A preset is data, never a code path: the backend it names comes from the `BACKENDS` registry and
the model family from the weights' own `config.json`. Unknown keys are a `ConfigError`.

    # configs/models/qwen2.5-vl-7b.yaml
    description: Qwen2.5-VL-7B-Instruct, 4-bit NF4 on a 16 GB GPU (recommended default)
    backend: transformers
    path: ~/.normalcy/models/Qwen2.5-VL-7B-Instruct
    dtype: bfloat16
    quantization: 4bit
    device_map: auto
    max_new_tokens: 384
    min_pixels: 200704
    max_pixels: 1003520
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from assistant.config import REPO_ROOT, from_dict
from retrieval.errors import ConfigError

PRESETS_DIR = REPO_ROOT / "configs" / "models"
DTYPES = ("auto", "float32", "float16", "bfloat16")
QUANTIZATIONS = (None, "4bit", "8bit")
LAYOUTS = (None, "interleaved", "images_first")


@dataclass(frozen=True)
class ModelPreset:
    """Settings for one model.

    backend: a key of `assistant.vlm.backend.BACKENDS` ("transformers" or "openai").
    path: local model directory (or a local Hugging Face cache folder) for the transformers backend.
    dtype / quantization ("4bit" NF4 or "8bit", bitsandbytes) / device_map (accelerate): loading.
    max_new_tokens: default answer budget in tokens.
    min_pixels / max_pixels: image size limits (pixels per image) handed to the processor or applied
      by resizing before it, depending on the family.
    url / api_model / timeout_s: the OpenAI-compatible server (openai backend). endpoints: more servers
      of the same model (round-robin, health-checked); retries: further attempts after a connection
      failure or HTTP 429/502/503/504, with exponential backoff.
    layout: how a turn's images and labels are ordered; None = the family's default.
    context_tokens: the context window a conversation must fit in; None = what the model folder
      declares (transformers backend) or 8192 (openai backend, which cannot see the model).
    """

    name: str = ""
    description: str = ""
    backend: str = "transformers"
    path: str | None = None
    dtype: str = "auto"
    quantization: str | None = None
    device_map: str | None = "auto"
    max_new_tokens: int = 384
    min_pixels: int | None = None
    max_pixels: int | None = None
    url: str | None = None
    api_model: str | None = None
    timeout_s: float = 120.0
    endpoints: tuple[str, ...] = ()
    retries: int = 2
    layout: str | None = None
    context_tokens: int | None = None

    def __post_init__(self):
        where = f"model preset {self.name or '(unnamed)'}"
        if self.dtype not in DTYPES:
            raise ConfigError(f"{where}: dtype {self.dtype!r} is not one of {', '.join(DTYPES)}")
        if self.quantization not in QUANTIZATIONS:
            raise ConfigError(f"{where}: quantization {self.quantization!r} must be 4bit, 8bit or null")
        if self.layout not in LAYOUTS:
            raise ConfigError(f"{where}: layout {self.layout!r} must be interleaved, images_first or null")
        if self.context_tokens is not None and self.context_tokens <= self.max_new_tokens:
            raise ConfigError(f"{where}: context_tokens {self.context_tokens} leaves no room for a prompt "
                              f"and max_new_tokens {self.max_new_tokens}")
        if self.retries < 0:
            raise ConfigError(f"{where}: retries must be 0 or more, got {self.retries}")
        if self.max_new_tokens < 1:
            raise ConfigError(f"{where}: max_new_tokens must be at least 1, got {self.max_new_tokens}")
        if self.min_pixels and self.max_pixels and self.min_pixels > self.max_pixels:
            raise ConfigError(f"{where}: min_pixels {self.min_pixels} is larger than max_pixels {self.max_pixels}")

    @property
    def local_path(self) -> Path | None:
        """`path` with `~` and environment variables (e.g. `$NORMALCY_HOME`) expanded, or None."""
        return Path(os.path.expandvars(self.path)).expanduser() if self.path else None


def preset_files(folder: Path = PRESETS_DIR) -> dict[str, Path]:
    """Preset name (file stem) → YAML file, sorted by name."""
    return {file.stem: file for file in sorted(Path(folder).glob("*.yaml"))}


def load_preset_file(file: Path) -> ModelPreset:
    """Read one preset YAML; the preset's name is the file stem. Unknown keys are a `ConfigError`."""
    import yaml

    try:
        data = yaml.safe_load(Path(file).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"model preset {file} cannot be read: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"model preset {file} must be a mapping of settings")
    if "name" in data:
        raise ConfigError(f"model preset {file}: remove `name:`; the file name is the preset name")
    return from_dict(ModelPreset, {"name": Path(file).stem, **data}, where=Path(file).name)


def load_preset(name: str, folder: Path = PRESETS_DIR) -> ModelPreset:
    """The preset called `name`; an unknown name is a `ConfigError` listing the known ones."""
    files = preset_files(folder)
    if name not in files:
        known = ", ".join(files) or "(none)"
        raise ConfigError(f"unknown model preset {name!r}; known presets: {known} (or give a model directory)")
    return load_preset_file(files[name])


def all_presets(folder: Path = PRESETS_DIR) -> list[ModelPreset]:
    return [load_preset_file(file) for file in preset_files(folder).values()]
