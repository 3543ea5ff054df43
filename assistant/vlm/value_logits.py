"""P(correctness = 0) from the model's own logits at the position where it wrote the correctness value.

`ValueLogitsRecorder` is a transformers logits processor that keeps, at every generation step, the
scores of the few "digit" token ids ("0"/"1" and their space-prefixed or byte-fallback variants):
(P,) floats per step, kept on the model's device until the end (no per-step host sync).
After generation, `p_anomalous(...)` finds the step that emitted the value in
`"correctness": <0|1>` and returns softmax([s("0"), s("1")])[0] there.
The scores are those the processors see: after the generation config's own processors
(e.g. a repetition penalty), before guided-decoding masks (the recorder runs first).
"""

from __future__ import annotations

import math
import re

# Vocabulary spellings of the digits: plain, byte-level-BPE space, SentencePiece space, byte fallback.
DIGIT_SPELLINGS = (("0", "1"), ("Ġ0", "Ġ1"), ("▁0", "▁1"), ("<0x30>", "<0x31>"))
VALUE_PATTERN = re.compile(r'"correctness"\s*:\s*"?([01])')


def digit_pairs(tokenizer) -> list[tuple[int, int]]:
    """(id of "0", id of "1") for every spelling both of whose tokens are in the vocabulary; first = plain."""
    vocab = tokenizer.get_vocab()
    return [(vocab[zero], vocab[one]) for zero, one in DIGIT_SPELLINGS if zero in vocab and one in vocab]


class ValueLogitsRecorder:
    """Records scores[:, ids] at every step; returns the scores unchanged. One instance per generate call.

    A plain callable (transformers' `LogitsProcessorList` calls any `(input_ids, scores) -> scores`).

    ids: flat list of the digit-pair token ids (2P). steps: list of (B, 2P) tensors, one per generated token.
    """

    def __init__(self, pairs: list[tuple[int, int]]):
        self.pairs = pairs
        self.ids = [i for pair in pairs for i in pair]
        self.steps = []
        self._index = None

    def __call__(self, input_ids, scores):
        if self.ids:
            if self._index is None or self._index.device != scores.device:
                import torch

                self._index = torch.tensor(self.ids, device=scores.device)
            self.steps.append(scores.index_select(-1, self._index).detach())
        return scores

    def p_anomalous(self, tokenizer, generated_ids: list[int]) -> float | None:
        """P(correctness = 0) at the value step of `generated_ids` (batch row 0), or None if there is none."""
        step = value_step(tokenizer, generated_ids)
        if step is None or step >= len(self.steps):
            return None
        token = generated_ids[step]
        pair_index = next((i for i, pair in enumerate(self.pairs) if token in pair), 0)
        scores = self.steps[step][0].float().cpu().tolist()
        zero, one = scores[2 * pair_index], scores[2 * pair_index + 1]
        return two_way_softmax(zero, one)


def two_way_softmax(zero: float, one: float) -> float | None:
    """softmax([zero, one])[0]; None when both are -inf (masked) or not finite."""
    if math.isinf(zero) and math.isinf(one) or math.isnan(zero) or math.isnan(one):
        return None
    top = max(zero, one)
    a, b = math.exp(zero - top), math.exp(one - top)
    return a / (a + b)


def value_step(tokenizer, generated_ids: list[int]) -> int | None:
    """Index of the generated token that holds the correctness digit, or None.

    The digit's character offset is found in the decoded text (last `"correctness": <digit>`), then
    mapped to a token by binary search over decoded prefix lengths (O(log n) decodes).
    """
    text = tokenizer.decode(generated_ids, skip_special_tokens=True)
    matches = list(VALUE_PATTERN.finditer(text))
    if not matches:
        return None
    offset = matches[-1].start(1)
    low, high = 0, len(generated_ids) - 1
    while low < high:
        mid = (low + high) // 2
        if len(tokenizer.decode(generated_ids[: mid + 1], skip_special_tokens=True)) > offset:
            high = mid
        else:
            low = mid + 1
    return low
