"""The reference store's vector index (Chroma's HNSW files): checked, and its records read without it.

`index_problem(store)` says what is wrong with every class collection's index (None when it reads);
`stored_references(store_path)` reads the references recorded in Chroma's SQLite database directly, so
`normalcy doctor` can rebuild an index Chroma can no longer read (a Chroma server's are read through its API).
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from retrieval.chroma_paging import get_all
from retrieval.reference_layout import LEGACY, PREFIX, listed_collections
from retrieval.reference_store import Reference, last_cause, reference_from

INDEX_SAMPLE = 16          # references per class whose own vector must come back nearest


def index_problem(store, sample: int = INDEX_SAMPLE) -> str | None:
    """What is wrong with the vector index, None when it reads: in every class collection, every record
    comes back and each of `sample` references spread over it finds its own vector nearest (distance ~0)."""
    from chromadb.errors import ChromaError

    for class_name in sorted(store._collections):
        collection = store.collection(class_name)
        try:
            got = get_all(collection, ["embeddings"])
            count = collection.count()
            if len(got["ids"]) != count:
                return f"class {class_name}: the index returns {len(got['ids'])} of its {count} record(s)"
            for i in range(0, count, max(1, count // sample)):
                hit = collection.query(query_embeddings=[list(map(float, got["embeddings"][i]))],
                                       n_results=min(3, count), include=["distances"])
                if got["ids"][i] not in hit["ids"][0] or min(hit["distances"][0]) > 1e-3:
                    return f"reference {got['ids'][i]} is not found by its own vector"
        except ChromaError as exc:
            return f"class {class_name}: Chroma cannot read it ({last_cause(exc)})"
    return None


def stored_references(store_path: Path, prefix: str = PREFIX, server=None) -> list[Reference]:
    """The references recorded in the store's database for the class collections named `prefix...` (and
    the older single collection), read with SQLite, not through the index, sorted by id. server: the client
    of a Chroma server, whose database is not here: read through its API (metadata only)."""
    if server is not None:
        return _served_references(server, prefix)
    query = ("SELECT e.embedding_id, m.key, m.string_value, m.int_value FROM collections c "
             "JOIN segments s ON s.collection = c.id JOIN embeddings e ON e.segment_id = s.id "
             "JOIN embedding_metadata m ON m.id = e.id WHERE substr(c.name, 1, ?) = ? OR c.name = ?")
    uri = f"file:{Path(store_path) / 'chroma.sqlite3'}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as con:
        rows = con.execute(query, (len(prefix), prefix, LEGACY)).fetchall()
    metas: dict[str, dict] = {}
    for record, key, text, number in rows:
        metas.setdefault(record, {})[key] = text if text is not None else number
    return [reference_from(metas[record]) for record in sorted(metas) if "sha256" in metas[record]]


def _served_references(client, prefix: str) -> list[Reference]:
    found = []
    for name, collection in listed_collections(client).items():
        if name.startswith(prefix) or name == LEGACY:
            got = get_all(collection, ["metadatas"])
            found += [(i, reference_from(m)) for i, m in zip(got["ids"], got["metadatas"]) if "sha256" in m]
    return [reference for _, reference in sorted(found, key=lambda pair: pair[0])]
