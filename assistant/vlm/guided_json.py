"""Guided decoding for the transformers backend: the answer is `MODEL_SCHEMA` JSON by construction.

Engine: xgrammar (maintained, used by vLLM and SGLang; CPU and CUDA token-mask kernels). The grammar
is compiled from `MODEL_SCHEMA` itself with compact separators, so the model can only write

    {"reasoning": "<JSON string: no raw quotes, newlines or control characters>", "correctness": 0|1}

followed by an end-of-sequence token. A grammar alone does not bound the length of the reasoning
string, so `BudgetGuard` closes the string (forces the `"` token as soon as the grammar allows it)
when only `RESERVE` tokens of the budget are left; every token after that is forced progress
through the ASCII tail `", "correctness": d}` + EOS, so the JSON is complete within `max_new_tokens`.
"""

from __future__ import annotations

import json

from assistant.verdict import MODEL_SCHEMA
from retrieval.errors import ConfigError

TAIL = '", "correctness": 0}'
# Tail characters (at worst one token each) + end-of-sequence + slack for finishing an escape
# sequence (\uXXXX) or a multi-byte UTF-8 character before the closing quote is allowed.
RESERVE = len(TAIL) + 1 + 6
MIN_GUIDED_TOKENS = len('{"reasoning": "') + RESERVE + 4
QUOTE_SPELLINGS = ('"', "<0x22>")


def _xgrammar():
    try:
        import xgrammar
        import xgrammar.contrib.hf  # noqa: F401  (the transformers logits processor)
    except ImportError as exc:
        raise ConfigError(f"guided decoding needs xgrammar ({exc.name} is missing): "
                          "pip install xgrammar==0.2.8, or generate with guided=False") from None
    return xgrammar


class GuidedJSON:
    """The compiled grammar for one tokenizer; `processors()` gives fresh per-call logits processors.

    tokenizer: the model's tokenizer. vocab_size: rows of the model's output layer (may exceed len(tokenizer)).
    stop_token_ids: the ids that end generation (generation_config.eos_token_id).
    """

    def __init__(self, tokenizer, vocab_size: int, stop_token_ids: list[int]):
        xgr = _xgrammar()
        info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size, stop_token_ids=stop_token_ids)
        compiler = xgr.GrammarCompiler(info)
        self.compiled = compiler.compile_json_schema(json.dumps(MODEL_SCHEMA), any_whitespace=False)
        self.quote_id = quote_token_id(tokenizer)

    def processors(self, max_new_tokens: int) -> list:
        """[grammar mask, budget guard] for one `generate` call of at most `max_new_tokens` tokens."""
        if max_new_tokens < MIN_GUIDED_TOKENS:
            raise ConfigError(f"guided decoding needs max_new_tokens >= {MIN_GUIDED_TOKENS}, got {max_new_tokens}")
        xgr = _xgrammar()
        return [xgr.contrib.hf.LogitsProcessor(self.compiled), BudgetGuard(self.quote_id, max_new_tokens)]


def quote_token_id(tokenizer) -> int:
    """The id of the token that is exactly one double quote."""
    vocab = tokenizer.get_vocab()
    for spelling in QUOTE_SPELLINGS:
        if spelling in vocab:
            return vocab[spelling]
    ids = tokenizer.encode('"', add_special_tokens=False)
    if len(ids) != 1:
        raise ConfigError('the tokenizer has no single token for `"`; run this model with guided=False')
    return ids[0]


class BudgetGuard:
    """Forces the closing quote of the reasoning string once only `reserve` tokens are left.

    Runs after the grammar mask (batch size 1). Forcing is done once, at the first step inside the
    reserve where the grammar allows the quote; afterwards the grammar alone drives the tail.
    """

    def __init__(self, quote_id: int, max_new_tokens: int, reserve: int = RESERVE):
        self.quote_id = quote_id
        self.max_new_tokens = max_new_tokens
        self.reserve = reserve
        self.prompt_length = None
        self.closed = False

    def __call__(self, input_ids, scores):
        if self.prompt_length is None:
            self.prompt_length = input_ids.shape[1]
        if self.closed:
            return scores
        left = self.max_new_tokens - (input_ids.shape[1] - self.prompt_length)
        if left > self.reserve or not bool(scores[0, self.quote_id] > float("-inf")):
            return scores
        self.closed = True
        forced = scores.new_full(scores.shape, float("-inf"))
        forced[:, self.quote_id] = 0.0
        return forced
