"""An expert rule about a product class, and its YAML file format.

A rules file is a mapping with one key, `rules`, holding a list of rules:

    rules:
      - id: bottle-defect-crack
        class: bottle            # or "*" for every class
        kind: defect             # normality | defect | accepted_noise
        severity: critical       # critical | major | minor | info
        text: A crack or chip anywhere on the rim or the glass wall is a defect.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

from retrieval.errors import BadInput

KINDS = ("normality", "defect", "accepted_noise")
SEVERITIES = ("critical", "major", "minor", "info")
ANY_CLASS = "*"


@dataclass(frozen=True)
class Rule:
    id: str
    class_name: str
    text: str
    kind: str
    severity: str = "info"

    def __post_init__(self):
        if not self.id or not self.text.strip() or not self.class_name:
            raise BadInput(f"rule {self.id or '(no id)'}: id, class and text must be non-empty")
        if self.kind not in KINDS:
            raise BadInput(f"rule {self.id}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.severity not in SEVERITIES:
            raise BadInput(f"rule {self.id}: severity {self.severity!r} is not one of {', '.join(SEVERITIES)}")

    @property
    def digest(self) -> str:
        """Content hash: a changed rule text re-embeds, an unchanged one is skipped."""
        return hashlib.sha256(repr(sorted(asdict(self).items())).encode()).hexdigest()[:16]

    def to_dict(self) -> dict:
        return {"id": self.id, "class": self.class_name, "kind": self.kind,
                "severity": self.severity, "text": self.text}

    @classmethod
    def from_dict(cls, data: dict, where: str = "rule") -> Rule:
        if not isinstance(data, dict):
            raise BadInput(f"{where}: each rule must be a mapping with id, class, kind, severity, text")
        allowed = {"id", "class", "kind", "severity", "text"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise BadInput(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
        return cls(id=str(data.get("id", "")), class_name=str(data.get("class", "")),
                   text=str(data.get("text", "")), kind=str(data.get("kind", "")),
                   severity=str(data.get("severity", "info")))


def load_rules_file(path: Path) -> list[Rule]:
    """Read and validate one rules YAML file; a broken file is a BadInput naming the file."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise BadInput(f"rules file {path} cannot be read: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rules", []), list):
        raise BadInput(f"rules file {path} must be a mapping with a `rules:` list")
    rules = [Rule.from_dict(item, f"{path} rule #{i + 1}") for i, item in enumerate(data.get("rules", []))]
    ids = [rule.id for rule in rules]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise BadInput(f"rules file {path} repeats rule id(s) {', '.join(duplicates)}; ids must be unique")
    return rules


def save_rules_file(path: Path, rules: list[Rule]) -> None:
    """Write rules atomically (temp file + rename), so a crash never leaves half a file."""
    import yaml

    from retrieval.atomic_file import write_text

    write_text(Path(path), yaml.safe_dump({"rules": [r.to_dict() for r in rules]}, sort_keys=False,
                                          allow_unicode=True))
