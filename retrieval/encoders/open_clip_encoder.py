"""An open_clip vision tower loaded from a local checkpoint (never from a hub).

`retrieval.encoder.path` is either a directory holding `open_clip_config.json` and its weights
(open_clip's `local-dir:` layout) or a checkpoint file, with `retrieval.encoder.arch` naming the
architecture (e.g. "ViT-B-32"). Patch features are the token maps of two intermediate blocks
(about half and three quarters deep). With `text=True` the whole model is kept, so the same checkpoint
also embeds texts (its own tokenizer + `encode_text`): the CLIP text map of `retrieval.text_space.clip_space`.
"""

from __future__ import annotations

from pathlib import Path

from retrieval.config import EncoderConfig
from retrieval.encoders.image_encoder import ImageEncoder, require_local, weights_digest
from retrieval.errors import ConfigError, MissingWeights


def _weights_file(path):
    """The checkpoint open_clip will load from `path` (a file, or the one it picks in a local-dir)."""
    from open_clip.factory import _find_checkpoint_in_dir

    if path.is_file():
        return path
    found = _find_checkpoint_in_dir(path)
    if not found:
        raise MissingWeights(f"no open_clip weights (.safetensors/.bin/.pth) in {path}; "
                             "put the checkpoint next to open_clip_config.json")
    return Path(found)


def _create(path: Path, arch: str | None):
    """(model, open_clip name, architecture) of a local-dir or a weights file; one line when it does not load."""
    import pickle

    import open_clip
    from safetensors import SafetensorError

    if path.is_dir():
        if not (path / "open_clip_config.json").is_file():
            raise MissingWeights(f"{path} has no open_clip_config.json; put the model config and weights there")
        name, arch, pretrained = f"local-dir:{path}", path.name, None
    elif not arch:
        raise ConfigError("retrieval.encoder.arch is required with an open_clip checkpoint file (e.g. ViT-B-32)")
    else:
        name, pretrained = arch, str(path)
    try:
        return open_clip.create_model(name, pretrained=pretrained), name, arch
    except (OSError, ValueError, RuntimeError, KeyError, TypeError, EOFError, pickle.UnpicklingError,
            SafetensorError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise MissingWeights(f"{path} does not load as an open_clip {arch} checkpoint ({reason}); "
                             "copy the checkpoint again or fix its config") from None


class OpenClipEncoder(ImageEncoder):
    def __init__(self, cfg: EncoderConfig, text: bool = False):
        import open_clip

        path = require_local(cfg.path, "the open_clip encoder").resolve()   # absolute: never read as a hub tag
        weights = _weights_file(path)                                       # before open_clip would warn and go on
        model, self._name, arch = _create(path, cfg.arch)
        self.arch = arch
        self.model = model.visual.eval()
        self.clip = model.eval() if text else None      # the text tower only when texts are embedded too
        self._tokenizer = None
        pre = getattr(self.model, "preprocess_cfg", {}) or {}
        self.mean = tuple(pre.get("mean", open_clip.OPENAI_DATASET_MEAN))
        self.std = tuple(pre.get("std", open_clip.OPENAI_DATASET_STD))
        size = pre.get("size", self.model.image_size)
        self.image_size = int(size[0] if isinstance(size, (tuple, list)) else size)
        self._id = f"open_clip:{arch}@{weights_digest(weights)}"

    @property
    def id(self) -> str:
        return self._id

    def encode_texts(self, texts):
        """texts -> (N, D) unit-length text features: the checkpoint's own tokenizer and text tower."""
        import open_clip
        import torch

        if self.clip is None:
            raise ValueError("this open_clip encoder was loaded without its text tower (text=True)")
        if self._tokenizer is None:
            try:
                self._tokenizer = open_clip.get_tokenizer(self._name)
            except (OSError, ValueError) as exc:      # a Hugging Face tokenizer that is not on this machine
                reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise MissingWeights(f"the tokenizer of {self.arch} does not load offline ({reason}); put its "
                                     "tokenizer files in the checkpoint folder") from None
        with torch.inference_mode():
            return self.clip.encode_text(self._tokenizer(list(texts)), normalize=True).float()

    def layer_maps(self, batch):
        import torch

        with torch.inference_mode():
            out = self.model.forward_intermediates(batch, intermediates_only=True, output_fmt="NCHW")
        maps = out["image_intermediates"]
        depth = len(maps)
        return [maps[depth // 2], maps[(3 * depth) // 4]] if depth > 1 else list(maps)
