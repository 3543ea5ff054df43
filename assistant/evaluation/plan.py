"""What one evaluation runs: the strategies of the prompting ablation, and the test samples of each class.

Strategies: "vision_only" (the verdict from the evidence alone) and the prompt strategies of
`assistant.reasoning.prompt_builder.STRATEGIES` (naive, class, rules, reference, rules_reference, overlay), which
ask a language model. "all" is every one of them — only vision_only when no model is configured, and
the plan then carries a note saying so, for the report.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.errors import BadInput

VISION_ONLY = "vision_only"
ALL = "all"
ALIASES = {"vision-only": VISION_ONLY, "vision": VISION_ONLY}
NO_MODEL_NOTE = ("No language model was configured, so only the vision-only row was run: the VLM rows of "
                 "the prompting ablation (naive, class, rules, reference, rules_reference, overlay) need "
                 "--model PRESET_OR_PATH.")


@dataclass(frozen=True)
class EvalPlan:
    """strategies: in run order; headline: the one whose metrics fill metrics.json's classes/mean."""

    strategies: tuple[str, ...]
    headline: str
    notes: tuple[str, ...] = ()

    @property
    def model_strategies(self) -> tuple[str, ...]:
        return tuple(s for s in self.strategies if s != VISION_ONLY)

    @property
    def needs_rules(self) -> bool:
        """Whether a strategy shows the retrieved rules to the model (else evidence skips rule retrieval)."""
        from assistant.reasoning.prompt_builder import STRATEGIES

        return any(STRATEGIES[s].rules for s in self.model_strategies)


def _names(requested: Sequence[str]) -> list[str]:
    """("rules,class", "overlay") → ["rules", "class", "overlay"], aliases resolved."""
    words = [w.strip().lower() for item in requested for w in str(item).split(",")]
    return [ALIASES.get(w, w) for w in words if w]


def _expand(name: str, has_model: bool) -> tuple[list[str], list[str]]:
    """One requested name → (strategies, notes)."""
    from assistant.reasoning.prompt_builder import STRATEGIES

    if name == ALL:
        return ([VISION_ONLY] + list(STRATEGIES), []) if has_model else ([VISION_ONLY], [NO_MODEL_NOTE])
    if name == VISION_ONLY:
        return [VISION_ONLY], []
    if name not in STRATEGIES:
        raise BadInput(f"unknown strategy {name!r}; use {ALL}, {VISION_ONLY} or one of {', '.join(STRATEGIES)}")
    if not has_model:
        raise BadInput(f"strategy {name!r} asks a language model: pass --model PRESET_OR_PATH "
                       f"(see `normalcy models list`), or use --strategy {VISION_ONLY}")
    return [name], []


def resolve_strategies(requested: Sequence[str], has_model: bool, configured: str) -> EvalPlan:
    """The requested strategy names (none: the configured prompt strategy, or vision_only without a
    model) → an EvalPlan. The headline is the configured strategy when it runs, else the first."""
    names = _names(requested) or [configured if has_model else VISION_ONLY]
    strategies, notes = [], []
    for name in names:
        more, why = _expand(name, has_model)
        strategies += more
        notes += why
    unique = tuple(dict.fromkeys(strategies))
    headline = configured if configured in unique else unique[0]
    return EvalPlan(unique, headline, tuple(dict.fromkeys(notes)))


def _order(samples, seed: int) -> list:
    return sorted(samples, key=lambda s: hashlib.sha256(f"{seed}:{s.path.name}".encode()).hexdigest())


def _stratified(samples: list, limit: int, seed: int) -> list:
    """≤ limit samples of one class: good and defective in their proportions (at least one of each
    when limit ≥ 2), each picked in a seeded order."""
    if len(samples) <= limit:
        return samples
    good = _order([s for s in samples if s.label == 0], seed)
    bad = _order([s for s in samples if s.label == 1], seed)
    n_bad = round(limit * len(bad) / len(samples))
    n_bad = min(len(bad), max(n_bad, 1 if bad and limit >= 2 else 0), limit - (1 if good and limit >= 2 else 0))
    n_good = min(len(good), limit - n_bad)
    n_bad = min(len(bad), limit - n_good)
    return good[:n_good] + bad[:n_bad]


def limit_samples(samples: Sequence, limit: int | None, seed: int = 0) -> list:
    """At most `limit` test samples per class (None: all), in the dataset's order."""
    if limit is None:
        return list(samples)
    if limit < 1:
        raise BadInput(f"--limit {limit}: give at least 1 (test images per class)")
    kept = set()
    for name in sorted({s.class_name for s in samples}):
        kept.update(_stratified([s for s in samples if s.class_name == name], limit, seed))
    return [s for s in samples if s in kept]
