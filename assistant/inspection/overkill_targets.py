"""Per-class overkill targets an engineer set (`normalcy calibration set CLASS --target-overkill R`).

Kept in HOME/calibration_targets.json as {class: rate}; a class without an entry uses the configured
`calibration.target_overkill`. A file that is not such an object is a `CorruptState`; a rate outside
0 < rate < 0.5 is refused when set (and when read, so a hand edit cannot slip past the check).
"""

from __future__ import annotations

import json

from retrieval.atomic_file import write_text
from retrieval.config import overkill_rate
from retrieval.errors import ConfigError, CorruptState


class OverkillTargets:
    def __init__(self, home, default: float):
        """home: the `Home` holding the file; default: the configured target_overkill."""
        self.path = home.calibration_targets
        self.default = default

    def all(self) -> dict[str, float]:
        if not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not an object of class: rate")
            for name, rate in data.items():
                overkill_rate(f"{name}", rate)
        except (UnicodeDecodeError, ValueError, ConfigError) as exc:
            raise CorruptState(f"{self.path} is damaged ({exc}); fix it or set the targets again with "
                               "`normalcy calibration set CLASS --target-overkill RATE`") from None
        return data

    def for_class(self, class_name: str) -> float:
        return float(self.all().get(class_name, self.default))

    def is_set(self, class_name: str) -> bool:
        return class_name in self.all()

    def set(self, class_name: str, rate: float) -> None:
        overkill_rate("--target-overkill", rate)
        data = self.all()
        data[class_name] = float(rate)
        write_text(self.path, json.dumps(data, indent=2, sort_keys=True))
