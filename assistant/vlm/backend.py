"""The one seam between Normalcy and a language model: `Backend`, its registry, and `load_backend`.

Every backend answers a backend-neutral message list (`assistant.vlm.messages`):

    backend.generate(messages, max_new_tokens=None, guided=False) -> Generation
    backend.stream(messages, max_new_tokens=None) -> Iterator[str]      # text deltas

`load_backend(spec, config)` resolves `spec` (a preset name from `configs/models/`, or a local model
directory) to a `ModelPreset`, applies the `VLMConfig` overrides, and builds the backend named by the
preset through `BACKENDS`. Heavy libraries are imported by the chosen backend only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from assistant.vlm.preset import ModelPreset, load_preset, preset_files
from retrieval.errors import ConfigError

if TYPE_CHECKING:
    from assistant.config import VLMConfig
    from assistant.vlm.messages import Message


@dataclass(frozen=True)
class Generation:
    """One model answer.

    text: the generated text (special tokens removed).
    p_anomalous: P(correctness = 0) = softmax over the "0"/"1" value tokens at the position where the
      model wrote the correctness value, read from its logits (or server logprobs); None when the
      answer has no such position or the backend cannot see logits.
    n_tokens: generated tokens. seconds: wall time of the call.
    """

    text: str
    p_anomalous: float | None
    n_tokens: int
    seconds: float


@runtime_checkable
class Backend(Protocol):
    """A loaded model. `name` identifies it in verdicts and run logs (preset name or folder name)."""

    name: str

    def generate(self, messages: list[Message], *, max_new_tokens: int | None = None,
                 guided: bool = False) -> Generation:
        """Answer the conversation. guided=True constrains the answer to `MODEL_SCHEMA` JSON."""
        ...

    def stream(self, messages: list[Message], *, max_new_tokens: int | None = None) -> Iterator[str]:
        """Yield the answer as text deltas; their concatenation equals `generate(...).text` (greedy)."""
        ...


def _transformers(preset: ModelPreset) -> Backend:
    from assistant.vlm.transformers_backend import TransformersBackend

    return TransformersBackend.load(preset)


def _openai(preset: ModelPreset) -> Backend:
    from assistant.vlm.http_backend import OpenAIBackend

    return OpenAIBackend.from_preset(preset)


BACKENDS: dict[str, Callable[[ModelPreset], Backend]] = {"transformers": _transformers, "openai": _openai}


def resolve_preset(spec: str, config: VLMConfig | None = None, presets_dir: Path | None = None) -> ModelPreset:
    """Preset name or local model directory → `ModelPreset`, with `config`'s overrides applied."""
    folder_kw = {"folder": presets_dir} if presets_dir else {}
    if spec in preset_files(**folder_kw):
        preset = load_preset(spec, **folder_kw)
    elif Path(spec).expanduser().is_dir():
        preset = ModelPreset(name=Path(spec).expanduser().resolve().name, path=str(spec))
    else:
        known = ", ".join(preset_files(**folder_kw)) or "(none)"
        raise ConfigError(f"model {spec!r} is neither a preset ({known}) nor an existing directory; "
                          "run `normalcy models list` or give the folder holding config.json")
    return apply_overrides(preset, config)


def apply_overrides(preset: ModelPreset, config: VLMConfig | None) -> ModelPreset:
    """Fields set in `VLMConfig` (path, backend, url, max_new_tokens, timeout_s, context_tokens) win over
    the preset's."""
    if config is None:
        return preset
    names = ("path", "backend", "url", "max_new_tokens", "timeout_s", "context_tokens")
    changes = {name: getattr(config, name) for name in names if getattr(config, name, None) is not None}
    return dataclasses.replace(preset, **changes)


def load_backend(spec: str | None, config: VLMConfig | None = None) -> Backend:
    """Build the backend for `spec` (or `config.model` when spec is None).

    Raises ConfigError (no model, unknown preset or backend), MissingWeights (incomplete folder).
    """
    spec = spec or (config.model if config else None)
    if not spec:
        raise ConfigError("no VLM configured; set vlm.model to a preset (`normalcy models list`) or a model folder")
    preset = resolve_preset(spec, config)
    if preset.backend not in BACKENDS:
        raise ConfigError(f"model preset {preset.name}: backend {preset.backend!r} is not one of "
                          f"{', '.join(BACKENDS)}")
    return BACKENDS[preset.backend](preset)
