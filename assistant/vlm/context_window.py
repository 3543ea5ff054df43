"""The model's context window in tokens: what the configuration says, else what the model folder declares.

A model folder declares its window in two places: the text model's `max_position_embeddings`
(config.json) and the tokenizer's `model_max_length` (tokenizer_config.json; transformers puts ~1e30
there when the folder says nothing). The smaller declared value is the window. A configured
`context_tokens` (preset or `vlm.context_tokens`) is the operator's decision and wins over both,
e.g. for a config.json edited for an accelerator (Sophgo's Qwen2-VL-2B says 512; the model was
trained to 32,768, which its tokenizer still declares).
"""

from __future__ import annotations

UNSET_TOKENIZER_LENGTH = 10 ** 9  # model_max_length at or above this means "not declared"


def declared_window(text_config, tokenizer) -> int | None:
    """min(max_position_embeddings, tokenizer.model_max_length) over the values that are declared."""
    values = [getattr(text_config, "max_position_embeddings", None),
              getattr(tokenizer, "model_max_length", None)]
    declared = [int(v) for v in values if isinstance(v, (int, float)) and 0 < v < UNSET_TOKENIZER_LENGTH]
    return min(declared) if declared else None


def context_window(configured: int | None, text_config, tokenizer) -> int | None:
    """The context size a conversation must fit in: `configured` when set, else the declared window."""
    return configured if configured else declared_window(text_config, tokenizer)
