"""`normalcy store migrate` carries the normalities added by text into the shared folder: new ones are appended
as new versions there, in their order, ids already there win, and a second run adds nothing."""

from dataclasses import replace

from assistant.home import Home
from assistant.records.store_migration import merge_normalities
from retrieval.normality_store import Normality, NormalityStore


def _add(store, nid, text):
    normality = Normality(nid, "brick", text, (text,), "alice", "2026-12-02T10:00:00Z", store.next_version())
    store.add(normality)
    return normality


def test_the_homes_normalities_join_the_shared_folders(tmp_path):
    source, target = Home(tmp_path / "home"), Home(tmp_path / "home", tmp_path / "shared", "server:8000")
    mine, theirs = NormalityStore(source.normalities), NormalityStore(target.normalities)
    assert mine.path != theirs.path
    a, b = _add(mine, "brick-1", "dust is fine"), _add(mine, "brick-2", "thin lines are normal")
    there = _add(theirs, "brick-2", "a stain is acceptable")
    merge_normalities(source, target)
    assert theirs.read() == (2, [there, replace(a, version=2)])
    merge_normalities(source, target)
    assert theirs.read()[0] == 2 and mine.read() == (2, [a, b])
