"""Past inspections, read back from the run log: what a History view lists and what reopening restores.

The run log is append-only, so everything about an inspection is a record pointing at its id:
    {"kind": "inspection", "id": ...}                 the verdict, image and overlay (by sha256)
    {"kind": "turn", "inspection": id, ...}           a follow-up question and its answer
    {"kind": "retract", "inspection": id}             the last turn was withdrawn (regenerated)
    {"kind": "feedback", "inspection": id, ...}       the operator's rating and correction
    {"kind": "owner", "inspection": id, "owner": o}   which user or browser ran it (the UI's history filter)
    {"kind": "reference_added", "inspection": id, ...} the image was accepted as a normal reference
    {"kind": "images_removed", "inspection": id}      its image and overlay went by the records retention
Lists and lookups go through the run log's SQLite index (`run_index`), so they do not grow with the log.
"""

from __future__ import annotations

import json
from contextlib import closing
from dataclasses import dataclass, field

from assistant.records.run_index import RunIndex, summaries
from assistant.verdict import verdict_label
from retrieval.errors import BadInput

RATINGS = ("up", "down")
LIST_ROWS = 1000          # a History list shows the newest this many (a 100k-row table helps nobody)
LABELS = ("normal", "defective")


@dataclass
class PastInspection:
    record: dict                                   # the "inspection" record as logged
    turns: list[tuple[str, str]] = field(default_factory=list)
    feedback: list[dict] = field(default_factory=list)
    owners: set[str] = field(default_factory=set)
    images_removed: bool = False                   # by the records retention: the verdict line is kept

    @property
    def id(self) -> str:
        return self.record["id"]

    @property
    def verdict(self) -> dict:
        return self.record["verdict"]

    def require_images(self) -> None:
        """Raise BadInput (one line) when the retention removed this inspection's image and overlay."""
        if self.images_removed:
            raise BadInput(f"the image of inspection {self.id} was removed by the records retention "
                           "(records.keep_images / keep_images_days); its verdict is kept, shown read-only")

    def summary(self) -> dict:
        """One line of the history list: time, id, class, verdict, score, status, number of turns."""
        verdict = self.verdict
        return {"time": self.record["time"], "id": self.id, "class": self.record["class"],
                "verdict": verdict_label(verdict),
                "score": round(float(verdict["anomaly_score"]), 3), "status": verdict["status"],
                "turns": len(self.turns)}


@dataclass(frozen=True)
class ListedInspection:
    """One line of the history list: time, id, class, verdict, score, status, number of turns; and the
    file the operator chose (`source`), the feedback that stands (the latest) and the logged image's sha256
    (`image`), read from the index."""
    row: dict

    @property
    def id(self) -> str:
        return self.row["id"]

    @property
    def source(self) -> str:
        return self.row.get("source") or ""

    @property
    def standing_feedback(self) -> dict | None:
        return json.loads(self.row["feedback"]) if self.row.get("feedback") else None

    @property
    def image(self) -> str | None:
        """The sha256 of the logged query image; None when the records retention removed it."""
        return None if self.row.get("images_removed") else self.row.get("image")

    def summary(self) -> dict:
        return {key: value for key, value in self.row.items()
                if key not in ("source", "feedback", "image", "images_removed")}


class InspectionHistory:
    def __init__(self, log):
        self.log = log
        self.index = RunIndex(log.folder)

    def list(self, owner: str | None = None, limit: int | None = LIST_ROWS) -> list[ListedInspection]:
        """Newest first; only those run by `owner` when given; at most `limit` (None: all of them).
        Older inspections stay in the log: `get` opens any of them, `export` writes a date range."""
        with closing(self.index.connect()) as con:
            return [ListedInspection(row) for row in summaries(con, owner, limit)]

    def get(self, inspection_id: str, owner: str | None = None) -> PastInspection:
        with closing(self.index.connect()) as con:
            past = self._past(con, inspection_id)
        if past is None or (owner is not None and owner not in past.owners):
            raise BadInput(f"no inspection {inspection_id!r} in the run log of this session; "
                           "pick one from the History list")
        return past

    def between(self, since: str, until: str) -> list[PastInspection]:
        """Every inspection logged at `since` <= time <= `until` (ISO strings as logged), oldest first."""
        with closing(self.index.connect()) as con:
            ids = [i for (i,) in con.execute("SELECT id FROM inspections WHERE time >= ? AND time <= ? "
                                             "ORDER BY file, offset", (since, until))]
            return [self._past(con, i) for i in ids]

    def _past(self, con, inspection_id: str) -> PastInspection | None:
        row = con.execute("SELECT file, offset, length, images_removed FROM inspections WHERE id = ?",
                          (inspection_id,)).fetchone()
        if row is None:
            return None
        past = PastInspection(self.index.read(*row[:3]), images_removed=bool(row[3]))
        past.owners = {o for (o,) in con.execute("SELECT owner FROM owners WHERE inspection = ?", (inspection_id,))}
        events = con.execute("SELECT kind, file, offset, length FROM events WHERE inspection = ? "
                             "AND kind IN ('turn', 'retract', 'feedback') ORDER BY file, offset", (inspection_id,))
        for kind, *where in events.fetchall():
            record = self.index.read(*where)
            if kind == "turn":
                past.turns.append((record["question"], record["answer"]))
            elif kind == "retract" and past.turns:
                past.turns.pop()
            elif kind == "feedback":
                past.feedback.append(record)
        return past

    def prune(self, now: float | None = None):
        """Apply the records retention to the stored images now -> what was removed (`.summary()`)."""
        return self.log.prune(now)

    def export(self, since: str, until: str, fmt: str, stream) -> int:
        """Write the inspections logged from `since` to `until` (dates or times, inclusive) to a text
        stream as JSONL or CSV -> how many. Bad dates or format: BadInput."""
        from assistant.records.history_export import time_range, write

        low, high = time_range(since, until)
        return write(self.between(low, high), fmt, stream)

    def image_path(self, sha256: str):
        """Where the run log keeps a logged image (query or overlay) by its sha256."""
        return self.log.image_path(sha256)

    def claim(self, inspection_id: str, owner: str) -> dict:
        return self.log.append({"kind": "owner", "inspection": inspection_id, "owner": owner})

    def feedback(self, inspection_id: str, rating: str, label: str | None = None, comment: str = "") -> dict:
        """The operator's thumbs up/down, with an optional corrected label and comment."""
        if rating not in RATINGS:
            raise BadInput(f"rating must be one of {', '.join(RATINGS)}, got {rating!r}")
        if label not in (None, *LABELS):
            raise BadInput(f"label must be one of {', '.join(LABELS)} (or none), got {label!r}")
        return self.log.append({"kind": "feedback", "inspection": inspection_id, "rating": rating,
                                "label": label, "comment": (comment or "").strip()})
