"""The sessions' inspections in one bounded server-side cache, so a session's `gr.State` stays small.

An `Inspection` holds heavy objects: the decoded image, the anomaly map (and its full-size score map once
drawn), the references, the model's conversation with its images. Kept in each session's state, they
stayed until the state's idle limit (30 min) for every session Gradio holds, so memory grew with the
number of sessions. A session's `ChatState` now keeps only what is small — the inspection's id, its
logged record, the transcript, the panel's paths — and the inspections live here: at most `size` (the
most recently used; one per session). A session whose inspection was evicted gets it back on its next
follow-up from the run log (`Inspector.reopen`: the verdict and turns as logged, the evidence re-gathered
from the stored image, the model's conversation resumed), so it answers as before.

Re-gathering touches the Inspector's stores: a caller that does not already hold the Inspector lock
passes it (`lock=`), and the cache takes it only to reopen. The cache has a lock of its own for its map.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from contextlib import nullcontext

INSPECTIONS = 16   # inspections kept in memory, over all sessions; the least recently used goes first


class InspectionCache:
    def __init__(self, inspector, size: int = INSPECTIONS):
        self.inspector = inspector
        self.size = size
        self._kept: OrderedDict[str, object] = OrderedDict()    # session key -> its Inspection
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._kept)

    def kept(self) -> list:
        """The inspections in memory now (to measure them)."""
        with self._lock:
            return list(self._kept.values())

    def start(self, state, inspection, record: dict | None, options, class_note: str = "") -> None:
        """`state` goes on with `inspection` (None: opened read-only, no follow-ups); it keeps only the id."""
        state.start(None if inspection is None else inspection.id, record, options, class_note)
        if inspection is None:
            self.release(state)
        else:
            self.keep(state, inspection)

    def keep(self, state, inspection) -> None:
        state.key = state.key or uuid.uuid4().hex
        with self._lock:
            self._kept[state.key] = inspection
            self._kept.move_to_end(state.key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)

    def cached(self, state):
        """The session's inspection if it is in memory, else None (never reopens)."""
        if state is None or state.inspection_id is None or state.key is None:
            return None
        with self._lock:
            inspection = self._kept.get(state.key)
            if inspection is None or inspection.id != state.inspection_id:
                return None
            self._kept.move_to_end(state.key)
            return inspection

    def get(self, state, lock=None):
        """The session's inspection (None when it has none): from memory, else reopened from the run log,
        holding `lock` while it re-gathers (None: the caller holds the Inspector lock already)."""
        inspection = self.cached(state)
        if inspection is not None or state is None or state.inspection_id is None:
            return inspection
        with lock or nullcontext():
            inspection = self.inspector.reopen(state.inspection_id, state.owner)
        self.keep(state, inspection)
        return inspection

    def release(self, state) -> None:
        """Forget the session's inspection (a new inspection, the state deleted); its log stays."""
        key = getattr(state, "key", None)
        if key is not None:
            with self._lock:
                self._kept.pop(key, None)
