"""Per-class threshold for the language model's P(anomalous), from normal references only.

The model is asked about a few normal references of the class — each inspected like a query, against
its nearest *other* references — and the threshold sits z standard deviations above the mean of its
P(anomalous) on them (`score_fusion.model_threshold`). Stored in HOME/model_calibration.json per
(class, model and prompt settings) and recomputed when the class's references change. A server
calibrates its configured settings at warm-up and any other setting in the background. A file that is not
JSON, or an entry without a threshold in (0, 1], is a `CorruptState` pointing at `normalcy doctor`, which
drops the file so that it is recomputed.
"""

from __future__ import annotations

import json
import sys
import threading

from assistant.reasoning.score_fusion import model_threshold
from retrieval.atomic_file import write_text
from retrieval.calibration import spread_indices
from retrieval.errors import DOCTOR_HINT, CorruptState


class ModelThresholds:
    """The P(anomalous) threshold of each (class, model and prompt settings); one per workspace.

    On the request path of a server (`background = True`), a setting not calibrated yet is calibrated
    by one worker thread in the background while the request goes on uncalibrated (`threshold` returns
    None), so no operator waits for the extra generations another's prompt switch asked for. `busy`
    serialises the model between that worker and verdicts."""

    def __init__(self, workspace, gatherer):
        """gatherer: the `EvidenceGatherer` that gathers each normal's evidence as a query's would be."""
        self.ws = workspace
        self.gatherer = gatherer
        self.background = False
        self.busy = threading.Lock()
        self._pending: set[str] = set()
        self._guard = threading.Lock()

    @property
    def path(self):
        return self.ws.home.model_calibration

    def threshold(self, class_name: str, setting: str, ask, wait: bool | None = None) -> float | None:
        """setting: names the model and prompt settings; ask(evidence) -> ModelAnswer asks the model
        exactly as the inspection being scored was asked. None: not calibrated yet, being calibrated in
        the background (wait=False, or `background` and wait not given)."""
        key = f"{class_name}|{setting}"
        known = self.known(class_name, key)
        if known is not None:
            return known
        if wait is False or (wait is None and self.background):
            self._start(key, class_name, ask)
            return None
        return self._calibrate(key, class_name, ask)

    def known(self, class_name: str, key: str) -> float | None:
        stored = self._stored()
        entry = stored.get(key)
        if entry and entry["fingerprint"] == self.ws.references.fingerprint(class_name):
            return entry["threshold"]
        return None

    def pending(self) -> set[str]:
        with self._guard:
            return set(self._pending)

    def _start(self, key: str, class_name: str, ask) -> None:
        with self._guard:
            if key in self._pending:
                return
            self._pending.add(key)
        threading.Thread(target=self._background, args=(key, class_name, ask), daemon=True,
                         name=f"calibrate {key}").start()

    def _background(self, key: str, class_name: str, ask) -> None:
        try:
            print(f"calibrating P(anomalous) for {key} in the background", file=sys.stderr)
            self._calibrate(key, class_name, ask)
        except Exception as exc:  # a background job has nobody to raise to: say it and let a later request retry
            print(f"calibration of {key} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        finally:
            with self._guard:
                self._pending.discard(key)

    def _calibrate(self, key: str, class_name: str, ask) -> float:
        fingerprint = self.ws.references.fingerprint(class_name)
        p_normals = self._normal_probabilities(class_name, ask)
        entry = {"threshold": model_threshold(p_normals, self.ws.config.retrieval.calibration.z),
                 "p_normals": p_normals, "fingerprint": fingerprint}
        with self._guard:
            self._save({**self._stored(), key: entry})
        return entry["threshold"]

    def _stored(self) -> dict:
        problem, data = self._read()
        if problem:
            raise CorruptState(f"the model calibration is damaged: {problem}; {DOCTOR_HINT}")
        return data

    def problem(self) -> str | None:
        """What is wrong with the stored model calibration; None when it reads (or there is none yet)."""
        return self._read()[0]

    def discard(self) -> None:
        """Drop the stored model calibration; each setting is recalibrated when next asked for."""
        with self._guard:
            self.path.unlink(missing_ok=True)

    def _read(self) -> tuple[str | None, dict]:
        if not self.path.is_file():
            return None, {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            return f"{self.path} is not readable JSON ({exc})", {}
        if not isinstance(data, dict):
            return f"{self.path} does not hold one entry per setting", {}
        for key, entry in data.items():
            value = entry.get("threshold") if isinstance(entry, dict) else None
            usable = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 1
            if not usable or not isinstance(entry.get("fingerprint"), str):
                return f"{self.path}: entry {key!r} has no threshold in (0, 1] with a fingerprint", {}
        return None, data

    def _normal_probabilities(self, class_name: str, ask) -> list[float]:
        with self.ws.using_store():
            references = self.ws.references.of_class(class_name)
        values = []
        for index in spread_indices(len(references), self.ws.config.vlm.calibration_samples):
            reference = references[index]
            query = self.gatherer.scorer.copy_of(reference)
            evidence = self.gatherer.gather(query, class_name, exclude={reference.sha256})
            with self.busy:
                answer = ask(evidence)
            if answer.p_anomalous is not None:
                values.append(float(answer.p_anomalous))
        return values

    def _save(self, data: dict) -> None:
        write_text(self.path, json.dumps(data, indent=2, sort_keys=True))
