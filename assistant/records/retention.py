"""Retention of the run log's stored images: by age and/or count, the verdict lines always kept.

Each inspection stores its image and overlay (HOME/runs/images/SHA.png, ~125 KB together). With
`records.keep_images_days` and/or `records.keep_images` set, the images of inspections older than that
age or beyond that many newest ones are deleted — unless a kept inspection uses the same file (images are
stored once by hash) — and the run log gets one `images_removed` line per such inspection, so History
still lists it and its verdict, and says its images are gone. Run after an inspection is logged (at most
once a minute per process) and by `normalcy history prune`.
"""

from __future__ import annotations

import time
from contextlib import closing
from dataclasses import dataclass


@dataclass(frozen=True)
class Pruned:
    inspections: int        # inspections whose images were removed now
    files: int              # image files deleted

    def summary(self) -> str:
        return (f"removed the images of {self.inspections} inspection(s) ({self.files} file(s)); "
                "their verdict lines are kept")


def prune(log, index, records, now: float | None = None) -> Pruned:
    """Apply `records` (a RecordsConfig) to the run log `log` through its `index` (RunIndex)."""
    if not records.active:
        return Pruned(0, 0)
    with closing(index.connect()) as con:
        rows = con.execute("SELECT id, time, image, overlay, images_removed FROM inspections "
                           "ORDER BY file DESC, offset DESC").fetchall()
    cutoff = _cutoff(records.keep_images_days, now)
    dropped = [i for i, row in enumerate(rows) if _dropped(i, row[1], records.keep_images, cutoff)]
    gone = set(dropped)
    kept_files = {sha for i, row in enumerate(rows) if i not in gone for sha in row[2:4] if sha}
    victims = [rows[i] for i in dropped if not rows[i][4]]
    files = 0
    for sha in {sha for row in victims for sha in row[2:4] if sha} - kept_files:
        path = log.image_path(sha)
        if path.is_file():
            path.unlink()
            files += 1
    log.append_many([{"kind": "images_removed", "inspection": row[0]} for row in victims])
    return Pruned(len(victims), files)


def _cutoff(days: float | None, now: float | None) -> str | None:
    if days is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime((now or time.time()) - days * 86400))


def _dropped(rank: int, logged: str, keep: int | None, cutoff: str | None) -> bool:
    return (keep is not None and rank >= keep) or (cutoff is not None and logged < cutoff)
