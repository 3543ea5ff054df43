"""The Inspector facade: what the CLI and the UI call. One image and a class in, a verdict out.

It gathers the evidence (`inspection/`: references, rules, anomaly map, calibrated threshold), asks the
language model when one is configured (`reasoning/`) — or writes the verdict from the evidence alone
when none is — keeps the conversation for follow-up questions, and appends every inspection and turn to
the run log (`records/`). It hands out the other use cases of its data home: `references` (ingest,
accept-as-normal, calibration), `rule_book`, `history`, `doctor` (damage check and repair), and runs
`evaluate` and `demo_parts`.

It builds each part once and passes it what it needs: scorer → class thresholds → evidence gatherer
→ model reasoner (with its own thresholds of P(anomalous)).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

from assistant.config import NormalcyConfig
from assistant.home import Home
from assistant.inspect_options import InspectOptions
from assistant.inspection.class_threshold import ClassThresholds
from assistant.inspection.evidence import Evidence, EvidenceGatherer, Sheet
from assistant.inspection import follow_up
from assistant.inspection.inputs import LoadedImage, load_image
from assistant.inspection.modal_inputs import input_suffixes, load_query, verdict_with_source
from assistant.inspection.outcome import Inspection
from assistant.inspection.patch_scorer import PatchScorer
from assistant.inspection.time_limit import TimeLimit
from assistant.records.run_log import RunLog
from assistant.verdict import Verdict
from assistant.workspace import Workspace


class Inspector:
    def __init__(self, config: NormalcyConfig, home: Home, backend=None):
        """backend: a loaded `Backend`; default: `config.vlm.model` on first use (none: vision-only mode)."""
        self.config = config
        self.home = home = home.for_store(config.retrieval.store)
        self.workspace = Workspace(config, home)
        self.scorer = PatchScorer(self.workspace)
        self.thresholds = ClassThresholds(self.workspace, self.scorer)
        self.gatherer = EvidenceGatherer(self.workspace, self.scorer, self.thresholds)
        self.log = RunLog(home.runs, config.records)
        self._backend = backend
        self._reasoner = None

    @property
    def backend(self):
        if self._backend is None and self.config.vlm.model:
            from assistant.vlm.backend import load_backend

            self._backend = load_backend(None, self.config.vlm)
        return self._backend

    @property
    def reasoner(self):
        """The model side (prompting, verdict, calibration of P(anomalous)); None in vision-only mode."""
        if self._reasoner is None and self.backend is not None:
            from assistant.reasoning.model_reasoner import ModelReasoner
            from assistant.reasoning.model_threshold import ModelThresholds

            thresholds = ModelThresholds(self.workspace, self.gatherer)
            self._reasoner = ModelReasoner(self.backend, self.config.vlm, thresholds)
        return self._reasoner

    def classes(self) -> dict[str, int]:
        """Product classes in the store and their number of references ({} when nothing was ingested)."""
        if not self.workspace.has_store():
            return {}
        with self.workspace.using_store():
            return self.workspace.references.classes()

    def warm_up(self, calibrate: bool = False, progress=None) -> None:
        """Load what the first inspection would wait for: encoders, stores, rules, the model; `calibrate`: also
        the model's P(anomalous) of every class, then other settings in the background; progress(text)."""
        say = progress or (lambda text: None)
        say("loading the image and text encoders and the stores")
        self.workspace.encoder  # noqa: B018
        if self.workspace.has_store():
            self.workspace.references, self.workspace.rules  # noqa: B018
        if not self.model_id():
            return
        say(f"loading the model {self.model_id()}")
        self.backend  # noqa: B018
        if calibrate:
            for class_name in self.classes():
                say(f"calibrating the model's P(anomalous) for {class_name}")
                self.reasoner.calibrate(class_name)
            self.reasoner.thresholds.background = True

    def model_id(self) -> str | None:
        """The model that writes verdicts (not loading it); None in vision-only mode."""
        return self._backend.name if self._backend is not None else self.config.vlm.model

    def guess_class(self, source) -> tuple[str, float]:
        """(class, similarity): the majority class among the nearest references over all classes."""
        from assistant.inspection.class_guess import guess_class

        guess = guess_class(self.workspace, self.scorer, self.load(source).image)
        return guess.class_name, guess.similarity

    @property
    def history(self):
        """Past inspections, their turns, feedback and owners, read from the run log."""
        from assistant.records.inspection_history import InspectionHistory
        return InspectionHistory(self.log)

    @property
    def rule_book(self):
        """Operator rules: list, add, edit, delete (HOME/rules/local.yaml and the rule store)."""
        from assistant.records.rule_book import RuleBook
        return RuleBook(self.workspace)

    @property
    def normalities(self):          # normalities added by text (NAND), with the model's own phrases when there is one
        from assistant.reasoning.normality_phrases import phrase_writer
        from assistant.records.normality_book import NormalityBook
        return NormalityBook(self.workspace, self.log, phrase_writer(lambda: self.backend))

    @property
    def references(self):
        """The normal references: ingest, rebuild, accept-as-normal, calibration per class."""
        from assistant.records.reference_library import ReferenceLibrary
        return ReferenceLibrary(self.workspace, self.scorer, self.thresholds)

    @property
    def doctor(self):
        """Checks the home (store, features, copies, index, both calibrations); repairs what can be rebuilt."""
        from assistant.reasoning.model_threshold import ModelThresholds
        from assistant.records.home_doctor import HomeDoctor
        return HomeDoctor(self.workspace, self.scorer, self.thresholds, ModelThresholds(self.workspace, self.gatherer))

    @property
    def reference_copies(self):                     # the references' stored copies, found by sha256, to show them
        return self.scorer.copies

    def input_suffixes(self) -> tuple[str, ...]:     # what an operator may give: still images, point clouds, series
        return input_suffixes()

    def load(self, source: str | Path | bytes | LoadedImage, name: str | None = None, class_name: str | None = None,
             modality: str | None = None) -> LoadedImage:
        """The image to inspect; with `class_name` a point cloud, series or video is rendered (`modal_inputs`)."""
        if isinstance(source, LoadedImage):
            return source
        rendered = None if class_name is None else load_query(self.workspace, source, name, class_name, modality,
                                                              self.gatherer)
        return rendered or load_image(source, self.config.inputs, name=name)

    def gather(self, source, class_name: str, question: str | None = None,
               options: InspectOptions | None = None) -> Evidence:
        """The evidence alone (fast): references, rules (unless the options switch them off), map, threshold."""
        with_rules = options is None or options.rules
        return self.gatherer.gather(self.load(source), class_name, question, with_rules=with_rules)

    def conclude(self, evidence: Evidence, question: str | None = None, strategy: str | None = None,
                 log: bool = True, options: InspectOptions | None = None, owner: str | None = None) -> Inspection:
        """The verdict on gathered evidence: the model's when one is configured, else vision-only.
        `options` switch this request's prompt evidence without touching the shared configuration;
        `owner` (a login or browser id) is logged with the inspection, for its History."""
        if evidence.out_of_distribution is not None or self.reasoner is None:   # OOD: the model is not asked
            from assistant.inspection.evidence_verdict import evidence_verdict

            verdict, session = evidence_verdict(evidence, self.model_id()), None
        else:
            verdict, session = self.reasoner.verdict(evidence, question, strategy, options)
        verdict = verdict_with_source(verdict, evidence)           # a render: what of, and where in it
        inspection = Inspection(uuid.uuid4().hex[:12], verdict, evidence, question, session)
        if log:
            inspection.record = self.record(inspection, options)
            if owner:
                self.history.claim(inspection.id, owner)
        return inspection

    def inspect(self, source, class_name: str, question: str | None = None, strategy: str | None = None,
                log: bool = True, options: InspectOptions | None = None, modality: str | None = None) -> Inspection:
        """Inspect one image (path, bytes, LoadedImage; a point cloud or series is rendered first) of `class_name`;
        past `inputs.max_seconds` (checked after decoding and after the evidence) it stops with a BadInput."""
        limit = TimeLimit(self.config.inputs.max_seconds, str(getattr(source, "path", None) or source)[:200]
                          if not isinstance(source, bytes) else "the uploaded image")
        query = self.load(source, class_name=class_name, modality=modality)
        limit.check("decoding")
        evidence = self.gather(query, class_name, question, options)
        limit.check("gathering the evidence")
        return self.conclude(evidence, question, strategy, log, options)

    def ask(self, inspection: Inspection, question: str) -> Iterator[str]:
        """A follow-up question, answered as a stream of text deltas, with the images still in context.
        A stream that breaks or is cancelled leaves no trace: neither in the model's history nor in the log."""
        session, found = inspection.session, follow_up.answer(inspection.evidence, question, self.workspace)
        if session is None:
            pieces = iter([found.text])
        else:                                       # the model gets the evidence vision-only mode would answer with
            asked = f"{question}\n\n{follow_up.FOR_THE_MODEL}\n{found.text}"     # and its crops, as images
            mark, noted, pieces = len(session.history), len(session.notes), session.ask_stream(asked, *found.for_model)
        answer = []
        try:
            for piece in pieces:
                answer.append(piece)
                yield piece
        except BaseException:                       # GeneratorExit (cancelled), a dead server, Ctrl+C
            if session is not None:
                pieces.close()                      # its own cleanup first, then the half turn goes
                session.history = session.history[:mark]
            raise
        self._turn(inspection, question, "".join(answer), session.notes[noted:] if session else [])

    def look_closer(self, inspection: Inspection, question: str | None = None) -> str:
        """Zoom into the hottest region and ask about it (vision-only: describe the region's evidence)."""
        box = inspection.evidence.focus_box
        if inspection.session is None:
            return "".join(self.ask(inspection, question or f"Look closer at the region {box}."))
        noted = len(inspection.session.notes)
        answer = inspection.session.look_closer(tuple(box), question).text
        self._turn(inspection, f"[look closer at {box}] {question or ''}".strip(), answer,
                   inspection.session.notes[noted:])
        return answer

    def retract_last_turn(self, inspection: Inspection) -> tuple[str, str] | None:
        """Withdraw the last follow-up (to ask it again): from the turns, the model's context and the log."""
        if not inspection.turns:
            return None
        turn = inspection.turns.pop()
        if inspection.session is not None:
            inspection.session.history = inspection.session.history[:-2]
        self.log.append({"kind": "retract", "inspection": inspection.id, "question": turn[0]})
        return turn

    def feedback(self, inspection_id: str, rating: str, label: str | None = None, comment: str = "") -> dict:
        """Store the operator's thumbs up/down ("up"/"down") and correction (label normal/defective, comment)."""
        return self.history.feedback(inspection_id, rating, label, comment)

    def accept_as_normal(self, inspection: Inspection):
        """Add the inspected image to its class's references and recalibrate -> ReferenceAddition."""
        query = inspection.evidence.query
        sha = self.log.store_image(query.image, query.sha256)
        addition = self.references.accept(self.log.image_path(sha), inspection.evidence.class_name)
        self.log.append({"kind": "reference_added", "inspection": inspection.id, "class": addition.class_name,
                         "added": addition.added, "threshold": addition.threshold_after})
        return addition

    def reopen(self, inspection_id: str, owner: str | None = None) -> Inspection:
        """A logged inspection, ready for follow-ups: its verdict and turns from the log, its evidence
        re-gathered from the stored image (and, with a model, its conversation resumed)."""
        past = self.history.get(inspection_id, owner)
        record = past.record
        past.require_images()
        options = InspectOptions.from_dict(record["options"]) if record.get("options") else None
        evidence = self.gather(self.log.image_path(record["image"]), record["class"], record.get("question"), options)
        verdict = Verdict(**record["verdict"])
        session = None
        if self.reasoner is not None and verdict.status != "out_of_distribution":
            from assistant.reasoning.resumed_session import resume_session

            session = resume_session(self.reasoner, evidence, record["verdict"], past.turns, record.get("question"),
                                     options, self._logged_sheet(record))
        return Inspection(past.id, verdict, evidence, record.get("question"), session, list(past.turns))

    def _logged_sheet(self, record: dict) -> Sheet | None:
        """The `Sheet` an inspection's record kept (a video's frames, a point cloud's views); None: none, or pruned."""
        image = self.log.stored_image(record.get("frame_sheet"))
        return None if image is None else Sheet(image, record["modality"])

    def follow_up_images(self, inspection: Inspection, question: str) -> list:
        """Vision-only: (caption, image) pairs of a follow-up's evidence, a crop (where) or a side-by-side."""
        return [] if inspection.session is not None else follow_up.images(inspection.evidence, question)

    def focus_crop(self, inspection: Inspection):
        """-> (box, crop): the region "look closer" asks about, zoomed as the model is shown it."""
        from assistant.reasoning.conversation import zoom_region
        box = inspection.evidence.focus_box
        return box, zoom_region(inspection.evidence.query.image, tuple(box))

    def _turn(self, inspection: Inspection, question: str, answer: str, notes: list[str] = ()) -> None:
        inspection.turns.append((question, answer))
        self.log.append({"kind": "turn", "inspection": inspection.id, "question": question, "answer": answer,
                         "model": inspection.verdict.model, **({"notes": list(notes)} if notes else {})})

    def record(self, inspection: Inspection, options: InspectOptions | None = None) -> dict:  # -> its run log line
        config = self.config if options is None else options.apply(self.config)
        return self.log.record_inspection(inspection, self.workspace.encoder.id, config.hash(),
                                          None if options is None else options.to_dict())

    def evaluate(self, dataset_root: Path, layout: str, out_dir: Path, strategies=(), classes: str | None = None,
                 limit: int | None = None, seed: int = 0, add_normal: str | None = None):
        """This configuration (and model) on a labelled dataset, in an eval-private home under `out_dir` ->
        `EvalOutcome` (metrics.json); `add_normal`: the NAND protocol (that group re-labelled) -> `NandOutcome`."""
        from assistant.evaluation.dataset import load_dataset
        from assistant.evaluation.harness import run_evaluation
        data = load_dataset(dataset_root, layout, classes, seed=seed)
        return run_evaluation(data, out_dir, self.config, strategies, limit=limit, seed=seed, backend=self._backend,
                              inspector_for=lambda home, backend: Inspector(self.config, home, backend=backend),
                              add_normal=add_normal)

    def demo_parts(self, source: str = "all", n_references: int = 120):
        """-> (references [(class, path)], cases [DemoCase], notices) of the demo (`demo/`)."""
        from assistant.demo.demo_parts import demo_parts
        return demo_parts(source, n_references, self.home.root / "demo")
