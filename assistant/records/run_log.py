"""The run log: every inspection and chat turn appended to JSONL, images stored once by sha256.

    HOME/runs/YYYY-MM-DD.jsonl   one JSON object per line
    HOME/runs/images/SHA.png     inspected images and overlays (kept as `records` retention says)
    HOME/runs/index.sqlite3      the index History reads (`run_index`, derived from the JSONL)

Appends are single `write` calls of one line each, so a crash never leaves half a record that a reader
would trip over (a truncated last line is skipped on read).
"""

from __future__ import annotations

import json
import time
from pathlib import Path


PRUNE_EVERY_S = 60.0     # retention runs after a logged inspection at most this often per process


class RunLog:
    def __init__(self, folder: Path, retention=None):
        """retention: the `RecordsConfig` retention of stored images (None: keep every image)."""
        self.folder = Path(folder)
        self.images = self.folder / "images"
        self.retention = retention
        self._pruned_at: float | None = None

    def store_image(self, image, sha256: str | None = None) -> str:
        """Save a PIL image as PNG by content hash (computed from the PNG bytes when not given)."""
        import hashlib

        from retrieval.atomic_file import png_bytes, write_bytes

        data = png_bytes(image)
        sha256 = sha256 or hashlib.sha256(data).hexdigest()
        path = self.images / f"{sha256}.png"
        if not path.is_file():
            write_bytes(path, data)
        return sha256

    def image_path(self, sha256: str) -> Path:
        return self.images / f"{sha256}.png"

    def stored_image(self, sha256: str | None):
        """A stored image (PIL RGB) by its sha256; None for no sha256 or when the retention removed it."""
        path = self.image_path(sha256) if sha256 else None
        if path is None or not path.is_file():
            return None
        from PIL import Image

        with Image.open(path) as image:
            return image.convert("RGB")

    def append(self, record: dict) -> dict:
        """Append one record (a `time` field is added) and return it."""
        return self.append_many([record])[0]

    def append_many(self, records: list[dict]) -> list[dict]:
        """Append records (each gets a `time`) in one write, and return them."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        records = [{"time": stamp, **record} for record in records]
        if not records:
            return records
        self.folder.mkdir(parents=True, exist_ok=True)
        lines = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
        with open(self.folder / f"{stamp[:10]}.jsonl", "a", encoding="utf-8") as handle:
            handle.write(lines)
        return records

    def prune(self, now: float | None = None):
        """Apply the retention of stored images now -> `retention.Pruned`."""
        from assistant.records.retention import Pruned, prune
        from assistant.records.run_index import RunIndex

        self._pruned_at = time.monotonic()
        if self.retention is None:
            return Pruned(0, 0)
        return prune(self, RunIndex(self.folder), self.retention, now)

    def record_inspection(self, inspection, encoder_id: str, config_hash: str, options: dict | None = None) -> dict:
        """Append an inspection (the Inspector's `Inspection`), its image, overlay and sheet (a video's frames,
        a point cloud's views: key "frame_sheet", the name from when only videos had one) stored by hash."""
        evidence = inspection.evidence
        image_sha = self.store_image(evidence.query.image, evidence.query.sha256)
        overlay_sha = self.store_image(evidence.overlay("all"))
        source = self._store_source(evidence.query.rendered)
        sheet = {} if evidence.sheet is None else {"frame_sheet": self.store_image(evidence.sheet.image)}
        record = self.append({
            "kind": "inspection", "id": inspection.id, "class": evidence.class_name,
            "question": inspection.question, "image": image_sha, "overlay": overlay_sha,
            "source": evidence.query.path, "verdict": inspection.verdict.to_dict(),
            "encoder": encoder_id, "config_hash": config_hash, **({"options": options} if options else {}),
            **source, **sheet})
        if self._prune_due():
            self.prune()
        return record

    def _store_source(self, rendered) -> dict:
        """The original file of a render (a point cloud, a series) kept by sha256 under runs/sources/, and
        the record's fields naming it; {} for a still image."""
        if rendered is None:
            return {}
        from retrieval.atomic_file import write_bytes

        suffix = Path(rendered.source_name).suffix.lower()[:12]
        path = self.folder / "sources" / f"{rendered.source_sha256}{suffix}"
        if not path.is_file():
            write_bytes(path, rendered.source_data)
        return {"modality": rendered.modality, "source_sha256": rendered.source_sha256,
                "source_file": f"sources/{path.name}", "source_name": rendered.source_name}

    def _prune_due(self) -> bool:
        if self.retention is None or not self.retention.active:
            return False
        return self._pruned_at is None or time.monotonic() - self._pruned_at >= PRUNE_EVERY_S

    def records(self) -> list[dict]:
        """All records, oldest first; an unreadable (truncated) line is skipped."""
        out = []
        for path in sorted(self.folder.glob("*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return out
