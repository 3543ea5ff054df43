"""Check a local model directory without loading it: complete? which family? how big? how much memory?

`check_model_dir(path)` reads only small files (config.json, the shard index, safetensors headers),
so it runs in milliseconds even for a 7B model and needs neither torch nor transformers.
A Hugging Face cache folder (`models--org--name` with `snapshots/`) is resolved to its snapshot.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import asdict, dataclass, field
from pathlib import Path

from assistant.vlm.model_family import family_of, supported_types, width_mismatch
from retrieval.errors import BadInput, MissingWeights

GIB = 1024 ** 3
# Bytes per parameter of the weights alone; 4-bit NF4 adds one absmax per 64 weights (double-quantised).
BYTES_PER_PARAM = {"bf16/fp16": 2.0, "int8": 1.0, "nf4": 0.5 + 1 / 64}
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
               "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}
TOKENIZER_FILES = (("tokenizer.json",), ("tokenizer.model",), ("vocab.json", "merges.txt"))
PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json")


@dataclass
class ModelReport:
    """What `models check` prints. memory_bytes: estimated weights memory per precision (bytes).
    problems: files present but inconsistent (the model would fail at its first image)."""

    path: str
    complete: bool
    missing: list[str] = field(default_factory=list)
    model_type: str | None = None
    family: str | None = None
    supported: bool = False
    n_params: int | None = None
    weight_files: list[str] = field(default_factory=list)
    weights_dtypes: list[str] = field(default_factory=list)
    memory_bytes: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_model_dir(path: str | Path) -> Path:
    """The folder that holds config.json: `path` itself or, for an HF cache folder, its snapshot.

    Raises MissingWeights when the path does not exist, BadInput when it is a file.
    """
    folder = Path(path).expanduser()
    if not folder.exists():
        raise MissingWeights(f"model folder {folder} does not exist; put the model's files there "
                             "(config.json, *.safetensors, tokenizer and processor files) or fix the path")
    if not folder.is_dir():
        raise BadInput(f"{folder} is a file; give the folder that holds the model's config.json")
    snapshots = folder / "snapshots"
    if not (folder / "config.json").exists() and snapshots.is_dir():
        return _snapshot(folder, snapshots)
    return folder


def _snapshot(folder: Path, snapshots: Path) -> Path:
    ref = folder / "refs" / "main"
    if ref.is_file() and (snapshots / ref.read_text().strip()).is_dir():
        return snapshots / ref.read_text().strip()
    candidates = sorted((p for p in snapshots.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    if not candidates:
        raise MissingWeights(f"Hugging Face cache folder {folder} has no snapshot; copy the model files in again")
    return candidates[-1]


def check_model_dir(path: str | Path) -> ModelReport:
    """Inspect a model folder. Never loads weights; raises only for a path that is not a folder."""
    folder = resolve_model_dir(path)
    report = ModelReport(path=str(folder), complete=False)
    config = _read_json(folder / "config.json", report)
    if config is not None:
        _family(config, report)
    shards = _weight_files(folder, report)
    _tokenizer_and_processor(folder, report)
    if shards:
        _count_parameters(shards, report)
    report.complete = not report.missing
    return report


def _read_json(file: Path, report: ModelReport) -> dict | None:
    if not file.is_file():
        report.missing.append(file.name)
        return None
    try:
        data = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        report.missing.append(f"{file.name} (unreadable: {exc})")
        return None
    return data if isinstance(data, dict) else None


def _family(config: dict, report: ModelReport) -> None:
    report.model_type = config.get("model_type")
    profile = family_of(report.model_type)
    report.supported = profile is not None
    report.family = profile.label if profile else None
    if profile is None:
        report.notes.append(f"model_type {report.model_type!r} is not a supported family ({supported_types()})")
    elif width_mismatch(profile, config):
        report.problems.append(width_mismatch(profile, config))
    if config.get("quantization_config"):
        method = config["quantization_config"].get("quant_method", "unknown")
        report.notes.append(f"weights are pre-quantised ({method}); the parameter count is of stored tensors")


def _weight_files(folder: Path, report: ModelReport) -> list[Path]:
    """Safetensors files the folder needs: the index's shards, or model.safetensors."""
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        data = _read_json(index, report) or {}
        names = sorted(set((data.get("weight_map") or {}).values()))
        if not names:
            report.missing.append("model.safetensors.index.json (no weight_map)")
        report.missing.extend(name for name in names if not (folder / name).is_file())
        report.weight_files = names
        return [folder / name for name in names if (folder / name).is_file()]
    if (folder / "model.safetensors").is_file():
        report.weight_files = ["model.safetensors"]
        return [folder / "model.safetensors"]
    if list(folder.glob("pytorch_model*.bin")):
        report.missing.append("model.safetensors (only pickled .bin weights found; convert them to safetensors)")
    else:
        report.missing.append("model.safetensors (or model.safetensors.index.json and its shards)")
    return []


def _tokenizer_and_processor(folder: Path, report: ModelReport) -> None:
    if not any(all((folder / name).is_file() for name in group) for group in TOKENIZER_FILES):
        report.missing.append("tokenizer.json (or tokenizer.model, or vocab.json + merges.txt)")
    if not any((folder / name).is_file() for name in PROCESSOR_FILES):
        report.missing.append("processor_config.json (or preprocessor_config.json)")
    if not _has_chat_template(folder):
        report.missing.append("chat_template.jinja (or chat_template.json, or chat_template in tokenizer_config.json)")


def _has_chat_template(folder: Path) -> bool:
    if (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file():
        return True
    for name in ("tokenizer_config.json", "processor_config.json"):
        file = folder / name
        if file.is_file():
            try:
                if json.loads(file.read_text()).get("chat_template"):
                    return True
            except (OSError, ValueError):
                continue
    return False


def safetensors_header(file: Path) -> dict:
    """The JSON header of a .safetensors file: {tensor name: {"dtype", "shape", "data_offsets"}}."""
    with open(file, "rb") as handle:
        raw = handle.read(8)
        if len(raw) != 8:
            raise ValueError(f"{file.name} is shorter than a safetensors header")
        (size,) = struct.unpack("<Q", raw)
        if size > 100 * 1024 * 1024:
            raise ValueError(f"{file.name} declares a {size}-byte header; not a safetensors file")
        return json.loads(handle.read(size))


def _count_parameters(shards: list[Path], report: ModelReport) -> None:
    total, dtypes = 0, set()
    for shard in shards:
        try:
            header = safetensors_header(shard)
        except (OSError, ValueError) as exc:
            report.missing.append(f"{shard.name} (unreadable: {exc})")
            return
        for name, info in header.items():
            if name != "__metadata__":
                total += math.prod(info.get("shape") or [1])
                dtypes.add(info.get("dtype", "?"))
    report.n_params = total
    report.weights_dtypes = sorted(dtypes)
    report.memory_bytes = {name: math.ceil(total * per) for name, per in BYTES_PER_PARAM.items()}


def report_lines(report: ModelReport) -> list[str]:
    """Human-readable summary, one fact per line."""
    state = "complete" if report.complete else "INCOMPLETE"
    family = report.family or (f"unsupported ({report.model_type})" if report.model_type else "unknown")
    lines = [f"{report.path}: {state}", f"  family: {family}"]
    if report.missing:
        lines.append("  missing: " + "; ".join(report.missing))
    lines.extend(f"  problem: {problem}" for problem in report.problems)
    if report.n_params is not None:
        lines.append(f"  parameters: {report.n_params:,} ({report.n_params / 1e9:.2f} B), stored as "
                     f"{', '.join(report.weights_dtypes)}")
        lines.append("  weights memory: " + ", ".join(f"{k} {v / GIB:.2f} GiB" for k, v in report.memory_bytes.items())
                     + " (+ activations and image tokens)")
    lines.extend(f"  note: {note}" for note in report.notes)
    return lines
