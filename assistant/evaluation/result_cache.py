"""The evaluation's result cache: DIR/results.jsonl, one line per (image, class, strategy, config) result.

Append-only: a result is written (one line, flushed) as soon as it is computed, so an interrupted run
keeps everything it finished and a re-run computes only the rest. A truncated last line (the process was
killed mid-write) is dropped on open; a malformed line anywhere else is a BadInput naming it.

The key holds everything a result depends on besides the image's bytes (its sha256): the class, the
strategy and `config_hash` — the retrieval and input settings and the class's reference set, and for
strategies that ask a model also the model's id and the VLM settings.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from retrieval.errors import BadInput

FIELDS = ("anomaly_score", "correctness", "status", "map_score", "model_score", "model", "reasoning",
          "raw_text", "notice")


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes (the same as `LoadedImage.sha256`), read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def config_hash(config, references_fingerprint: str, model_id: str | None = None, prompt_inputs: str = "") -> str:
    """What a result depends on besides the image: settings and reference set (+ model, if one answers).
    prompt_inputs: a digest of everything else a model's answer depends on — rule texts, prompt
    templates, the text encoder that ranks the rules (see `Evaluation._prompt_inputs`)."""
    parts = {"retrieval": dataclasses.asdict(config.retrieval), "inputs": dataclasses.asdict(config.inputs),
             "references": references_fingerprint}
    if model_id is not None:
        parts.update(vlm=dataclasses.asdict(config.vlm), model=model_id, rules_dir=config.rules_dir,
                     prompt_inputs=prompt_inputs)
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


def result_key(sha256: str, class_name: str, strategy: str, config: str) -> str:
    return f"{config}/{class_name}/{strategy}/{sha256}"


def result_entry(key: str, path: str, strategy: str, verdict) -> dict:
    """The JSONL line of one verdict: its key, provenance and the fields the metrics and report read."""
    data = verdict.to_dict()
    return {"key": key, "path": str(path), "class": data["class_name"], "strategy": strategy,
            "sha256": data["image_sha256"], **{name: data.get(name) for name in FIELDS}}


class ResultCache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._entries: dict[str, dict] = {}
        if self.path.is_file():
            self._load()

    def _load(self) -> None:
        data = self.path.read_bytes()
        complete, _, tail = data.rpartition(b"\n")
        lines = complete.splitlines()
        if tail:
            try:
                json.loads(tail)
                lines.append(tail)
                self._rewrite_end(len(data), b"\n")              # a whole last line without its newline
            except ValueError:
                self._rewrite_end(len(data) - len(tail), b"")     # a truncated last line: drop it
        for number, line in enumerate(lines, start=1):
            if line.strip():
                self._add(self._parse(line, number))

    def _rewrite_end(self, keep: int, suffix: bytes) -> None:
        with open(self.path, "r+b") as fh:
            fh.truncate(keep)
            fh.seek(keep)
            fh.write(suffix)

    def _parse(self, line: bytes, number: int) -> dict:
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            raise BadInput(f"{self.path} line {number} is not a result record; delete the file to recompute "
                           "every result, or remove that line")
        return entry

    def _add(self, entry: dict) -> None:
        self._entries[entry["key"]] = entry

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def get(self, key: str) -> dict | None:
        return self._entries.get(key)

    def append(self, entry: dict) -> None:
        """Write one result as one line (flushed before returning) and keep it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, sort_keys=True, allow_nan=False) + "\n"
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
        self._add(entry)
