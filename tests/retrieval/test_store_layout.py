"""The reference store at scale, on a real Chroma on disk with cheap synthetic embeddings: every get
paged (and a real class past the 32,766-row SQLite wall), one collection per class (queries see their
class only), a version that changes exactly when a class is written, and the older single-collection
layout moved on opening."""

import numpy as np
import pytest

from retrieval import chroma_paging
from retrieval.config import StoreConfig
from retrieval.errors import EncoderMismatch
from retrieval.reference_layout import LEGACY, collection_name, listed_collections
from retrieval.reference_store import Reference, ReferenceStore

ENCODER = "synthetic@0"


def _client(tmp_path):
    from retrieval.chroma_client import open_client

    return open_client(tmp_path / "store", StoreConfig())


def _refs(class_name, n, start=0):
    return [Reference(class_name, f"{class_name}_{i}.png", f"{i:064x}", 8, 8) for i in range(start, start + n)]


def _vectors(n, dim=8, seed=0):
    rows = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture
def recorded_gets(monkeypatch):
    """Every Collection.get call's (limit, number of ids)."""
    from chromadb.api.models.Collection import Collection

    calls, real = [], Collection.get

    def get(self, ids=None, where=None, limit=None, offset=None, **kwargs):
        calls.append((limit, None if ids is None else len(ids)))
        return real(self, ids=ids, where=where, limit=limit, offset=offset, **kwargs)

    monkeypatch.setattr(Collection, "get", get)
    return calls


def test_every_metadata_get_goes_through_pages(tmp_path, monkeypatch, recorded_gets):
    monkeypatch.setattr(chroma_paging, "PAGE", 3)
    store = ReferenceStore(_client(tmp_path), ENCODER)
    store.add(_refs("a", 10) + _refs("b", 4, start=100), _vectors(14))
    assert store.classes() == {"a": 10, "b": 4}
    assert [r.sha256 for r in store.of_class("a")] == [f"{i:064x}" for i in range(10)]
    refs, embeddings = store.of_class("a", with_embeddings=True)
    assert embeddings.shape == (10, 8)
    assert len(store.existing([r.id for r in _refs("a", 12)])) == 10
    assert len(store.shas("b")) == 4 and store.content_hash("a") != store.content_hash("b")
    assert len(store.with_embeddings("a", [f"{i:064x}" for i in range(7)])[0]) == 7
    assert recorded_gets, "the store read nothing?"
    for limit, n_ids in recorded_gets:
        assert (limit is not None and limit <= 3) or (n_ids is not None and n_ids <= 3), (limit, n_ids)


def test_a_class_past_the_sqlite_variable_wall(tmp_path):
    n = 32_800                                    # > 32,766: an unpaged get fails with "too many SQL variables"
    store = ReferenceStore(_client(tmp_path), ENCODER)
    refs = _refs("big", n)
    store.add(refs, _vectors(n, dim=4))
    assert store.classes() == {"big": n}
    assert len(store.of_class("big")) == n
    assert len(store.existing([r.id for r in refs])) == n
    assert len(store.nearest("big", _vectors(1, dim=4, seed=3)[0], k=8)) == 8


def test_each_class_has_its_own_collection_and_query(tmp_path):
    store = ReferenceStore(_client(tmp_path), ENCODER)
    a, b = _vectors(50, seed=1), _vectors(50, seed=2)
    store.add(_refs("a", 50), a)
    store.add(_refs("b", 50, start=100), b)
    names = set(listed_collections(store.client))
    assert {collection_name("a"), collection_name("b")} <= names
    query = b[0]                                  # identical to a reference of b: b is nearest overall
    found = store.nearest("a", query, k=8)
    assert {r.class_name for r in found} == {"a"}
    exact = np.argsort(-(a @ query))[:8]
    assert [r.sha256 for r in found] == [f"{i:064x}" for i in exact]
    assert store.nearest_any(query, top=3)[0] == ("b", pytest.approx(0.0, abs=1e-5))
    assert [r.sha256 for r in store.nearest("a", query, k=8, exclude={f"{exact[0]:064x}"})][0] == f"{exact[1]:064x}"


def test_the_version_changes_exactly_when_the_class_is_written(tmp_path):
    store = ReferenceStore(_client(tmp_path), ENCODER)
    store.add(_refs("a", 5) + _refs("b", 5, start=10), _vectors(10))
    a0, b0 = store.fingerprint("a"), store.fingerprint("b")
    store.of_class("a", with_embeddings=True), store.nearest("a", _vectors(1)[0], 3), store.classes()
    assert store.fingerprint("a") == a0                                 # reads change nothing
    store.add(_refs("a", 1, start=50), _vectors(1, seed=5))
    a1 = store.fingerprint("a")
    assert a1 != a0 and store.fingerprint("b") == b0                    # a write to a leaves b alone
    store.remove(_refs("a", 1, start=50))
    assert store.fingerprint("a") not in (a0, a1)                       # same set as a0, yet a new version
    reopened = ReferenceStore(store.client, ENCODER)
    assert reopened.fingerprint("a") == store.fingerprint("a")          # the version lives in the store
    store.remove(_refs("b", 5, start=10))
    assert "b" not in store.classes() and store.fingerprint("b") == "none"
    store.add(_refs("b", 5, start=10), _vectors(5))
    assert store.fingerprint("b") != b0                                 # a re-made class is a new collection


def _legacy_store(client, encoder=ENCODER, n=7):
    legacy = client.create_collection(LEGACY, metadata={"encoder": encoder, "hnsw:space": "cosine"},
                                      embedding_function=None)
    refs = _refs("a", n) + _refs("b", 3, start=100)
    legacy.add(ids=[r.id for r in refs], embeddings=_vectors(len(refs)).tolist(), documents=[r.path for r in refs],
               metadatas=[{"class": r.class_name, "path": r.path, "sha256": r.sha256, "width": 8, "height": 8,
                           "encoder": encoder} for r in refs])
    return refs


def test_an_older_single_collection_store_is_moved_on_opening(tmp_path, monkeypatch):
    monkeypatch.setattr(chroma_paging, "PAGE", 4)                 # moved page by page
    client = _client(tmp_path)
    _legacy_store(client)
    store = ReferenceStore(client, ENCODER)
    assert store.migrated == 10 and store.classes() == {"a": 7, "b": 3}
    assert LEGACY not in listed_collections(client)
    assert ReferenceStore(client, ENCODER).migrated == 0
    assert {r.class_name for r in store.nearest("b", _vectors(1)[0], k=8)} == {"b"}


def test_an_older_store_of_another_encoder_is_refused_and_left_as_it_was(tmp_path):
    client = _client(tmp_path)
    _legacy_store(client, encoder="other@1")
    with pytest.raises(EncoderMismatch, match="--rebuild"):
        ReferenceStore(client, ENCODER)
    assert client.get_collection(LEGACY).count() == 10
