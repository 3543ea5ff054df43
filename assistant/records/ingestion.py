"""Adding normal reference images to the store.

Every file is validated before anything is written (a bad file stops the run with one line naming it,
unless `skip_bad`), images already in the store are skipped (ids are `<class>/<sha256>`), and the rest is
committed in small batches — features cached, the original file kept as the copy, record added — so an interrupted run
keeps what it finished and a re-run continues. Touched classes are recalibrated at the end.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from assistant.inspection.inputs import IMAGE_SUFFIXES, load_image
from assistant.inspection.modal_inputs import input_suffixes
from retrieval.errors import BadInput
from retrieval.reference_store import Reference


@dataclass
class IngestReport:
    added: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)   # one line per bad file (when skipping bad files)

    def summary(self) -> str:
        classes = sorted(set(self.added) | set(self.skipped))
        parts = [f"{c}: {self.added.get(c, 0)} added, {self.skipped.get(c, 0)} already present" for c in classes]
        if self.rejected:
            parts.append(f"{len(self.rejected)} bad file(s) skipped")
        return "; ".join(parts) or "nothing to ingest"


def images_in(folder: Path) -> list[Path]:
    """Image files directly in `folder`, sorted; a missing or image-less folder is a BadInput."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BadInput(f"{folder} is not a folder; give a folder of normal images")
    suffixes = input_suffixes()            # still images, point clouds, time series
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
    if not files:
        raise BadInput(f"{folder} holds no images ({', '.join(IMAGE_SUFFIXES)}) nor point clouds or time series "
                       f"({', '.join(s for s in suffixes if s not in IMAGE_SUFFIXES)}); give a folder of normal parts")
    return files


def mvtec_items(root: Path) -> list[tuple[str, Path]]:
    """(class, image) pairs from every CLASS/train/good of an MVTec-style tree."""
    root = Path(root)
    goods = sorted(p for p in root.glob("*/train/good") if p.is_dir()) if root.is_dir() else []
    if not goods:
        raise BadInput(f"{root} has no CLASS/train/good folders; is it an MVTec-style tree?")
    return [(good.parent.parent.name, path) for good in goods for path in images_in(good)]


def validate(items, limits, skip_bad: bool, report: IngestReport) -> list[tuple[str, Path, str]]:
    """Decode every file once before anything is written -> (class, path, sha256) of the good ones.

    Bad files stop the run (or, with skip_bad, are listed and skipped). Decoded pixels are not kept, so
    memory stays flat however large the folder is."""
    from tqdm import tqdm

    good = []
    for class_name, path in tqdm(items, desc="checking", unit="img", file=sys.stderr, leave=False):
        try:
            good.append((class_name, Path(path), load_image(path, limits).sha256))
        except BadInput as exc:
            if not skip_bad:
                raise BadInput(f"{exc} (nothing was ingested; fix or remove it, or pass --skip-bad)") from None
            report.rejected.append(str(exc))
    return good


def pending(store, checked, report: IngestReport) -> list[tuple[str, Path, str]]:
    """Drop images the store already holds for that class (and duplicates within this run)."""
    seen = store.existing([f"{c}/{sha}" for c, _, sha in checked])
    todo = []
    for class_name, path, sha in checked:
        if f"{class_name}/{sha}" in seen:
            report.skipped[class_name] = report.skipped.get(class_name, 0) + 1
            continue
        seen.add(f"{class_name}/{sha}")
        todo.append((class_name, path, sha))
    return todo


def ingest(workspace, scorer, thresholds, items: list[tuple[str, Path]], skip_bad: bool = False,
           batch_size: int = 16) -> IngestReport:
    """Ingest (class, path) pairs; returns what was added, skipped and rejected.
    scorer: the `PatchScorer` that encodes them; thresholds: the `ClassThresholds` recalibrated after."""
    report = IngestReport()
    workspace.encoder  # noqa: B018  (a bad encoder config or folder fails in one line before any image is read)
    checked = validate(items, workspace.config.inputs, skip_bad, report)
    with workspace.using_store():
        todo = pending(workspace.references, checked, report)
    _commit_all(workspace, scorer, todo, report, lambda: workspace.references, batch_size)
    for class_name in sorted(report.added):
        thresholds.recalibrate(class_name)
    return report


def rebuild(workspace, scorer, thresholds, items: list[tuple[str, Path]], skip_bad: bool = False,
            batch_size: int = 16) -> IngestReport:
    """The store rebuilt from `items` only (e.g. after changing encoder), built beside the old one and
    swapped in at the end: a bad file, an error or Ctrl+C before the swap leaves the old store and its
    calibration exactly as they were."""
    from retrieval.reference_layout import REBUILD_PREFIX, drop_prefix
    from retrieval.reference_store import ReferenceStore

    report = IngestReport()
    workspace.encoder  # noqa: B018  (a bad encoder config or folder fails in one line before any image is read)
    checked = validate(items, workspace.config.inputs, skip_bad, report)   # every file, before any write
    with workspace.using_store():
        drop_prefix(workspace.client, REBUILD_PREFIX)                      # a leftover of an interrupted run
        side = ReferenceStore(workspace.client, workspace.encoder.id, str(workspace.home.root), REBUILD_PREFIX)
        todo = pending(side, checked, report)
    _commit_all(workspace, scorer, todo, report, lambda: side, batch_size)
    with workspace.using_store():
        _swap_in(workspace, side)
    for class_name in sorted(report.added):
        thresholds.recalibrate(class_name)
    return report


def rebuild_index(workspace, scorer, thresholds, batch_size: int = 256) -> int:
    """The store's vector index rebuilt (after damage) from the references recorded in its database and
    their cached features (recomputed from the stored copies where lost): the same records, filled into a
    collection beside the old one and swapped in at the end, as `rebuild` does. Returns how many."""
    import numpy as np

    from retrieval.reference_index import stored_references
    from retrieval.reference_layout import REBUILD_PREFIX, drop_prefix
    from retrieval.reference_store import ReferenceStore

    references = stored_references(workspace.home.store, server=workspace.client if workspace.home.server else None)
    vectors = np.stack([scorer.embedding(r) for r in references]) if references else np.zeros((0, 0), np.float32)
    with workspace.using_store():
        drop_prefix(workspace.client, REBUILD_PREFIX)
        side = ReferenceStore(workspace.client, workspace.encoder.id, str(workspace.home.root), REBUILD_PREFIX)
        for start in range(0, len(references), batch_size):
            side.add(references[start:start + batch_size], vectors[start:start + batch_size])
        _swap_in(workspace, side)
    for class_name in sorted({r.class_name for r in references}):
        thresholds.recalibrate(class_name)
    return len(references)


def _commit_all(workspace, scorer, todo, report: IngestReport, store, batch_size: int) -> None:
    """Commit `todo` in batches into `store()` (the reference store to add to), counting into `report`."""
    from tqdm import tqdm

    _fit_bases(workspace, scorer, todo, batch_size)
    with tqdm(total=len(todo), desc="ingesting", unit="img", file=sys.stderr) as bar:
        for start in range(0, len(todo), batch_size):
            batch = todo[start:start + batch_size]
            _commit(workspace, scorer, batch, store)
            for class_name, _, _ in batch:
                report.added[class_name] = report.added.get(class_name, 0) + 1
            bar.update(len(batch))


def _commit(workspace, scorer, batch: list[tuple[str, Path, str]], store) -> None:
    """Encode a batch, cache its features and copies, then add its records (holding the store)."""
    images = [load_image(path, workspace.config.inputs) for _, path, _ in batch]
    for (_, path, sha), image in zip(batch, images):
        if image.sha256 != sha:
            raise BadInput(f"{path} changed while it was being ingested; re-run the ingest")
    features, embeddings = scorer.featurize([image.image for image in images])
    references = []
    for (class_name, _, _), image, feats in zip(batch, images, features):
        cache = workspace.features_for(class_name)
        cache.put(image.sha256, feats.numpy(), cache.basis_of(class_name))
        scorer.copies.save(image)
        references.append(Reference(class_name, image.path or "", image.sha256, *image.size))
    with workspace.using_store():
        store().add(references, embeddings)
        workspace.changed()


def _fit_bases(workspace, scorer, todo, batch_size: int) -> None:
    """Each class of `todo` stored on a PCA basis gets one before any of its new references is stored —
    when it has none yet, or has grown to twice the references its basis was fitted on (up to
    `FIT_REFERENCES`; files already stored keep theirs) — fitted on new references spread evenly over
    the ingest (`PatchScorer.basis`): one more encoder pass over those."""
    from retrieval.feature_basis import spread

    for class_name in sorted({c for c, _, _ in todo}):
        paths = [path for c, path, _ in todo if c == class_name]
        with workspace.using_store():
            if not scorer.fits_basis(class_name, len(paths)):
                continue
        chosen = [paths[i] for i in spread(len(paths))]
        grids = []
        for start in range(0, len(chosen), batch_size):
            images = [load_image(p, workspace.config.inputs).image for p in chosen[start:start + batch_size]]
            grids += [f.numpy() for f in scorer.featurize(images)[0]]
        with workspace.using_store():
            scorer.basis(class_name, grids)


def _swap_in(workspace, side) -> None:
    """The rebuilt class collections take the store's names; the old ones and their calibration go."""
    from retrieval.reference_layout import swap_in

    swap_in(workspace.client)
    workspace.home.calibration.unlink(missing_ok=True)
    workspace.reopen_references()
    workspace.changed()

