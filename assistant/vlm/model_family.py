"""Supported model families as profiles of the one transformers backend.

The family is read from the weights' own `config.json` (`model_type`), never guessed from a name.
A profile only says what differs between families: how a turn's images and labels are laid out
for the family's chat template, and how image pixel limits are applied.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FamilyProfile:
    """How the transformers backend treats one `model_type`.

    layout: "interleaved" (the chat template renders parts in order) or "images_first" (the family's
      hub template renders every image of a turn before its text, so labels become a numbered legend).
    pixel_limits: "processor" — the image processor resizes within [min_pixels, max_pixels] itself
      (passed as `size={"shortest_edge": min, "longest_edge": max}`); "resize" — images are resized
      before the processor so that their pixel count lies within the limits.
    vision_output: the `vision_config` key that holds the width of the vectors the vision tower hands
      the language model (Qwen-VL's merger); it must equal the text model's hidden_size. None = the
      family's projector maps any width (LLaVA, Idefics3).
    unquantized: module paths (transformers 5 layout) kept in full precision under 4/8-bit loading:
      the vision tower and the projector (small, sensitive to quantisation; bitsandbytes' CPU 4-bit kernel also needs
      in_features that are multiples of 64, which tiny vision towers do not have).
    """

    model_type: str
    label: str
    layout: str = "interleaved"
    pixel_limits: str = "resize"
    unquantized: tuple[str, ...] = ()
    vision_output: str | None = None


_LLAVA = ("model.vision_tower", "model.multi_modal_projector")
_IDEFICS = ("model.vision_model", "model.connector")
_PROFILES = [
    FamilyProfile("qwen2_vl", "Qwen2-VL", pixel_limits="processor", unquantized=("model.visual",),
                  vision_output="hidden_size"),
    FamilyProfile("qwen2_5_vl", "Qwen2.5-VL", pixel_limits="processor", unquantized=("model.visual",),
                  vision_output="out_hidden_size"),
    FamilyProfile("qwen3_vl", "Qwen3-VL", pixel_limits="processor", unquantized=("model.visual",),
                  vision_output="out_hidden_size"),
    FamilyProfile("llava", "LLaVA-1.5", layout="images_first", unquantized=_LLAVA),
    FamilyProfile("llava_next", "LLaVA-NeXT", layout="images_first", unquantized=_LLAVA),
    FamilyProfile("llava_onevision", "LLaVA-OneVision", layout="images_first", unquantized=_LLAVA),
    FamilyProfile("idefics3", "Idefics3", unquantized=_IDEFICS),
    FamilyProfile("smolvlm", "SmolVLM", unquantized=_IDEFICS),
]
FAMILIES: dict[str, FamilyProfile] = {profile.model_type: profile for profile in _PROFILES}


def family_of(model_type: str | None) -> FamilyProfile | None:
    """The profile for a config.json `model_type`, or None when the family is not supported."""
    return FAMILIES.get(model_type or "")


def supported_types() -> str:
    return ", ".join(FAMILIES)


def width_mismatch(profile: FamilyProfile, config: dict) -> str | None:
    """What is inconsistent between a config.json's vision output width and its text width, or None.

    A Qwen2-VL config whose `vision_config.hidden_size` (the merger's output) differs from the text
    `hidden_size` builds a model that fails on the first image with transformers' "Image features and
    image tokens do not match, tokens: N, features: N" (same count, different width).
    """
    vision = config.get("vision_config") or {}
    text = config.get("text_config") or config
    if profile.vision_output is None or profile.vision_output not in vision or "hidden_size" not in text:
        return None
    out, width = vision[profile.vision_output], text["hidden_size"]
    if out == width:
        return None
    return (f"config.json: vision_config.{profile.vision_output} is {out} but the text model's hidden_size is "
            f"{width}; the vision tower's output must have the text width (this config does not describe a "
            f"working {profile.label} model; copy the model's own config.json)")
