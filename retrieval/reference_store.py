"""Normal reference images of each product class, in Chroma on disk: one collection per class.

Each record: class, source path, sha256, size, encoder id (architecture + weights hash); its id is
`<class>/<sha256>`, so adding the same image twice is a no-op. Each class has its own collection
(`reference_layout.collection_name`), so a class's k-nearest query searches that class only and does not
slow down as other classes (or a filter over all of them) grow. Every collection remembers which encoder
made its embeddings, and the store refuses to open under another one. Each collection also carries a
version, bumped before every write to it: `fingerprint(class)` (collection id + version) tells a cached
calibration whether the class changed without reading one record of it. Every metadata read is paged
(`chroma_paging`). A store of the older single-collection layout is moved to this one when opened.
Chroma keeps the vectors in HNSW index files beside its database (`STORE/<segment>/*.bin`); an index Chroma
cannot read is a `DamagedIndex` that points at `normalcy doctor` (`reference_index` checks and rebuilds it).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from dataclasses import dataclass

import numpy as np

from retrieval.chroma_paging import get_all, get_ids, in_batches
from retrieval.errors import DOCTOR_HINT, CorruptState, DamagedIndex, EmptyStore, EncoderMismatch, UnknownClass
from retrieval.reference_layout import (LEGACY, PREFIX, REBUILD_PREFIX, collection_name, listed_collections,
                                        migrate_legacy)

__all__ = ["PREFIX", "REBUILD_PREFIX", "Reference", "ReferenceStore", "last_cause", "reference_from"]


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
    def __init__(self, client, encoder_id: str, location: str = "the store", prefix: str = PREFIX):
        """prefix: which set of class collections (the store's own, or a rebuild's being filled beside it)."""
        self.client = client
        self.encoder_id = encoder_id
        self.location = location
        self.prefix = prefix
        listed = self._listed()
        self._collections: dict = {}
        self.migrated = 0            # references moved from the older single-collection layout on opening
        if prefix == PREFIX and LEGACY in listed:
            self._check_encoder(listed[LEGACY])
            self.migrated = migrate_legacy(self, listed.pop(LEGACY))
            listed = self._listed()
        self._collections = {}
        for name, collection in listed.items():
            if name.startswith(prefix):
                self._check_encoder(collection)
                self._collections[(collection.metadata or {})["class"]] = collection

    def _listed(self) -> dict:
        try:
            return listed_collections(self.client)
        except Exception as exc:  # chromadb/sqlite errors on a damaged store
            raise CorruptState(f"the reference store in {self.location} is damaged ({type(exc).__name__}: {exc}); "
                               "move its store folder aside and re-ingest the references") from None

    def _check_encoder(self, collection) -> None:
        built_with = (collection.metadata or {}).get("encoder")
        if built_with != self.encoder_id:
            raise EncoderMismatch(
                f"the reference store in {self.location} was built with encoder {built_with}, but the configured "
                f"encoder is {self.encoder_id}; rebuild it with `normalcy ingest ... --rebuild` "
                "or configure the encoder it was built with")

    def collection(self, class_name: str, create: bool = False):
        """The class's collection (None when it has none, unless `create`)."""
        found = self._collections.get(class_name)
        if found is None and create:
            found = self.client.create_collection(
                collection_name(class_name, self.prefix), embedding_function=None,
                metadata={"class": class_name, "encoder": self.encoder_id, "version": 0},
                configuration={"hnsw": {"space": "cosine"}})
            self._collections[class_name] = found
        return found

    def existing(self, ids: list[str]) -> set[str]:
        """Which of these `<class>/<sha256>` ids the store holds (any number of them)."""
        found: set[str] = set()
        for class_name, wanted in _by_class(ids, lambda i: i.rsplit("/", 1)[0]).items():
            collection = self.collection(class_name)
            if collection is not None:
                found |= set(get_ids(collection, wanted, include=[])["ids"])
        return found

    def add(self, references: list[Reference], embeddings: np.ndarray) -> None:
        """Add references with their (N, D) embeddings; each touched class's version is bumped first."""
        rows = np.asarray(embeddings, dtype=np.float32)
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        for class_name, indices in _by_class(range(len(references)), lambda i: references[i].class_name).items():
            collection = self.collection(class_name, create=True)
            self._bump(collection)
            for batch in in_batches(indices):
                refs = [references[i] for i in batch]
                collection.upsert(
                    ids=[r.id for r in refs], embeddings=[rows[i].tolist() for i in batch],
                    documents=[r.path for r in refs],
                    metadatas=[{"class": r.class_name, "path": r.path, "sha256": r.sha256, "width": r.width,
                                "height": r.height, "encoder": self.encoder_id, "added_at": now} for r in refs])

    def remove(self, references: list[Reference]) -> None:
        """Delete references; a class left with none loses its collection."""
        for class_name, refs in _by_class(references, lambda r: r.class_name).items():
            collection = self.collection(class_name)
            if collection is None:
                continue
            self._bump(collection)
            for batch in in_batches(refs):
                collection.delete(ids=[r.id for r in batch])
            if collection.count() == 0:
                self.client.delete_collection(collection.name)
                del self._collections[class_name]

    def _bump(self, collection) -> None:
        """Advance the class's version (read fresh from the store, so no other writer's bump is lost)."""
        meta = dict(self.client.get_collection(collection.name).metadata or {})
        meta["version"] = int(meta.get("version", 0)) + 1
        collection.modify(metadata=meta)

    @contextlib.contextmanager
    def reading(self):
        """Chroma's errors on a damaged index (it reads the index files for every query and get) -> DamagedIndex."""
        from chromadb.errors import ChromaError

        try:
            yield
        except ChromaError as exc:
            raise DamagedIndex(f"the reference store's index in {self.location} is damaged "
                               f"(Chroma: {last_cause(exc)}); {DOCTOR_HINT}") from None

    def classes(self) -> dict[str, int]:
        """Class name -> number of references, sorted by name (one count per class collection)."""
        with self.reading():
            counts = {name: collection.count() for name, collection in self._collections.items()}
        return {name: n for name, n in sorted(counts.items()) if n}

    def require_class(self, class_name: str) -> None:
        """Raise EmptyStore / UnknownClass (with what to do) unless the class has references."""
        collection = self.collection(class_name)
        with self.reading():
            if collection is not None and collection.count():
                return
        known = self.classes()
        if not known:
            raise EmptyStore(f"the reference store in {self.location} is empty; add normal images with "
                             "`normalcy ingest DIR --class NAME` (or run `normalcy demo`)")
        raise UnknownClass(f"class {class_name!r} has no references; known classes: {', '.join(known)}. "
                           f"Add some with `normalcy ingest DIR --class {class_name}`")

    def of_class(self, class_name: str, with_embeddings: bool = False):
        """All references of a class (sorted by sha256), and their (N, D) embeddings when asked."""
        include = ["metadatas", "embeddings"] if with_embeddings else ["metadatas"]
        collection = self.collection(class_name)
        with self.reading():
            got = get_all(collection, include) if collection is not None else {"ids": [], "metadatas": [], "embeddings": []}
        order = sorted(range(len(got["ids"])), key=lambda i: got["metadatas"][i]["sha256"])
        refs = [reference_from(got["metadatas"][i]) for i in order]
        if not with_embeddings:
            return refs
        embeddings = np.asarray(got["embeddings"], dtype=np.float32)
        return refs, (embeddings[order] if len(order) else embeddings.reshape(0, 0))

    def with_embeddings(self, class_name: str, shas: list[str]):
        """The given references of a class (in that order) and their (N, D) embeddings."""
        with self.reading():
            got = get_ids(self.collection(class_name), [f"{class_name}/{s}" for s in shas], ["metadatas", "embeddings"])
        where = {meta["sha256"]: i for i, meta in enumerate(got["metadatas"])}
        order = [where[s] for s in shas if s in where]
        return [reference_from(got["metadatas"][i]) for i in order], np.asarray(got["embeddings"], np.float32)[order]

    def shas(self, class_name: str) -> list[str]:
        """The sha256 of every reference of a class, sorted (ids only: no metadata is read)."""
        collection = self.collection(class_name)
        with self.reading():
            ids = get_all(collection, include=[])["ids"] if collection is not None else []
        return sorted(i.rsplit("/", 1)[1] for i in ids)          # a class name may hold "/"

    def nearest(self, class_name: str, embedding: np.ndarray, k: int, exclude: set[str] = frozenset()):
        """The k references of `class_name` closest to a (D,) embedding (cosine), nearest first.
        Callers check the class first (`require_class`)."""
        with self.reading():
            got = self.collection(class_name).query(query_embeddings=[np.asarray(embedding, np.float32).tolist()],
                                                    n_results=k + len(exclude), include=["metadatas", "distances"])
        pairs = zip(got["metadatas"][0], got["distances"][0])
        found = [reference_from(meta, dist) for meta, dist in pairs if meta["sha256"] not in exclude]
        return found[:k]

    def nearest_any(self, embedding: np.ndarray, top: int, classes=None) -> list[tuple[str, float]]:
        """(class, cosine distance) of the `top` references nearest a (D,) embedding over every class (or
        over the named `classes` only)."""
        query = [np.asarray(embedding, np.float32).tolist()]
        found = []
        for name, collection in self._collections.items():
            if classes is not None and name not in classes:
                continue
            with self.reading():
                got = collection.query(query_embeddings=query, n_results=top, include=["distances"])
            found += [(name, float(d)) for d in got["distances"][0]]
        return sorted(found, key=lambda pair: pair[1])[:top]

    def fingerprint(self, class_name: str) -> str:
        """The class's version: `<collection id>:<version>`, changed by every write to the class (and by a
        rebuild or a class emptied and re-ingested, which make a new collection). Reads no record."""
        collection = self.collection(class_name)
        if collection is None:
            return "none"
        fresh = self.client.get_collection(collection.name)
        return f"{fresh.id}:{int((fresh.metadata or {}).get('version', 0))}"

    def content_hash(self, class_name: str) -> str:
        """Hash of the class's reference set (reads every id: for result caches, not the inspection path)."""
        return hashlib.sha256("\n".join(self.shas(class_name)).encode()).hexdigest()[:16]


def _by_class(items, class_of) -> dict[str, list]:
    grouped: dict[str, list] = {}
    for item in items:
        grouped.setdefault(class_of(item), []).append(item)
    return grouped


def last_cause(exc: Exception) -> str:
    """The innermost cause of Chroma's chained message ("Error executing plan: ...: Error loading hnsw index")."""
    return (str(exc).splitlines() or [type(exc).__name__])[0].split(": ")[-1][:160]


def reference_from(meta: dict, distance: float | None = None) -> Reference:
    return Reference(class_name=meta["class"], path=meta["path"], sha256=meta["sha256"],
                     width=int(meta["width"]), height=int(meta["height"]),
                     distance=None if distance is None else float(distance))
