"""The NAND protocol (`normalcy eval DATASET --add-normal GROUP`): one defect group becomes normal by text.

1. References: each class's training normals, ingested into the eval-private home DIR/home (as for the
   ordinary evaluation); normalities left there by an earlier run are removed first.
2. Every test image's map score with no added normality ("before"). Then each class that has the group
   gets the normality "a GROUP is acceptable" through the product path (`Inspector.normalities`: phrases,
   accepted-noise rule, run log), every test image is scored again ("after"), and the normality is removed
   again (the run log keeps both), so the eval home holds no added normality between runs.
3. AUROC per class, anomalous = positive, with GROUP's images now counted as normal: over all its test
   images ("relabelled": the task the normality was added for), and for each other defect group over the
   good images vs that group ("others": what the new normality costs the detection of other defects).
   Means over the classes; everything in DIR/nand.json. The ordinary evaluation's cache is not touched.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from assistant.evaluation.metrics import auroc
from assistant.evaluation.reference_home import prepare_references
from assistant.evaluation.result_cache import file_sha256
from assistant.home import Home
from assistant.records.normality_book import NO_TEXT_SPACE
from retrieval.atomic_file import write_text
from retrieval.errors import BadInput, ConfigError
from retrieval.text_space.normality_phrases import readable

NORMALITY_TEXT = "a {group} is acceptable"
WHO = "normalcy eval --add-normal"


@dataclass
class NandOutcome:
    document: dict            # the nand.json object
    path: Path

    def summary_lines(self) -> list[str]:
        mean = self.document["mean"]
        lines = [f"{self.document['group']} re-labelled normal, normality {self.document['normality']!r}",
                 f"AUROC relabelled: {_pair(mean['relabelled'])}"]
        return lines + [f"AUROC {group} (vs good): {_pair(pair)}" for group, pair in mean["others"].items()]


def _pair(pair: dict) -> str:
    show = lambda v: "n/a" if v is None else f"{v:.4f}"      # noqa: E731
    return f"{show(pair['before'])} -> {show(pair['after'])}"


def groups_of(dataset) -> list[str]:
    return sorted({s.defect_type for s in dataset.samples if s.label == 1})


def _scores(inspector, samples) -> list[float]:
    from tqdm import tqdm

    return [inspector.gatherer.gather(inspector.load(s.path), s.class_name, with_rules=False).map_score
            for s in tqdm(samples, desc="scoring", unit="img", file=sys.stderr, dynamic_ncols=True)]


def _class_aurocs(samples, before: list[float], after: list[float], group: str) -> dict:
    """{"relabelled": {before, after}, "others": {GROUP: {before, after}}} of one class's samples."""
    def pair(keep):
        rows = [(int(s.label == 1 and s.defect_type != group), b, a)
                for s, b, a in zip(samples, before, after) if keep(s)]
        labels = [r[0] for r in rows]
        return {"before": auroc(labels, [r[1] for r in rows]), "after": auroc(labels, [r[2] for r in rows])}

    others = sorted({s.defect_type for s in samples if s.label == 1} - {group})
    return {"relabelled": pair(lambda s: True),
            "others": {g: pair(lambda s, g=g: s.label == 0 or s.defect_type == g) for g in others}}


def _mean(pairs: list[dict]) -> dict:
    def avg(key):
        values = [p[key] for p in pairs if p[key] is not None]
        return sum(values) / len(values) if values else None
    return {"before": avg("before"), "after": avg("after")}


def _with_normality(inspector, samples, text: str, group: str) -> list[float]:
    """The scores with `text` added to every class that has the group; the home is left without
    added normalities again (so no later evaluation in the folder is suppressed unawares)."""
    try:
        for name in sorted({s.class_name for s in samples if s.defect_type == group}):
            inspector.normalities.add(text, name, WHO)
        return _scores(inspector, samples)
    finally:
        _clear(inspector)


def _clear(inspector) -> None:
    for normality in inspector.normalities.list():
        inspector.normalities.remove(normality.id, WHO)


def _document(dataset, samples, before, after, group: str, text: str, provider: str) -> dict:
    classes = {}
    for name in sorted({s.class_name for s in samples}):
        mine = [i for i, s in enumerate(samples) if s.class_name == name]
        classes[name] = _class_aurocs([samples[i] for i in mine], [before[i] for i in mine],
                                      [after[i] for i in mine], group)
    others = sorted({g for c in classes.values() for g in c["others"]})
    mean = {"relabelled": _mean([c["relabelled"] for c in classes.values()]),
            "others": {g: _mean([c["others"][g] for c in classes.values() if g in c["others"]]) for g in others}}
    return {"dataset": str(dataset.root), "layout": dataset.layout, "group": group, "normality": text,
            "text_map": provider, "classes": classes, "mean": mean}


def run_protocol(dataset, out_dir: Path, group: str, *, inspector_for, backend=None) -> NandOutcome:
    """Run the protocol on `dataset` into `out_dir` -> NandOutcome (DIR/nand.json written)."""
    if group not in groups_of(dataset):
        raise BadInput(f"defect group {group!r} is not in {dataset.root} (its groups: "
                       f"{', '.join(groups_of(dataset)) or 'none'}); pick one of its test/<group>/ folders")
    out = Path(out_dir)
    inspector = inspector_for(Home(out / "home"), backend)
    provider = inspector.config.retrieval.text_map.provider
    if provider == "none":
        raise ConfigError(NO_TEXT_SPACE)
    samples = list(dataset.samples)
    prepare_references(inspector, dataset, {s: file_sha256(s.path) for s in samples})
    _clear(inspector)                                   # an interrupted earlier run may have left one
    before = _scores(inspector, samples)
    text = NORMALITY_TEXT.format(group=readable(group))
    after = _with_normality(inspector, samples, text, group)
    document = _document(dataset, samples, before, after, group, text, provider)
    path = write_text(out / "nand.json", json.dumps(document, indent=2, allow_nan=False) + "\n")
    return NandOutcome(document, path)
