"""`normalcy doctor`: what in a data home is damaged, and the repair of what can be rebuilt.

It checks, in order: the home itself (a folder, writable), the store's database, the classes' PCA bases
of stored features (`retrieval.features.pca`), the cached features of every reference (a finite (C, H, W) array), the stored reference copies (they decode), the store's vector
index (Chroma reads it, and references spread over it find their own vector nearest), each class's
calibration (usable and current) and the model's calibration of P(anomalous) (readable, thresholds in
(0, 1]). With `repair`, features are recomputed from the copies, the index from the records in the
database and the features (`ingestion.rebuild_index`), calibration from the features, and a damaged model
calibration is dropped so that it is recomputed; a damaged database or a lost copy cannot be rebuilt from
the home and is said to be so, with what to do. Handed out by the Inspector (`inspector.doctor`), so front ends never touch the stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.records.ingestion import rebuild_index
from retrieval.chroma_client import REBUILD_HINT, store_problem
from retrieval.errors import DamagedIndex, NormalcyError
from retrieval.reference_index import index_problem, stored_references


@dataclass
class Finding:
    part: str              # home | store | bases | features | copies | index | calibration | model calibration
    detail: str
    damaged: bool = False
    repaired: bool = False

    def line(self) -> str:
        state = "repaired" if self.repaired else ("DAMAGED" if self.damaged else "ok")
        return f"{state:9s}{self.part}: {self.detail}"


@dataclass
class DoctorReport:
    findings: list[Finding] = field(default_factory=list)

    def add(self, part: str, detail: str, damaged: bool = False, repaired: bool = False) -> None:
        self.findings.append(Finding(part, detail, damaged, repaired))

    @property
    def remaining(self) -> list[Finding]:
        """Damage that is still there (not repaired)."""
        return [f for f in self.findings if f.damaged and not f.repaired]

    def lines(self) -> list[str]:
        return [f.line() for f in self.findings]

    def summary(self) -> str:
        parts = sorted({f.part for f in self.remaining})
        return (f"damage remains in {', '.join(parts)} of the data home (see above); "
                + ("run `normalcy doctor --repair`, then follow what it says" if parts else ""))


class HomeDoctor:
    def __init__(self, workspace, scorer, thresholds, model_calibration=None):
        """model_calibration: the `ModelThresholds` of the home (its `path`, `problem()`, `discard()`)."""
        self.ws = workspace
        self.scorer = scorer
        self.thresholds = thresholds
        self.model_calibration = model_calibration

    def examine(self, repair: bool = False) -> DoctorReport:
        report = DoctorReport()
        references = self._store(report)
        if references is not None:
            self._bases(report, references, repair)
            self._features(report, references, repair)
            self._copies(report, references)
            if self._index(report, repair):
                self._calibration(report, repair)
        self._model_calibration(report, repair)
        return report

    def _store(self, report: DoctorReport):
        """All references of the store, or None when the home or the store cannot be read."""
        try:
            self.ws.home.check(create=False)
        except NormalcyError as exc:
            report.add("home", str(exc), damaged=True)
            return None
        problem = None if self.ws.home.server else store_problem(self.ws.home.store)
        if problem:
            report.add("store", f"{problem}; {REBUILD_HINT}", damaged=True)
            return None
        if not self.ws.has_store():
            report.add("store", "none yet (nothing was ingested into this home)")
            return None
        try:
            classes = self.ws.references.classes()
        except DamagedIndex:      # `_index` names it; the database still lists the references
            references = stored_references(self.ws.home.store, server=self.ws.client if self.ws.home.server else None)
            report.add("store", f"{len(references)} reference(s) recorded in its database")
            return references
        except NormalcyError as exc:
            report.add("store", str(exc), damaged=True)
            return None
        report.add("store", f"{len(classes)} class(es), {sum(classes.values())} reference(s)")
        return [r for name in classes for r in self.ws.references.of_class(name)]

    def _index(self, report: DoctorReport, repair: bool) -> bool:
        """Whether the vector index reads (after repair, when asked)."""
        problem = index_problem(self.ws.references)
        if problem is None:
            report.add("index", "every sampled reference is found by its own vector")
            return True
        if not repair:
            report.add("index", f"{problem}; --repair rebuilds it from the cached features", damaged=True)
            return False
        try:
            count = rebuild_index(self.ws, self.scorer, self.thresholds)
        except NormalcyError as exc:
            report.add("index", f"{problem}; rebuilding it failed: {exc}", damaged=True)
            return False
        report.add("index", f"{problem}; rebuilt from the cached features of {count} reference(s)",
                   damaged=True, repaired=True)
        return True

    def _model_calibration(self, report: DoctorReport, repair: bool) -> None:
        model = self.model_calibration
        if model is None:
            return
        problem = model.problem()
        if problem is None:
            report.add("model calibration", "readable" if model.path.is_file()
                       else "none yet (computed when a model first inspects a class)")
        elif not repair:
            report.add("model calibration", f"{problem}; --repair drops it so that it is recomputed", damaged=True)
        else:
            model.discard()
            report.add("model calibration", f"{problem}; dropped, recomputed when a model next inspects a class",
                       damaged=True, repaired=True)

    def _bases(self, report: DoctorReport, references, repair: bool) -> None:
        """The classes' PCA bases (`retrieval.features.pca`); with repair a damaged one is dropped, so the
        files on it count as damaged below and are recomputed on a newly fitted basis."""
        classes = sorted({r.class_name for r in references})
        caches = {name: self.ws.features_for(name) for name in classes}
        if not any(cache.projects for cache in caches.values()):
            return
        bad = {name: problem for name in classes if (problem := caches[name].basis_problem(name))}
        if not bad:
            fitted = sum(caches[name].basis_of(name) is not None for name in classes)
            report.add("bases", f"{fitted} of {len(classes)} class(es) store features on their PCA basis")
            return
        detail = f"{len(bad)} class basis(es) damaged (first: {next(iter(bad.values()))})"
        if not repair:
            report.add("bases", detail + "; --repair fits new ones and recomputes their files", damaged=True)
            return
        for name in bad:
            caches[name].forget_basis(name)
        report.add("bases", detail + "; dropped, new ones are fitted from the stored copies", damaged=True,
                   repaired=True)

    def _features(self, report: DoctorReport, references, repair: bool) -> None:
        bad = {r.sha256: (r, self.ws.features_for(r.class_name).check(r.sha256)) for r in references}
        bad = {sha: pair for sha, pair in bad.items() if pair[1] is not None}
        if not bad:
            report.add("features", f"{len(references)} cached feature file(s) read back finite"
                       + self._older_layout(references, repair))
            return
        first = next(iter(bad.values()))
        detail = f"{len(bad)} of {len(references)} feature file(s) damaged (first: {first[0].sha256[:12]}, {first[1]})"
        if not repair:
            report.add("features", detail + "; --repair recomputes them from the stored copies", damaged=True)
            return
        failed = []
        for sha, (reference, _) in bad.items():
            self.ws.features_for(reference.class_name).discard(sha)
            try:
                self.scorer.stored(reference)
            except NormalcyError as exc:
                failed.append(str(exc))
        report.add("features", detail + (f"; {len(failed)} could not be rebuilt: {failed[0]}" if failed
                                         else "; recomputed from the stored copies"),
                   damaged=True, repaired=not failed)

    def _older_layout(self, references, repair: bool) -> str:
        """How many feature files are still in the layout before issue 14 (float16 grids), converted now
        with `repair` (each is converted anyway when first read)."""
        older = [r for r in references if not self.ws.features_for(r.class_name).path(r.sha256).is_file()]
        if not older:
            return ""
        if repair:
            for reference in older:
                self.ws.features_for(reference.class_name).get(reference.sha256)
        return (f"; {len(older)} of {len(references)} in the layout before issue 14, "
                + ("converted" if repair else "converted when read (--repair converts them now)"))

    def _copies(self, report: DoctorReport, references) -> None:
        lost = []
        for reference in references:
            try:
                found = self.scorer.copies.load(reference.sha256)
            except NormalcyError:
                found = None
            if found is None:
                lost.append(reference)
        if not lost:
            report.add("copies", f"{len(references)} stored reference cop(ies) decode")
            return
        classes = sorted({r.class_name for r in lost})
        report.add("copies", f"{len(lost)} stored reference cop(ies) missing or damaged (first: {lost[0].path}); "
                   f"they cannot be rebuilt from the home: re-ingest class(es) {', '.join(classes)}", damaged=True)

    def _calibration(self, report: DoctorReport, repair: bool) -> None:
        try:
            self.thresholds.stored()
        except NormalcyError as exc:
            if not repair:
                report.add("calibration", str(exc), damaged=True)
                return
            self.ws.home.calibration.unlink()
        for name in self.ws.references.classes():
            self._class_calibration(report, name, repair)

    def _class_calibration(self, report: DoctorReport, name: str, repair: bool) -> None:
        known = self.thresholds.known(name)
        current = known is not None and known.is_current(self.ws.references.fingerprint(name),
                                                         self.thresholds.settings(name))
        if current:
            report.add("calibration", f"{name}: threshold {known.threshold:.4f}, sealed and current")
            return
        damaged = known is not None and not known.usable()
        why = "edited or damaged (digest mismatch)" if damaged else ("missing" if known is None else "stale")
        if not repair:
            report.add("calibration", f"{name}: {why}; --repair (or the next inspection) recomputes it",
                       damaged=damaged)
            return
        try:
            fresh = self.thresholds.recalibrate(name)
        except NormalcyError as exc:
            report.add("calibration", f"{name}: {why}; recomputing failed: {exc}", damaged=True)
            return
        report.add("calibration", f"{name}: {why}; recomputed, threshold {fresh.threshold:.4f}",
                   damaged=damaged, repaired=True)
