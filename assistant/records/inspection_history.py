"""Past inspections, read back from the run log: what a History view lists and what reopening restores.

The run log is append-only, so everything about an inspection is a record pointing at its id:
    {"kind": "inspection", "id": ...}                 the verdict, image and overlay (by sha256)
    {"kind": "turn", "inspection": id, ...}           a follow-up question and its answer
    {"kind": "retract", "inspection": id}             the last turn was withdrawn (regenerated)
    {"kind": "feedback", "inspection": id, ...}       the operator's rating and correction
    {"kind": "owner", "inspection": id, "owner": o}   which user or browser ran it (the UI's history filter)
    {"kind": "reference_added", "inspection": id, ...} the image was accepted as a normal reference
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.verdict import verdict_label
from retrieval.errors import BadInput

RATINGS = ("up", "down")
LABELS = ("normal", "defective")


@dataclass
class PastInspection:
    record: dict                                   # the "inspection" record as logged
    turns: list[tuple[str, str]] = field(default_factory=list)
    feedback: list[dict] = field(default_factory=list)
    owners: set[str] = field(default_factory=set)

    @property
    def id(self) -> str:
        return self.record["id"]

    @property
    def verdict(self) -> dict:
        return self.record["verdict"]

    def summary(self) -> dict:
        """One line of the history list: time, id, class, verdict, score, status, number of turns."""
        verdict = self.verdict
        return {"time": self.record["time"], "id": self.id, "class": self.record["class"],
                "verdict": verdict_label(verdict),
                "score": round(float(verdict["anomaly_score"]), 3), "status": verdict["status"],
                "turns": len(self.turns)}


class InspectionHistory:
    def __init__(self, log):
        self.log = log

    def past(self) -> dict[str, PastInspection]:
        """Every logged inspection by id, in log order, with its turns, feedback and owners."""
        found: dict[str, PastInspection] = {}
        for record in self.log.records():
            kind = record.get("kind")
            if kind == "inspection":
                found[record["id"]] = PastInspection(record)
                continue
            past = found.get(record.get("inspection"))
            if past is None:
                continue
            if kind == "turn":
                past.turns.append((record["question"], record["answer"]))
            elif kind == "retract" and past.turns:
                past.turns.pop()
            elif kind == "feedback":
                past.feedback.append(record)
            elif kind == "owner":
                past.owners.add(record["owner"])
        return found

    def list(self, owner: str | None = None) -> list[PastInspection]:
        """Newest first; only those run by `owner` when given."""
        items = [p for p in self.past().values() if owner is None or owner in p.owners]
        return items[::-1]

    def get(self, inspection_id: str, owner: str | None = None) -> PastInspection:
        past = self.past().get(inspection_id)
        if past is None or (owner is not None and owner not in past.owners):
            raise BadInput(f"no inspection {inspection_id!r} in the run log of this session; "
                           "pick one from the History list")
        return past

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
