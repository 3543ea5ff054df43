"""Copying an embedded store's collections onto a Chroma server (`normalcy store migrate`).

Every class collection (`reference_layout`) and the rules collection is first copied, page by page with its
embeddings, into a staging collection on the server (`migrate-<name>`), which no home reads. Only when
every one is staged is each committed: a class the server does not hold yet takes its name (a rename);
one it holds, built with the same encoder, receives the records it lacks (ids are content hashes, so a
second run adds nothing and bumps no version). A failure while staging leaves the server's own
collections as they were; the next run drops the leftover staging collections first.
"""

from __future__ import annotations

from retrieval.chroma_paging import PAGE, get_all, in_batches
from retrieval.reference_layout import PREFIX, listed_collections
from retrieval.rule_store import COLLECTION as RULES

STAGE = "migrate-"
INCLUDE = ["embeddings", "documents", "metadatas"]


def movable(client) -> dict:
    """The collections of a store that move: every class collection, and the rules."""
    return {name: c for name, c in listed_collections(client).items() if name.startswith(PREFIX) or name == RULES}


def conflicts(source: dict, target_client) -> list[str]:
    """One line per collection the server already holds built with another encoder (nothing may move then)."""
    held = listed_collections(target_client)
    found = []
    for name, collection in source.items():
        if name in held:
            mine, theirs = _encoder(collection), _encoder(held[name])
            if mine != theirs:
                what = "the rules" if name == RULES else f"class {(collection.metadata or {}).get('class')!r}"
                found.append(f"{what}: this home's are built with encoder {mine}, the server's with {theirs}")
    return found


def stage(collection, target_client):
    """A copy of `collection` on the server under the staging name (a leftover one is dropped first)."""
    name = STAGE + collection.name
    if name in listed_collections(target_client):
        target_client.delete_collection(name)
    metadata = dict(collection.metadata or {})
    options = {} if "hnsw:space" in metadata else {"configuration": {"hnsw": {"space": "cosine"}}}
    staged = target_client.create_collection(name, metadata=metadata, embedding_function=None, **options)
    offset = 0
    while True:
        got = collection.get(include=INCLUDE, limit=PAGE, offset=offset)
        if got["ids"]:
            staged.upsert(ids=list(got["ids"]), embeddings=[list(map(float, e)) for e in got["embeddings"]],
                          documents=list(got["documents"]), metadatas=list(got["metadatas"]))
        if len(got["ids"]) < PAGE:
            return staged
        offset += PAGE


def commit(staged, target_client) -> int:
    """The staged collection joins the server's store -> how many records the server gained."""
    name = staged.name[len(STAGE):]
    held = listed_collections(target_client).get(name)
    if held is None:
        staged.modify(name=name)
        return staged.count()
    known = set(get_all(held, include=[])["ids"])
    got = get_all(staged, INCLUDE)
    new = [i for i, record in enumerate(got["ids"]) if record not in known]
    if new and "version" in (held.metadata or {}):          # a class: its calibration must see the change
        meta = dict(held.metadata)
        meta["version"] = int(meta["version"]) + 1
        held.modify(metadata=meta)
    for batch in in_batches(new):
        held.upsert(ids=[got["ids"][i] for i in batch], embeddings=[list(map(float, got["embeddings"][i])) for i in batch],
                    documents=[got["documents"][i] for i in batch], metadatas=[got["metadatas"][i] for i in batch])
    target_client.delete_collection(staged.name)
    return len(new)


def drop_staged(target_client) -> None:
    for name in listed_collections(target_client):
        if name.startswith(STAGE):
            target_client.delete_collection(name)


def fingerprint(client, name: str) -> str:
    """A class collection's `<id>:<version>` on the server (as `ReferenceStore.fingerprint` reads it)."""
    fresh = client.get_collection(name)
    return f"{fresh.id}:{int((fresh.metadata or {}).get('version', 0))}"


def _encoder(collection) -> str | None:
    return (collection.metadata or {}).get("encoder")
