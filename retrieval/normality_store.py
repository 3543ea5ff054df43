"""Normalities added by text (NAND), one JSON file per data home, versioned.

    HOME/normalities.json   {"version": N, "normalities": [{id, class, text, phrases, who, when, version}, ...]}

`version` counts the changes made to the file (each add and each remove); an entry's `version` is the
file's version when it was added, so a list says in which order the normalities came. Every change
rewrites the whole file atomically (`atomic_file`), so a reader sees it before or after, never half.
A file that is not such an object is a `CorruptState` naming it; a missing file holds nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from retrieval.atomic_file import write_text
from retrieval.errors import BadInput, CorruptState

FIELDS = ("id", "class", "text", "phrases", "who", "when", "version")


@dataclass(frozen=True)
class Normality:
    """A new normality of one class, as the operator wrote it and as the text space reads it (`phrases`)."""

    id: str
    class_name: str
    text: str
    phrases: tuple[str, ...]
    who: str
    when: str               # UTC, ISO 8601
    version: int

    def to_dict(self) -> dict:
        return {"id": self.id, "class": self.class_name, "text": self.text, "phrases": list(self.phrases),
                "who": self.who, "when": self.when, "version": self.version}

    @classmethod
    def from_dict(cls, data: dict, where: str) -> Normality:
        if not isinstance(data, dict) or set(data) != set(FIELDS):
            raise CorruptState(f"{where}: each normality must have exactly the keys {', '.join(FIELDS)}")
        return cls(str(data["id"]), str(data["class"]), str(data["text"]), tuple(map(str, data["phrases"])),
                   str(data["who"]), str(data["when"]), int(data["version"]))


class NormalityStore:
    """The file of a home's added normalities: read, add one, remove one."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def read(self) -> tuple[int, list[Normality]]:
        """(file version, normalities oldest first); (0, []) when there is no file yet."""
        if not self.path.is_file():
            return 0, []
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CorruptState(f"{self.path} is damaged (not JSON: {exc}); fix or delete it") from None
        if not isinstance(data, dict) or not isinstance(data.get("normalities"), list) or \
                not isinstance(data.get("version"), int):
            raise CorruptState(f"{self.path} is damaged (expected {{\"version\": N, \"normalities\": [...]}}); "
                               "fix or delete it")
        return data["version"], [Normality.from_dict(n, str(self.path)) for n in data["normalities"]]

    def of_class(self, class_name: str) -> list[Normality]:
        return [n for n in self.read()[1] if n.class_name == class_name]

    def add(self, normality: Normality) -> None:
        """Append one (its `version` must be the next file version: see `next_version`)."""
        version, found = self.read()
        if any(n.id == normality.id for n in found):
            raise BadInput(f"normality id {normality.id} already exists; choose another id")
        self._write(version + 1, [*found, normality])

    def remove(self, normality_id: str) -> Normality:
        version, found = self.read()
        gone = next((n for n in found if n.id == normality_id), None)
        if gone is None:
            known = ", ".join(n.id for n in found) or "none yet"
            raise BadInput(f"there is no added normality {normality_id!r} (added: {known}); see `normalcy normal list`")
        self._write(version + 1, [n for n in found if n.id != normality_id])
        return gone

    def next_version(self) -> int:
        return self.read()[0] + 1

    def _write(self, version: int, normalities: list[Normality]) -> None:
        document = {"version": version, "normalities": [n.to_dict() for n in normalities]}
        write_text(self.path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
