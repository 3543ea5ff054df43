"""The evaluation's references: each class's training normals, ingested into an eval-private data home.

The home lives under the evaluation's output folder (DIR/home), so the operator's store is never
touched and a re-run reuses what it ingested. References come only from `Dataset.references` (training
normals); the store is then checked to hold exactly those images, and no test image, byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping

from assistant.evaluation.result_cache import file_sha256
from retrieval.errors import BadInput


def _items(dataset) -> list[tuple[str, object]]:
    """(class, path) of every training normal; a class without any is a BadInput."""
    empty = [c for c in dataset.classes if not dataset.references.get(c)]
    if empty:
        raise BadInput(f"class(es) {', '.join(empty)} in {dataset.root} have no training normals to use as "
                       "references (mvtec/folder: CLASS/train/good/; visa/json: split=train normal rows)")
    return [(c, p) for c in dataset.classes for p in dataset.references[c]]


def _check_store(store, dataset, home) -> None:
    """The store holds exactly the dataset's training normals of each class (nothing left from another
    dataset in a reused output folder)."""
    for name in dataset.classes:
        stored = {r.sha256 for r in store.of_class(name)}
        expected = {file_sha256(p) for p in dataset.references[name]}
        if stored != expected:
            raise BadInput(f"{home} holds {len(stored - expected)} reference(s) of class {name} that are not "
                           "this dataset's training normals; use a fresh --out folder (or delete that home)")


def check_no_test_image(store, test_shas: Mapping, dataset) -> None:
    """No test image (by content) is among the references of its class."""
    for name in dataset.classes:
        stored = {r.sha256 for r in store.of_class(name)}
        leaked = sorted(str(s.path) for s, sha in test_shas.items() if s.class_name == name and sha in stored)
        if leaked:
            raise BadInput(f"{len(leaked)} test image(s) of class {name} are byte-identical to a training "
                           f"normal (first: {leaked[0]}); references must never be test images: remove one copy")


def prepare_references(inspector, dataset, test_shas: Mapping) -> dict[str, str]:
    """Ingest every class's training normals into `inspector`'s home and check it → {class: fingerprint
    of its reference set}. `test_shas`: {Sample: sha256} of the test images."""
    workspace = inspector.workspace
    inspector.references.ingest(_items(dataset))
    store = workspace.references
    _check_store(store, dataset, workspace.home.root)
    check_no_test_image(store, test_shas, dataset)
    return {name: store.content_hash(name) for name in dataset.classes}
