"""A transformers vision backbone (DINOv2 / DINOv3, CLIP or SigLIP vision) loaded from a local folder.

`retrieval.encoder.path` is a model folder as `save_pretrained` writes it (config.json, model.safetensors
or its shards, preprocessor_config.json). It loads with `AutoModel` / `AutoImageProcessor` and
`local_files_only=True` (and the offline switches of `retrieval.offline`), never from a hub; a full CLIP or
SigLIP folder works too, its vision tower is used. Patch features, the AnomalyDINO route: the tokens of
the configured blocks (`layers`: 1 = first block, -1 = the last), each through the model's final layer
norm, class and register tokens dropped, reshaped to the (image_size / patch_size)² grid; several layers
are concatenated by `patch_features.aggregate`. The global embedding for retrieval is the class token of
the last block (`pooling: cls`) or the mean of the patch features (`pooling: mean`, as for every encoder).
Images are resized to image_size² without the processor's centre crop (the map must cover the whole
part) and normalised with the processor's mean and std.

The id names the model type, the hash of the weight files, the layers, the pooling and the input size:
two folders with other weights, or another layer choice, are different encoders to the store and cache.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from dataclasses import dataclass
from pathlib import Path

from retrieval.config import EncoderConfig
from retrieval.encoders.image_encoder import ImageEncoder, require_local, weights_digest
from retrieval.errors import ConfigError, MissingWeights


@dataclass(frozen=True)
class Family:
    label: str
    class_token: bool   # the first token is a class token (pooling "cls" is possible)


FAMILIES = {   # config.json model_type -> what it is; the one registry (no dispatch on folder names)
    "dinov2": Family("DINOv2", True),
    "dinov2_with_registers": Family("DINOv2 with registers", True),
    "dinov3_vit": Family("DINOv3 ViT", True),
    "clip": Family("CLIP (vision tower)", True),
    "clip_vision_model": Family("CLIP vision", True),
    "siglip": Family("SigLIP (vision tower)", False),
    "siglip_vision_model": Family("SigLIP vision", False),
}
NORMS = ("layernorm", "norm", "post_layernorm")   # the tower's final layer norm, as the families name it
DEFAULT_LAYERS = (-1,)
FOLDER_HINT = "put config.json, model.safetensors and preprocessor_config.json there (save_pretrained writes them)"


def folder_model_type(path) -> str | None:
    """The model_type of the folder's config.json when it names an encoder family, else None. JSON only."""
    config = Path(path).expanduser() / "config.json"
    try:
        model_type = json.loads(config.read_text()).get("model_type")
    except (OSError, ValueError, AttributeError):
        return None
    return model_type if model_type in FAMILIES else None


def weight_files(folder: Path) -> list[Path]:
    """The weight files `from_pretrained` reads: the shards of an index, model.safetensors, or .bin files."""
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        try:
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        except (OSError, ValueError, KeyError, AttributeError):
            raise MissingWeights(f"{index} is not a readable shard index; copy it again") from None
        missing = [name for name in shards if not (folder / name).is_file()]
        if missing:
            raise MissingWeights(f"{folder} lacks weight shard {missing[0]}; copy every shard the index names")
        return [folder / name for name in shards]
    files = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("pytorch_model*.bin"))
    if not files:
        raise MissingWeights(f"no weights (model.safetensors) in {folder}; {FOLDER_HINT}")
    return files


def folder_digest(folder: Path) -> str:
    """12 hex digits naming the exact weights: one file's digest, or the digest of the shards' digests."""
    digests = [weights_digest(file) for file in weight_files(folder)]
    return digests[0] if len(digests) == 1 else hashlib.sha256("".join(digests).encode()).hexdigest()[:12]


def _model_folder(cfg: EncoderConfig) -> tuple[Path, str]:
    folder = require_local(cfg.path, "the transformers encoder").resolve()   # absolute: never read as a hub id
    if not folder.is_dir():
        raise MissingWeights(f"{folder} is a file; point retrieval.encoder.path at the model folder ({FOLDER_HINT})")
    if not (folder / "config.json").is_file():
        raise MissingWeights(f"{folder} has no config.json; {FOLDER_HINT}")
    model_type = folder_model_type(folder)
    if model_type is None:
        raise ConfigError(f"{folder} is not a vision backbone folder (config.json model_type must be one of "
                          f"{', '.join(FAMILIES)})")
    if not (folder / "preprocessor_config.json").is_file():
        raise MissingWeights(f"{folder} has no preprocessor_config.json (mean/std); {FOLDER_HINT}")
    weight_files(folder)
    return folder, model_type


def _load(folder: Path, label: str):
    """(vision tower in eval mode, image processor); a folder that does not load is one MissingWeights line."""
    import retrieval.offline  # noqa: F401  (offline switches before transformers is imported)
    from safetensors import SafetensorError
    from transformers import AutoImageProcessor, AutoModel

    try:
        model, info = AutoModel.from_pretrained(str(folder), local_files_only=True, output_loading_info=True)
        processor = AutoImageProcessor.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, RuntimeError, KeyError, TypeError, SafetensorError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise MissingWeights(f"{folder} does not load as a {label} model ({reason}); {FOLDER_HINT}") from None
    missing = info.get("missing_keys") or []
    if missing:
        raise MissingWeights(f"the weights in {folder} do not match its config.json (missing {sorted(missing)[0]} "
                             f"and {len(missing) - 1} more); copy the weights that belong to that config")
    return getattr(model, "vision_model", model).eval(), processor


class TransformersEncoder(ImageEncoder):
    def __init__(self, cfg: EncoderConfig):
        folder, model_type = _model_folder(cfg)
        self.family = FAMILIES[model_type]
        self.model_type = model_type
        if cfg.pooling == "cls" and not self.family.class_token:
            raise ConfigError(f"retrieval.encoder.pooling: {self.family.label} has no class token; use pooling: mean")
        self.tower, processor = _load(folder, self.family.label)
        config = self.tower.config
        self.patch_size = _as_int(config.patch_size)
        self.depth = int(config.num_hidden_layers)
        self.layers = _checked_layers(tuple(cfg.layers) or DEFAULT_LAYERS, self.depth)
        if cfg.image_size % self.patch_size:
            raise ConfigError(f"retrieval.encoder.image_size: {cfg.image_size} is not a multiple of the model's patch size "
                              f"{self.patch_size} (e.g. {self.patch_size * (cfg.image_size // self.patch_size or 1)})")
        self.image_size, self.pooling = cfg.image_size, cfg.pooling
        self.grid = cfg.image_size // self.patch_size
        if getattr(processor, "image_mean", None) is None or getattr(processor, "image_std", None) is None:
            raise MissingWeights(f"{folder}/preprocessor_config.json has no image_mean / image_std; {FOLDER_HINT}")
        self.mean, self.std = tuple(processor.image_mean), tuple(processor.image_std)
        self.norm = next((getattr(self.tower, name) for name in NORMS if hasattr(self.tower, name)), None)
        wants = inspect.signature(self.tower.forward).parameters
        self._forward_options = {"interpolate_pos_encoding": True} if "interpolate_pos_encoding" in wants else {}
        self._id = (f"transformers:{model_type}@{folder_digest(folder)}:layers{','.join(map(str, self.layers))}"
                    f":{self.pooling}:{self.image_size}px")

    @property
    def id(self) -> str:
        return self._id

    def layer_maps(self, batch):
        return self.encode(batch)[0]

    def encode(self, batch):
        """(B, 3, S, S) -> ([(B, C, S/p, S/p)] per configured layer, (B, C) unit class tokens or None)."""
        import torch
        import torch.nn.functional as F

        with torch.inference_mode():
            states = self.tower(pixel_values=batch, output_hidden_states=True, **self._forward_options).hidden_states
            maps = [self._grid(self._normed(states[index])) for index in self.layers]
            pooled = F.normalize(self._normed(states[-1])[:, 0], dim=1) if self.pooling == "cls" else None
        return maps, pooled

    def _normed(self, tokens):
        return self.norm(tokens) if self.norm is not None else tokens

    def _grid(self, tokens):
        """(B, T, C) tokens -> (B, C, g, g): the first T - g² (class, register) tokens dropped."""
        cells = self.grid * self.grid
        if tokens.shape[1] < cells:
            raise ConfigError(f"the model gives {tokens.shape[1]} tokens for a {self.grid}x{self.grid} patch grid; "
                              "check image_size against its patch size")
        patches = tokens[:, tokens.shape[1] - cells:]
        return patches.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], self.grid, self.grid)


def _as_int(value) -> int:
    return int(value[0] if isinstance(value, (tuple, list)) else value)


def _checked_layers(layers: tuple, depth: int) -> tuple[int, ...]:
    """Block indices as given (1..depth or -depth..-1; hidden_states[0] is the embedding, not a block)."""
    for index in layers:
        if isinstance(index, bool) or not isinstance(index, int) or index == 0 or abs(index) > depth:
            raise ConfigError(f"retrieval.encoder.layers: {index!r} is not a block of this {depth}-block model "
                              f"(use 1..{depth} or -{depth}..-1)")
    return tuple(layers)
