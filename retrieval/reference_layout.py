"""How the reference store lies in Chroma: one collection per class, named from the class.

    class-<hash of the class name>           the references of one class (metadata: class, encoder, version)
    rebuild-class-<hash>                     a rebuild being filled beside the store (`ingest --rebuild`)
    references                               the older layout (every class in one collection, filtered by
                                             class): moved to per-class collections when the store opens

A class name may hold '.', '-' and '_' anywhere, which Chroma's names may not start or end with, so the
name is a hash; the class itself is in the collection's metadata.
"""

from __future__ import annotations

import hashlib
import sys

from retrieval import chroma_paging

PREFIX = "class-"
REBUILD_PREFIX = "rebuild-class-"
LEGACY = "references"
LEGACY_REBUILD = "references-rebuild"


def collection_name(class_name: str, prefix: str = PREFIX) -> str:
    return prefix + hashlib.sha256(class_name.encode()).hexdigest()[:24]


def listed_collections(client) -> dict:
    """Every collection of the client by name."""
    return {c.name: c for c in client.list_collections()}


def migrate_legacy(store, legacy) -> int:
    """Move every record of the single-collection layout into per-class collections (page by page,
    embeddings included), then drop it -> how many references moved. Re-running after an interruption
    continues: upserts are idempotent and the old collection goes only at the end."""
    moved, offset = 0, 0
    include = ["metadatas", "embeddings", "documents"]
    while True:
        got = legacy.get(include=include, limit=chroma_paging.PAGE, offset=offset)
        for class_name, rows in _rows_by_class(got).items():
            collection = store.collection(class_name, create=True)
            collection.upsert(ids=[got["ids"][i] for i in rows], embeddings=[got["embeddings"][i] for i in rows],
                              documents=[got["documents"][i] for i in rows],
                              metadatas=[got["metadatas"][i] for i in rows])
        moved += len(got["ids"])
        if len(got["ids"]) < chroma_paging.PAGE:
            break
        offset += chroma_paging.PAGE
    store.client.delete_collection(LEGACY)
    print(f"moved {moved} reference(s) of {store.location} to one collection per class "
          "(a one-time change of the store's layout; each class recalibrates once)", file=sys.stderr)
    return moved


def _rows_by_class(got: dict) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = {}
    for i, meta in enumerate(got["metadatas"]):
        rows.setdefault(meta["class"], []).append(i)
    return rows


def drop_prefix(client, prefix: str) -> None:
    """Drop every collection whose name starts with `prefix` (and the older layout's of that role)."""
    legacy = LEGACY if prefix == PREFIX else LEGACY_REBUILD
    for name in listed_collections(client):
        if name.startswith(prefix) or name == legacy:
            client.delete_collection(name)


def swap_in(client) -> None:
    """The rebuilt class collections take the store's names; the store's old ones go."""
    drop_prefix(client, PREFIX)
    for name, collection in listed_collections(client).items():
        if name.startswith(REBUILD_PREFIX):
            collection.modify(name=PREFIX + name[len(REBUILD_PREFIX):])
