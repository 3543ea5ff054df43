"""Export of a date range of inspections for the plant's MES: JSONL (everything logged) or CSV (one row each).

`--since` / `--until` take a date (YYYY-MM-DD: a whole day; `--until` includes it) or a local time
(YYYY-MM-DDTHH:MM[:SS]), compared with the run log's local timestamps. JSONL: each inspection's record
as logged, with its turns, feedback, owners and whether its images were removed. CSV: the columns below.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime

from assistant.verdict import verdict_label
from retrieval.errors import BadInput

FORMATS = ("jsonl", "csv")
STAMP = "%Y-%m-%dT%H:%M:%S"
COLUMNS = ("time", "id", "class", "verdict", "correctness", "anomaly_score", "threshold", "status", "question",
           "source", "image", "overlay", "images_removed", "turns", "rating", "label", "owners", "encoder",
           "config_hash")


def time_range(since: str, until: str) -> tuple[str, str]:
    """(since, until) as logged timestamps; a date-only `until` means the end of that day."""
    low, high = _moment("--since", since, end_of_day=False), _moment("--until", until, end_of_day=True)
    if low > high:
        raise BadInput(f"--since {since} is after --until {until}; give the earlier date first")
    return low, high


def _moment(option: str, text: str, end_of_day: bool) -> str:
    try:
        moment = datetime.fromisoformat(str(text).strip())
    except ValueError:
        raise BadInput(f"{option}: {text!r} is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone().replace(tzinfo=None)      # the run log's times are local
    if end_of_day and len(str(text).strip()) == 10:
        moment = moment.replace(hour=23, minute=59, second=59)
    return moment.strftime(STAMP)


def write(pasts, fmt: str, stream) -> int:
    """Write `pasts` (PastInspection, oldest first) to a text stream -> how many were written."""
    if fmt not in FORMATS:
        raise BadInput(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "jsonl":
        for past in pasts:
            stream.write(json.dumps(_full(past), ensure_ascii=False) + "\n")
        return len(pasts)
    writer = csv.DictWriter(stream, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(_row(past) for past in pasts)
    return len(pasts)


def _full(past) -> dict:
    return {**past.record, "turns": [{"question": q, "answer": a} for q, a in past.turns],
            "feedback": past.feedback, "owners": sorted(past.owners), "images_removed": past.images_removed}


def _row(past) -> dict:
    record, verdict = past.record, past.verdict
    last = past.feedback[-1] if past.feedback else {}
    return {"time": record.get("time"), "id": past.id, "class": record.get("class"), "verdict": verdict_label(verdict),
            "correctness": verdict.get("correctness"), "anomaly_score": verdict.get("anomaly_score"),
            "threshold": verdict.get("threshold"), "status": verdict.get("status"),
            "question": record.get("question") or "", "source": record.get("source") or "",
            "image": record.get("image"), "overlay": record.get("overlay"),
            "images_removed": int(past.images_removed), "turns": len(past.turns), "rating": last.get("rating", ""),
            "label": last.get("label") or "", "owners": ";".join(sorted(past.owners)),
            "encoder": record.get("encoder"), "config_hash": record.get("config_hash")}
