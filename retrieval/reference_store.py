"""Normal reference images of each product class, in a Chroma collection on disk.

Each record: class, source path, sha256, size, encoder id (architecture + weights hash); its id is
`<class>/<sha256>`, so adding the same image twice is a no-op. The collection remembers which encoder
made its embeddings and refuses to open under another one. Chroma keeps the vectors in an HNSW index
beside its database (`STORE/<segment>/*.bin`); an index Chroma cannot read is a `CorruptState` that points
at `normalcy doctor`, which rebuilds it from the records in the database and the cached features.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.errors import DOCTOR_HINT, CorruptState, DamagedIndex, EmptyStore, EncoderMismatch, UnknownClass

COLLECTION = "references"
REBUILD_COLLECTION = "references-rebuild"     # a rebuild fills this one, then takes the name above
INDEX_SAMPLE = 16                             # references whose own vector must come back nearest (index check)


@dataclass(frozen=True)
class Reference:
    class_name: str
    path: str
    sha256: str
    width: int
    height: int
    distance: float | None = None

    @property
    def id(self) -> str:
        return f"{self.class_name}/{self.sha256}"

    def to_dict(self) -> dict:
        return {"class": self.class_name, "path": self.path, "sha256": self.sha256,
                "width": self.width, "height": self.height, "distance": self.distance}


class ReferenceStore:
    def __init__(self, client, encoder_id: str, location: str = "the store", name: str = COLLECTION):
        self.encoder_id = encoder_id
        self.location = location
        self.collection = self._open(client, location, name)
        if self.collection is not None:
            built_with = (self.collection.metadata or {}).get("encoder")
            if built_with != encoder_id:
                raise EncoderMismatch(
                    f"the reference store in {location} was built with encoder {built_with}, but the configured "
                    f"encoder is {encoder_id}; rebuild it with `normalcy ingest ... --rebuild` "
                    "or configure the encoder it was built with")
        else:
            self.collection = client.create_collection(
                name, metadata={"encoder": encoder_id, "hnsw:space": "cosine"},
                embedding_function=None)

    @staticmethod
    def _open(client, location: str, name: str):
        """The named collection, None when there is none yet; a store chroma cannot read is CorruptState."""
        try:
            existing = {c.name if hasattr(c, "name") else c for c in client.list_collections()}
            return client.get_collection(name) if name in existing else None
        except Exception as exc:  # chromadb/sqlite errors on a damaged store
            raise CorruptState(f"the reference store in {location} is damaged ({type(exc).__name__}: {exc}); "
                               "move its store folder aside and re-ingest the references") from None

    def existing(self, ids: list[str]) -> set[str]:
        if not ids:
            return set()
        return set(self.collection.get(ids=ids, include=[])["ids"])

    def add(self, references: list[Reference], embeddings: np.ndarray) -> None:
        """Add references with their (N, D) embeddings in one batch."""
        if not references:
            return
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        self.collection.upsert(
            ids=[r.id for r in references],
            embeddings=[row.tolist() for row in np.asarray(embeddings, dtype=np.float32)],
            documents=[r.path for r in references],
            metadatas=[{"class": r.class_name, "path": r.path, "sha256": r.sha256, "width": r.width,
                        "height": r.height, "encoder": self.encoder_id, "added_at": now} for r in references])

    def remove(self, references: list[Reference]) -> None:
        if references:
            self.collection.delete(ids=[r.id for r in references])

    @contextlib.contextmanager
    def reading(self):
        """Chroma's errors on a damaged index (it reads the index files for every query and get) -> DamagedIndex."""
        from chromadb.errors import ChromaError

        try:
            yield
        except ChromaError as exc:
            raise DamagedIndex(f"the reference store's index in {self.location} is damaged "
                               f"(Chroma: {_last_cause(exc)}); {DOCTOR_HINT}") from None

    def classes(self) -> dict[str, int]:
        """Class name -> number of references, sorted by name."""
        with self.reading():
            metas = self.collection.get(include=["metadatas"])["metadatas"] or []
        counts: dict[str, int] = {}
        for meta in metas:
            counts[meta["class"]] = counts.get(meta["class"], 0) + 1
        return dict(sorted(counts.items()))

    def require_class(self, class_name: str) -> None:
        """Raise EmptyStore / UnknownClass (with what to do) unless the class has references."""
        with self.reading():
            if self.collection.get(where={"class": class_name}, limit=1, include=[])["ids"]:
                return
        known = self.classes()
        if not known:
            raise EmptyStore(f"the reference store in {self.location} is empty; add normal images with "
                             "`normalcy ingest DIR --class NAME` (or run `normalcy demo`)")
        if class_name not in known:
            raise UnknownClass(f"class {class_name!r} has no references; known classes: {', '.join(known)}. "
                               f"Add some with `normalcy ingest DIR --class {class_name}`")

    def of_class(self, class_name: str, with_embeddings: bool = False):
        """All references of a class (sorted by sha256), and their (N, D) embeddings when asked."""
        include = ["metadatas", "embeddings"] if with_embeddings else ["metadatas"]
        with self.reading():
            got = self.collection.get(where={"class": class_name}, include=include)
        order = sorted(range(len(got["ids"])), key=lambda i: got["metadatas"][i]["sha256"])
        refs = [_reference(got["metadatas"][i]) for i in order]
        if not with_embeddings:
            return refs
        embeddings = np.asarray(got["embeddings"], dtype=np.float32)
        return refs, (embeddings[order] if len(order) else embeddings.reshape(0, 0))

    def nearest(self, class_name: str, embedding: np.ndarray, k: int, exclude: set[str] = frozenset()):
        """The k references of `class_name` closest to a (D,) embedding (cosine), nearest first.
        Callers check the class first (`require_class`)."""
        found = [r for r in self._query(embedding, k + len(exclude), {"class": class_name}) if r.sha256 not in exclude]
        return found[:k]

    def nearest_any(self, embedding: np.ndarray, n: int) -> list[Reference]:
        """The n references of any class closest to a (D,) embedding, nearest first."""
        return self._query(embedding, n, None)

    def _query(self, embedding: np.ndarray, n: int, where: dict | None) -> list[Reference]:
        with self.reading():
            got = self.collection.query(query_embeddings=[np.asarray(embedding, np.float32).tolist()], n_results=n,
                                        where=where, include=["metadatas", "distances"])
        return [_reference(meta, dist) for meta, dist in zip(got["metadatas"][0], got["distances"][0])]

    def index_problem(self, sample: int = INDEX_SAMPLE) -> str | None:
        """What is wrong with the vector index, None when it reads: every record comes back, and each of
        `sample` references spread over the store finds its own vector nearest (distance ~0)."""
        from chromadb.errors import ChromaError

        try:
            got = self.collection.get(include=["embeddings"])
            count = self.collection.count()
            if len(got["ids"]) != count:
                return f"the index returns {len(got['ids'])} of its {count} record(s)"
            for i in range(0, count, max(1, count // sample)):
                hit = self.collection.query(query_embeddings=[list(map(float, got["embeddings"][i]))],
                                            n_results=min(3, count), include=["distances"])
                if got["ids"][i] not in hit["ids"][0] or min(hit["distances"][0]) > 1e-3:
                    return f"reference {got['ids'][i]} is not found by its own vector"
        except ChromaError as exc:
            return f"Chroma cannot read it ({_last_cause(exc)})"
        return None

    def fingerprint(self, class_name: str) -> str:
        """Hash of the class's reference set: changes whenever a reference is added or removed."""
        shas = sorted(r.sha256 for r in self.of_class(class_name))
        return hashlib.sha256("\n".join(shas).encode()).hexdigest()[:16]


def stored_references(store: Path, name: str = COLLECTION) -> list[Reference]:
    """The references recorded in the store's database (read with SQLite, not through the index, so they
    can be read back when the index is damaged), sorted by id."""
    query = ("SELECT e.embedding_id, m.key, m.string_value, m.int_value FROM collections c "
             "JOIN segments s ON s.collection = c.id JOIN embeddings e ON e.segment_id = s.id "
             "JOIN embedding_metadata m ON m.id = e.id WHERE c.name = ?")
    with contextlib.closing(sqlite3.connect(f"file:{Path(store) / 'chroma.sqlite3'}?mode=ro", uri=True)) as con:
        rows = con.execute(query, (name,)).fetchall()
    metas: dict[str, dict] = {}
    for record, key, text, number in rows:
        metas.setdefault(record, {})[key] = text if text is not None else number
    return [_reference(metas[record]) for record in sorted(metas)]


def _last_cause(exc: Exception) -> str:
    """The innermost cause of Chroma's chained message ("Error executing plan: ...: Error loading hnsw index")."""
    return (str(exc).splitlines() or [type(exc).__name__])[0].split(": ")[-1][:160]


def _reference(meta: dict, distance: float | None = None) -> Reference:
    return Reference(class_name=meta["class"], path=meta["path"], sha256=meta["sha256"],
                     width=int(meta["width"]), height=int(meta["height"]),
                     distance=None if distance is None else float(distance))
