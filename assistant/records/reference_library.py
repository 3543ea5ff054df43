"""The normal references of a data home, as an operator manages them: ingest folders, rebuild the store,
accept an inspected image as normal, read each class's calibration and set its overkill target.

Handed out by the Inspector (`inspector.references`), so front ends never touch the stores themselves.
"""

from __future__ import annotations

from pathlib import Path

from assistant.records.accepted_normal import ReferenceAddition, add_reference
from assistant.records.ingestion import IngestReport, images_in, ingest, mvtec_items
from assistant.records.ingestion import rebuild as rebuild_store
from retrieval.errors import BadInput, EmptyStore


class ReferenceLibrary:
    def __init__(self, workspace, scorer, thresholds):
        """scorer: the `PatchScorer` that encodes references; thresholds: the `ClassThresholds` kept current."""
        self.ws = workspace.for_writing()
        self.scorer = scorer
        self.thresholds = thresholds

    def items(self, folder: Path, class_name: str | None = None, layout: str = "folder") -> list[tuple[str, Path]]:
        """(class, image) pairs to ingest: a folder of one class, or every CLASS/train/good (layout mvtec)."""
        if layout == "mvtec":
            if class_name:
                raise BadInput("--class is not used with --layout mvtec (class names come from the folders)")
            return mvtec_items(folder)
        if not class_name:
            raise BadInput("--class NAME is required with a folder of images (or use --layout mvtec)")
        check_class_name(class_name)
        return [(class_name, path) for path in images_in(folder)]

    def ingest(self, items: list[tuple[str, Path]], skip_bad: bool = False, rebuild: bool = False,
               batch_size: int = 16, modality: str | None = None) -> IngestReport:
        """Add (class, path) pairs as normal references; `rebuild`: the store holds these only afterwards
        (built beside the old store, which stays as it was if anything fails). Point clouds and time series
        (by extension, or `modality`) are rendered against their class's profile first (`modal_inputs`)."""
        from assistant.inspection.modal_inputs import render_references

        items = render_references(self.ws, items, modality)
        run = rebuild_store if rebuild else ingest
        return run(self.ws, self.scorer, self.thresholds, items, skip_bad=skip_bad, batch_size=batch_size)

    def accept(self, image_path: Path, class_name: str) -> ReferenceAddition:
        """One inspected image joins its class's references; the class is recalibrated."""
        return add_reference(self.ws, self.scorer, self.thresholds, image_path, class_name)

    def calibration(self, class_name: str):
        """The class's current `Calibration` (recomputed first if its references or settings changed).
        An empty home or store, or a class with no references, is one line saying so; nothing is created."""
        self._require(class_name)
        return self.thresholds.current(class_name)

    def set_target(self, class_name: str, rate: float):
        """An engineer's overkill target for one class (kept in the home) -> its recomputed `Calibration`."""
        self._require(class_name)
        return self.thresholds.set_target(class_name, rate)

    def migrate_to(self, to: str, shared: str | None, progress=None):
        """Copy this home's embedded store to the Chroma server `to` (HOST:PORT) and its files to the
        `shared` folder -> a `MigrationReport` (`records.store_migration`)."""
        from assistant.records.store_migration import migrate

        return migrate(self.ws, to, shared, progress)

    def own_target(self, class_name: str) -> float | None:
        """The class's own overkill target, None when it uses the configured `calibration.target_overkill`."""
        targets = self.thresholds.targets
        return targets.for_class(class_name) if targets.is_set(class_name) else None

    def _require(self, class_name: str) -> None:
        if not self.ws.has_store():
            raise EmptyStore(f"the reference store in {self.ws.home.root} is empty; add normal images with "
                             "`normalcy ingest DIR --class NAME` before calibrating a class")
        with self.ws.using_store():
            self.ws.references.require_class(class_name)


def check_class_name(name: str) -> None:
    if not name.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise BadInput(f"class name {name!r} may hold only letters, digits, '_', '-' and '.'")
