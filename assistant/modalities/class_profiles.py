"""Which modality each class is, and the profile its files are rendered with: HOME/modality_profiles.json.

    {"CLASS": {"modality": "point_cloud", "profile": {...}, "fitted_on": N, "at": "2026-12-02T19:00:00Z"}}

A class's profile (view, axes, normal band) is fitted once, from the raw data of the first references
ingested into it, and kept: references and queries must be rendered alike, so a later ingest renders its
files with the stored profile rather than refitting (a refit would change every stored reference's
render). A class has one modality: still images and renders never share a class. The file is written
atomically; one that cannot be read is a `CorruptState` that points at `normalcy doctor`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from retrieval.atomic_file import write_text
from retrieval.errors import DOCTOR_HINT, CorruptState


@dataclass(frozen=True)
class ClassProfile:
    class_name: str
    modality: str
    profile: dict
    fitted_on: int            # how many references the profile was fitted on


class ClassProfiles:
    def __init__(self, path: Path):
        self.path = Path(path)

    def read(self) -> dict[str, dict]:
        if not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CorruptState(f"{self.path} is damaged (not JSON: {exc}); {DOCTOR_HINT}") from None
        if not isinstance(data, dict) or not all(isinstance(v, dict) and "modality" in v and "profile" in v
                                                 for v in data.values()):
            raise CorruptState(f"{self.path} is damaged (not an object of per-class profiles); {DOCTOR_HINT}")
        return data

    def of(self, class_name: str) -> ClassProfile | None:
        entry = self.read().get(class_name)
        if entry is None:
            return None
        return ClassProfile(class_name, entry["modality"], entry["profile"], int(entry.get("fitted_on", 0)))

    def save(self, found: ClassProfile) -> None:
        data = self.read()
        data[found.class_name] = {"modality": found.modality, "profile": found.profile, "fitted_on": found.fitted_on,
                                  "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        write_text(self.path, json.dumps(data, indent=1, sort_keys=True, allow_nan=False))

    def drop(self, class_name: str) -> None:
        data = self.read()
        if data.pop(class_name, None) is not None:
            write_text(self.path, json.dumps(data, indent=1, sort_keys=True, allow_nan=False))
