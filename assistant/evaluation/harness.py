"""The evaluation use case: a labelled dataset in, DIR/metrics.json out (the report is the UI's).

1. References: each class's training normals only (`Dataset.references`), ingested into the eval-private
   home DIR/home; the operator's store is never touched and no test image can be a reference.
2. Each test image: evidence gathered once (references, anomaly map, threshold), then one verdict per
   strategy of the plan (vision_only from the evidence alone; prompt strategies ask the model). Every
   verdict is appended to DIR/results.jsonl at once, so an interrupted run continues where it stopped.
3. Metrics per class and their mean (assistant.evaluation.metrics), pixel AUROC / AUPRO from the score maps where
   the dataset has masks (assistant.evaluation.kept_maps), worst cases with overlays under DIR/cases/.
   With a text map configured, the "text_map" block: few-shot alone, text map alone and fused per class, from
   the same evidence (assistant.evaluation.text_map_rows).
Rules are retrieved only when a strategy puts them in the prompt (vision-only decisions do not read them).
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from assistant.evaluation.kept_maps import MapCache, class_pixel_metrics, needs_maps
from assistant.evaluation.metrics import THRESHOLD
from assistant.evaluation.plan import VISION_ONLY, EvalPlan, limit_samples, resolve_strategies
from assistant.evaluation.reference_home import prepare_references
from assistant.evaluation.result_cache import ResultCache, config_hash, file_sha256, result_entry, result_key
from assistant.evaluation.results import EvalResults
from assistant.evaluation.text_map_rows import SourceCache, text_map_rows
from assistant.evaluation.worst_cases import save_overlays
from assistant.home import Home
from retrieval.atomic_file import write_text
from retrieval.errors import BadInput

WORST_PER_CLASS = 3


@dataclass
class EvalOutcome:
    document: dict            # the metrics.json object
    curves: dict              # {class: ROC/PR curves} of the headline strategy
    worst: list[dict]         # worst cases of the headline strategy, each with its overlay path
    notes: tuple[str, ...]
    computed: int             # verdicts computed by this run
    reused: int               # verdicts read from DIR/results.jsonl
    metrics_path: Path

    def summary_lines(self) -> list[str]:
        """One human line per strategy: the mean metrics a reader looks at first."""
        from assistant.evaluation.results import summary_lines
        from assistant.evaluation.text_map_rows import row_lines

        lines = summary_lines(self.document, self.document["config"]["strategies"])
        return lines + (row_lines(self.document["text_map"]) if "text_map" in self.document else [])


class Evaluation:
    def __init__(self, dataset, out_dir, config, plan: EvalPlan, *, inspector_for, limit: int | None = None,
                 seed: int = 0, backend=None):
        """inspector_for(home, backend) -> the Inspector of `config` over the eval-private home."""
        self.dataset, self.config, self.plan = dataset, config, plan
        self.out = Path(out_dir)
        self.limit, self.seed = limit, seed
        self.samples = limit_samples(dataset.samples, limit, seed)
        self.inspector = inspector_for(Home(self.out / "home"), backend)
        self.cache = ResultCache(self.out / "results.jsonl")
        self.maps = MapCache(self.out / "maps")
        self.sources = SourceCache(self.out / "maps") if config.retrieval.text_map.provider != "none" else None
        self.hashes: dict[str, dict[str, str]] = {}
        self.map_classes = {c: needs_maps([s for s in self.samples if s.class_name == c]) for c in dataset.classes}
        self.computed = self.reused = 0

    def run(self) -> EvalOutcome:
        if not self.samples:
            raise BadInput(f"{self.dataset.root} holds no test images for the chosen classes; nothing to evaluate")
        self.out.mkdir(parents=True, exist_ok=True)
        shas = {sample: file_sha256(sample.path) for sample in self.samples}
        fingerprints = prepare_references(self.inspector, self.dataset, shas)
        model_id = self._model_id()
        prompt_inputs = self._prompt_inputs() if model_id else ""
        self.hashes = {c: {"evidence": config_hash(self.config, fp),
                           "model": config_hash(self.config, fp, model_id, prompt_inputs) if model_id else None}
                       for c, fp in fingerprints.items()}
        self._evaluate_all(shas)
        results = self._results(shas)
        document = results.document(self.plan.headline, self._config_block(model_id))
        if self.sources is not None:
            document["text_map"] = text_map_rows(self.samples, shas, self.sources, evidence_hashes_of(self.hashes),
                                                 self.config.retrieval.text_map, self.config.retrieval.map.top_fraction)
        metrics_path = self._write_metrics(document)
        evidence_hashes = evidence_hashes_of(self.hashes)
        worst = save_overlays(self._gather, results.worst(self.plan.headline, WORST_PER_CLASS),
                              self.out / "cases", evidence_hashes)
        return EvalOutcome(document, results.curves(self.plan.headline), worst, self.plan.notes,
                           self.computed, self.reused, metrics_path)

    def _model_id(self) -> str | None:
        """The answering model's name when a prompt strategy runs (loads the model: errors show early)."""
        if not self.plan.model_strategies:
            return None
        backend = self.inspector.backend
        return f"{backend.name}|{self.config.vlm.model or ''}|{model_weights_id(backend)}"

    def _prompt_inputs(self) -> str:
        """Digest of the rule texts, the prompt templates and the text encoder's id: editing a rule or a
        template, or swapping the text encoder, makes every model verdict stale."""
        from assistant.reasoning.prompt_builder import templates_digest

        workspace = self.inspector.workspace
        rules = sorted(f"{rule.id}:{rule.digest}" for rule in workspace.rule_files_content())
        text = "\n".join([*rules, templates_digest(), workspace.text_encoder.id])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def _hash(self, class_name: str, strategy: str) -> str:
        return self.hashes[class_name]["evidence" if strategy == VISION_ONLY else "model"]

    def _evaluate_all(self, shas: dict) -> None:
        from tqdm import tqdm

        with tqdm(self.samples, desc="evaluating", unit="img", file=sys.stderr, dynamic_ncols=True) as bar:
            for sample in bar:
                self._evaluate(sample, shas[sample])
                bar.set_postfix(computed=self.computed, reused=self.reused, refresh=False)

    def _evaluate(self, sample, sha: str) -> None:
        """All strategies' verdicts on one image (and its map, where masks need it), from one evidence."""
        name = sample.class_name
        todo = [s for s in self.plan.strategies if result_key(sha, name, s, self._hash(name, s)) not in self.cache]
        self.reused += len(self.plan.strategies) - len(todo)
        need_map = self.map_classes[name] and (self.hashes[name]["evidence"], sha) not in self.maps
        need_sources = self.sources is not None and (self.hashes[name]["evidence"], sha) not in self.sources
        if not todo and not need_map and not need_sources:
            return
        evidence = self._gather(sample)
        if evidence.query.sha256 != sha:
            raise BadInput(f"{sample.path} changed while it was being evaluated; re-run the evaluation")
        if need_map:
            self.maps.put(self.hashes[name]["evidence"], sha, evidence)
        if need_sources:
            self.sources.put(self.hashes[name]["evidence"], sha, evidence)
        for strategy in todo:
            key = result_key(sha, name, strategy, self._hash(name, strategy))
            self.cache.append(result_entry(key, sample.path, strategy, self._verdict(evidence, strategy)))
            self.computed += 1

    def _gather(self, sample):
        image = self.inspector.load(sample.path)
        return self.inspector.gatherer.gather(image, sample.class_name, with_rules=self.plan.needs_rules)

    def _verdict(self, evidence, strategy: str):
        if strategy == VISION_ONLY:
            from assistant.inspection.evidence_verdict import evidence_verdict

            return evidence_verdict(evidence)       # out of distribution, as `inspect` says, else vision-only
        return self.inspector.conclude(evidence, strategy=strategy, log=False).verdict

    def _results(self, shas: dict) -> EvalResults:
        entries = {s: [(sample, self.cache.get(result_key(shas[sample], sample.class_name, s,
                                                          self._hash(sample.class_name, s))))
                       for sample in self.samples] for s in self.plan.strategies}
        pixel = {}
        for name in self.hashes:
            mine = [s for s in self.samples if s.class_name == name]
            pixel[name] = class_pixel_metrics(mine, shas, self.maps, self.hashes[name]["evidence"])
        return EvalResults(entries, pixel)

    def _config_block(self, model_id: str | None) -> dict:
        names = sorted({s.class_name for s in self.samples})
        retrieval = self.config.retrieval
        return {
            "dataset": str(self.dataset.root), "layout": self.dataset.layout, "classes": names,
            "strategies": list(self.plan.strategies), "headline_strategy": self.plan.headline,
            "model": model_id, "limit_per_class": self.limit, "seed": self.seed,
            "n_test_images": {c: sum(s.class_name == c for s in self.samples) for c in names},
            "n_references": {c: len(self.dataset.references[c]) for c in names},
            "references": "each class's training normals only, ingested into an eval-private home",
            "encoder": retrieval.encoder.name, "k": retrieval.map.k, "calibration_z": retrieval.calibration.z,
            "target_overkill": retrieval.calibration.target_overkill,
            "decision_threshold": THRESHOLD, "result_config_hashes": {c: self.hashes[c] for c in names},
            "config_hash": self.config.hash(), "notes": list(self.plan.notes)}

    def _write_metrics(self, document: dict) -> Path:
        return write_text(self.out / "metrics.json", json.dumps(document, indent=2, allow_nan=False) + "\n")


def run_evaluation(dataset, out_dir, config, strategies=(), *, inspector_for, limit: int | None = None,
                   seed: int = 0, backend=None, add_normal: str | None = None) -> EvalOutcome:
    """Evaluate `dataset` (assistant.evaluation.dataset.Dataset) into `out_dir` with the requested strategies
    (names, "all", or none: see assistant.evaluation.plan); `backend` replaces the configured model;
    inspector_for(home, backend) builds the Inspector of `config` over the eval-private home. add_normal:
    run the NAND protocol with that defect group instead (`normality_protocol`) -> its `NandOutcome`."""
    if add_normal:
        from assistant.evaluation.normality_protocol import run_protocol

        if strategies or limit:
            raise BadInput("--add-normal scores the evidence of every test image; leave out --strategy and --limit")
        return run_protocol(dataset, out_dir, add_normal, inspector_for=inspector_for, backend=backend)
    has_model = backend is not None or bool(config.vlm.model)
    plan = resolve_strategies(strategies, has_model, config.vlm.strategy)
    return Evaluation(dataset, out_dir, config, plan, inspector_for=inspector_for, limit=limit, seed=seed,
                      backend=backend).run()


def evidence_hashes_of(hashes: dict) -> dict[str, str]:
    return {c: h["evidence"] for c, h in hashes.items()}


def model_weights_id(backend) -> str:
    """A digest of a local model's weight files (the whole bytes, cached per file), or the server URL of
    a served one: a result cached with other weights of the same name is never reused."""
    from retrieval.encoders.image_encoder import weights_digest

    folder = getattr(getattr(backend, "preset", None), "local_path", None)
    if folder is None:
        return str(getattr(backend, "url", "") or "unknown-weights")
    files = sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin", ".pt", ".gguf"))
    return hashlib.sha256("|".join(f"{p.name}:{weights_digest(p)}" for p in files).encode()).hexdigest()[:16]
