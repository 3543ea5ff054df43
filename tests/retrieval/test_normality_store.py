"""The added-normality file (retrieval.normality_store) and the phrases a normality is read through
(retrieval.text_space.normality_phrases): versioned, atomic, damaged files named; phrases fixed by the text."""

import json

import pytest

from retrieval.errors import BadInput, CorruptState
from retrieval.normality_store import Normality, NormalityStore
from retrieval.text_space.normality_phrases import appearance, normal_prompts, normality_phrases


def _normality(store, text="a stain is acceptable", class_name="brick", nid=None):
    version = store.next_version()
    return Normality(nid or f"{class_name}-n{version}", class_name, text, normality_phrases(text, class_name),
                     "alice", "2026-12-02T10:00:00Z", version)


def test_adding_and_removing_counts_versions_and_keeps_the_order(tmp_path):
    store = NormalityStore(tmp_path / "normalities.json")
    assert store.read() == (0, [])
    first = _normality(store)
    store.add(first)
    second = _normality(store, "dust: ok", "tile")
    store.add(second)
    assert store.read() == (2, [first, second]) and store.of_class("tile") == [second]
    assert store.remove(first.id) == first
    assert store.read() == (3, [second])
    assert NormalityStore(store.path).read() == (3, [second]), "what was written reads back the same"


def test_bad_requests_change_nothing(tmp_path):
    store = NormalityStore(tmp_path / "normalities.json")
    store.add(_normality(store, nid="brick-1"))
    before = store.path.read_bytes()
    with pytest.raises(BadInput, match="already exists"):
        store.add(_normality(store, nid="brick-1"))
    with pytest.raises(BadInput, match="no added normality 'brick-9'.*brick-1"):
        store.remove("brick-9")
    assert store.path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["normalities.json"]


@pytest.mark.parametrize("content", ["{not json", json.dumps([1]), json.dumps({"version": 1, "normalities": [{}]})])
def test_a_damaged_file_is_named(tmp_path, content):
    path = tmp_path / "normalities.json"
    path.write_text(content)
    with pytest.raises(CorruptState, match="normalities.json"):
        NormalityStore(path).read()


@pytest.mark.parametrize("text, seen", [("thin dark lines along the border are normal",
                                         "thin dark lines along the border"),
                                        ("A thread on the carpet is acceptable here.", "a thread on the carpet"),
                                        ("dust: ok", "dust"), ("UV marks are fine", "UV marks"),
                                        ("scratches", "scratches")])
def test_the_appearance_is_the_sentence_without_its_verdict(text, seen):
    assert appearance(text) == seen


def test_phrases_name_the_appearance_and_the_class_and_do_not_repeat():
    phrases = normality_phrases("small chips are acceptable", "metal_nut")
    assert phrases == normality_phrases("small chips are acceptable", "metal_nut")
    assert len(phrases) == len(set(phrases)) > 5 and "a photo of a metal nut with small chips" in phrases
    assert all("small chips" in p for p in phrases) and "small chips are acceptable" in phrases
    assert all("metal nut" in p for p in normal_prompts("metal_nut"))
