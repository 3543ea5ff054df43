"""The results of an evaluation: cached verdicts of every (sample, strategy) → metrics.json, curves, cases.

Labels come from the dataset, scores and decisions from the cached verdicts; unparsed answers are
records like any other (counted in n_unparsed, decided as the system did), never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from assistant.evaluation import metrics
from assistant.evaluation.metrics import ImageRecord


@dataclass
class EvalResults:
    """entries: {strategy: [(sample, cached entry)]} in sample order; pixel: {class: pixel metrics}."""

    entries: dict[str, list[tuple[object, dict]]]
    pixel: dict[str, dict] = field(default_factory=dict)

    def records(self, strategy: str) -> list[ImageRecord]:
        return [ImageRecord.from_verdict(entry, class_name=sample.class_name, label=sample.label,
                                         path=str(sample.path))
                for sample, entry in self.entries[strategy]]

    def per_class(self, strategy: str) -> dict:
        return metrics.summarise_classes(self.records(strategy), self.pixel)

    def document(self, headline: str, config: Mapping) -> dict:
        """The metrics.json object: the headline strategy's classes and mean, every strategy's block."""
        strategies = {name: self.per_class(name) for name in self.entries}
        return metrics.metrics_document(strategies[headline], config, strategies)

    def curves(self, strategy: str) -> dict:
        """{class: ROC and PR curves of the continuous score} (None for a class with one label only)."""
        records = self.records(strategy)
        out = {}
        for name in sorted({r.class_name for r in records}):
            mine = [r for r in records if r.class_name == name]
            out[name] = metrics.curves([r.label for r in mine], [r.score for r in mine])
        return out

    def worst(self, strategy: str, k: int = 3) -> list[dict]:
        """The most confident wrong decisions per class, each with its sample, sha256 and reasoning."""
        found = {(s.class_name, str(s.path)): (s, entry) for s, entry in self.entries[strategy]}
        cases = metrics.worst_cases(self.records(strategy), k)
        for case in cases:
            sample, entry = found[case["class_name"], case["path"]]
            case.update(sample=sample, sha256=entry["sha256"], reasoning=entry.get("reasoning") or "",
                        strategy=strategy)
        return cases


def summary_lines(document: Mapping, strategies: Sequence[str]) -> list[str]:
    """One human line per strategy: the mean metrics a reader looks at first."""
    lines = []
    for name in strategies:
        mean = document["strategies"][name]["mean"]
        shown = "  ".join(f"{label} {_fmt(mean.get(key))}" for key, label in
                          (("auroc", "AUROC"), ("aupr", "AUPR"), ("acc", "ACC"), ("balanced_acc", "bal.ACC"),
                           ("f1_max", "F1-max"), ("pixel_auroc", "pixel-AUROC"), ("aupro", "AUPRO")))
        lines.append(f"{name}: {shown}  unparsed {mean.get('n_unparsed', 0)}/{mean.get('n', 0)}")
    return lines


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"
