"""Tiny, randomly initialised VLMs of every supported family, built from config and saved to a folder.

A test tool, not product code: each `build(family, folder)` writes a complete model directory
(config.json, model.safetensors, processor + tokenizer files, chat_template.jinja) that the real
loader (`assistant.vlm.transformers_backend`) then opens with `local_files_only=True`.
The chat templates are short Jinja templates carrying each family's markers (the real ones live on
the hub). Output of these models is noise: tests check structure, never content.
`size=("tiny" | "bench")` picks the text-model width: bench is wider and deeper so timings mean something.
"""

from __future__ import annotations

from pathlib import Path

CORPUS = ["The metal surface shows a scratch near the upper left corner.",
          "No anomaly detected: the bottle cap is intact and well aligned.",
          "A crack runs along the weld seam; severity is high.",
          'Answer {"reasoning": "the part is fine", "correctness": 1} or 0.',
          "user assistant system image picture defect anomaly normal reference"] * 50

SIZES = {"tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2),
         "bench": dict(hidden_size=256, intermediate_size=512, num_hidden_layers=4, num_attention_heads=4,
                       num_key_value_heads=2)}

QWEN_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
LLAVA_TEMPLATE = (
    "{% for m in messages %}{{ m['role'].upper() }}: "
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<image>\n{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}"
    "{% endfor %}{% endif %}\n{% endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}")
IDEFICS_TEMPLATE = (
    "<|im_start|>{% for m in messages %}{{ m['role'] | capitalize }}:"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<image>{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}"
    "{% endif %}<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}")

# What the rendered chat template shows once per image, per family (used by layout tests).
IMAGE_MARKERS = {"qwen2_vl": "<|vision_start|>", "qwen2_5_vl": "<|vision_start|>", "qwen3_vl": "<|vision_start|>",
                 "llava": "<image>", "llava_next": "<image>", "llava_onevision": "<image>",
                 "idefics3": "<image>", "smolvlm": "<image>"}


def make_tokenizer(special: list[str], vocab_size: int = 600, **kw):
    """Byte-level BPE trained on CORPUS in ~0.1 s; special tokens get the first ids."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    return PreTrainedTokenizerFast(tokenizer_object=tok, **kw)


def _text(tok, size: str, **extra) -> dict:
    return dict(vocab_size=len(tok), max_position_embeddings=4096, bos_token_id=tok.bos_token_id,
                eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, **SIZES[size], **extra)


def _qwen_tokenizer():
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
               "<|image_pad|>", "<|video_pad|>"]
    tok = make_tokenizer(special, eos_token="<|im_end|>", pad_token="<|endoftext|>", bos_token="<|endoftext|>")
    ids = dict(image_token_id=tok.convert_tokens_to_ids("<|image_pad|>"),
               video_token_id=tok.convert_tokens_to_ids("<|video_pad|>"),
               vision_start_token_id=tok.convert_tokens_to_ids("<|vision_start|>"),
               vision_end_token_id=tok.convert_tokens_to_ids("<|vision_end|>"))
    return tok, ids


def build_qwen(version: str, size: str):
    """Qwen2-VL ("2"), Qwen2.5-VL ("2.5") or Qwen3-VL ("3"); 112x112 images give 16 image tokens."""
    import transformers as tf

    tok, ids = _qwen_tokenizer()
    head = SIZES[size]["hidden_size"] // SIZES[size]["num_attention_heads"]
    rope = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": _mrope(head)}
    out = SIZES[size]["hidden_size"]
    if version == "3":
        rope["mrope_interleaved"] = True
        text = _text(tok, size, head_dim=head, rope_parameters=rope)
        vision = dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=out,
                      patch_size=16, num_position_embeddings=64, deepstack_visual_indexes=[1])
        cfg, model_cls, proc_cls, patch = tf.Qwen3VLConfig, tf.Qwen3VLForConditionalGeneration, tf.Qwen3VLProcessor, 16
    elif version == "2.5":
        text = _text(tok, size, rope_parameters=rope)
        vision = dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=out,
                      fullatt_block_indexes=[1], window_size=56)
        cfg, model_cls, proc_cls, patch = (tf.Qwen2_5_VLConfig, tf.Qwen2_5_VLForConditionalGeneration,
                                           tf.Qwen2_5_VLProcessor, 14)
    else:
        text = _text(tok, size, rope_parameters=rope)
        vision = dict(depth=2, embed_dim=32, hidden_size=out, num_heads=2, mlp_ratio=2)
        cfg, model_cls, proc_cls, patch = tf.Qwen2VLConfig, tf.Qwen2VLForConditionalGeneration, tf.Qwen2VLProcessor, 14
    model = model_cls(cfg(vision_config=vision, text_config=text, **ids))
    side = patch * 2 * 4  # 4x4 merged patches -> 16 image tokens at the max
    image_proc = _qwen_image_processor(version, patch, side)
    video_proc = tf.Qwen3VLVideoProcessor() if version == "3" else tf.Qwen2VLVideoProcessor()
    proc = proc_cls(image_processor=image_proc, tokenizer=tok, video_processor=video_proc,
                    chat_template=QWEN_TEMPLATE)
    return model, proc


def _mrope(head_dim: int) -> list[int]:
    """mrope_section must sum to head_dim / 2."""
    half = head_dim // 2
    first = half // 4
    rest = half - first
    return [first, rest // 2, rest - rest // 2]


def _qwen_image_processor(version: str, patch: int, side: int):
    from transformers import Qwen2VLImageProcessor

    size = {"shortest_edge": (side // 2) ** 2, "longest_edge": side * side}
    return Qwen2VLImageProcessor(size=size, patch_size=patch, merge_size=2)


def _llama_text(tok, size: str) -> dict:
    return dict(model_type="llama", **_text(tok, size))


def _llava_tokenizer():
    special = ["<unk>", "<s>", "</s>", "<pad>", "<image>", "<video>"]
    return make_tokenizer(special, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>")


def _clip_vision():
    from transformers import CLIPVisionConfig

    return CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                            image_size=32, patch_size=8, projection_dim=32)


def build_llava(size: str):
    """LLaVA-1.5 layout: CLIP vision tower (32 px, 8 px patches -> 16 tokens) + Llama."""
    import transformers as tf

    tok = _llava_tokenizer()
    cfg = tf.LlavaConfig(vision_config=_clip_vision(), text_config=_llama_text(tok, size),
                         image_token_id=tok.convert_tokens_to_ids("<image>"), image_seq_length=16,
                         vision_feature_layer=-2, vision_feature_select_strategy="default")
    ip = tf.CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    proc = tf.LlavaProcessor(image_processor=ip, tokenizer=tok, patch_size=8, vision_feature_select_strategy="default",
                             num_additional_image_tokens=1, image_token="<image>", chat_template=LLAVA_TEMPLATE)
    return tf.LlavaForConditionalGeneration(cfg), proc


def build_llava_next(size: str):
    """LLaVA-NeXT (anyres): 32 px base tiles, grid pinpoints up to 64x64."""
    import transformers as tf

    tok = _llava_tokenizer()
    pinpoints = [[32, 32], [32, 64], [64, 32], [64, 64]]
    cfg = tf.LlavaNextConfig(vision_config=_clip_vision(), text_config=_llama_text(tok, size),
                             image_token_id=tok.convert_tokens_to_ids("<image>"), image_grid_pinpoints=pinpoints,
                             vision_feature_layer=-2, vision_feature_select_strategy="default", image_seq_length=16)
    ip = tf.LlavaNextImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32},
                                    image_grid_pinpoints=pinpoints)
    proc = tf.LlavaNextProcessor(image_processor=ip, tokenizer=tok, patch_size=8,
                                 vision_feature_select_strategy="default", num_additional_image_tokens=1,
                                 image_token="<image>", chat_template=LLAVA_TEMPLATE)
    return tf.LlavaNextForConditionalGeneration(cfg), proc


def build_llava_onevision(size: str):
    """LLaVA-OneVision: SigLIP vision tower + Qwen2 text model, anyres-max grid."""
    import transformers as tf

    tok = _llava_tokenizer()
    pinpoints = [[32, 32], [32, 64], [64, 32], [64, 64]]
    vision = tf.SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                                   image_size=32, patch_size=8)
    text = dict(model_type="qwen2", **_text(tok, size))
    cfg = tf.LlavaOnevisionConfig(vision_config=vision, text_config=text,
                                  image_token_id=tok.convert_tokens_to_ids("<image>"),
                                  video_token_id=tok.convert_tokens_to_ids("<video>"), image_grid_pinpoints=pinpoints,
                                  vision_feature_layer=-1, vision_feature_select_strategy="full")
    ip = tf.LlavaOnevisionImageProcessor(size={"height": 32, "width": 32}, image_grid_pinpoints=pinpoints)
    proc = tf.LlavaOnevisionProcessor(image_processor=ip, tokenizer=tok,
                                      video_processor=tf.LlavaOnevisionVideoProcessor(),
                                      num_image_tokens=16, vision_feature_select_strategy="full",
                                      image_token="<image>", video_token="<video>", chat_template=LLAVA_TEMPLATE)
    return tf.LlavaOnevisionForConditionalGeneration(cfg), proc


def build_idefics(smol: bool, size: str):
    """Idefics3 / SmolVLM: 64 px images, 16 px patches, scale factor 2 -> 4 image tokens."""
    import transformers as tf

    rows = [f"<row_{i}_col_{j}>" for i in range(1, 7) for j in range(1, 7)]
    special = ["<|endoftext|>", "<|im_start|>", "<fake_token_around_image>", "<image>", "<global-img>",
               "<end_of_utterance>", "<video>"] + rows
    tok = make_tokenizer(special, vocab_size=700, bos_token="<|im_start|>", eos_token="<end_of_utterance>",
                         pad_token="<|endoftext|>")
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                  image_size=64, patch_size=16)
    names = (("SmolVLMConfig", "SmolVLMForConditionalGeneration", "SmolVLMProcessor", "SmolVLMImageProcessor")
             if smol else ("Idefics3Config", "Idefics3ForConditionalGeneration", "Idefics3Processor",
                           "Idefics3ImageProcessor"))
    cfg_cls, model_cls, proc_cls, ip_cls = (getattr(tf, n) for n in names)
    cfg = cfg_cls(vision_config=vision, text_config=_llama_text(tok, size), scale_factor=2,
                  image_token_id=tok.convert_tokens_to_ids("<image>"))
    ip = ip_cls(size={"longest_edge": 64}, max_image_size={"longest_edge": 64}, do_image_splitting=False)
    kw = {}
    if smol:
        kw["video_processor"] = tf.SmolVLMVideoProcessor(size={"longest_edge": 64}, max_image_size={"longest_edge": 64})
    proc = proc_cls(image_processor=ip, tokenizer=tok, image_seq_len=4, chat_template=IDEFICS_TEMPLATE, **kw)
    return model_cls(cfg), proc


BUILDERS = {
    "qwen2_vl": lambda size: build_qwen("2", size),
    "qwen2_5_vl": lambda size: build_qwen("2.5", size),
    "qwen3_vl": lambda size: build_qwen("3", size),
    "llava": build_llava,
    "llava_next": build_llava_next,
    "llava_onevision": build_llava_onevision,
    "idefics3": lambda size: build_idefics(False, size),
    "smolvlm": lambda size: build_idefics(True, size),
}


def build(family: str, folder: Path, size: str = "tiny", seed: int = 0) -> Path:
    """Build, randomly initialise and save one family's model + processor into `folder`."""
    import torch

    torch.manual_seed(seed)
    model, proc = BUILDERS[family](size)
    folder = Path(folder)
    model.save_pretrained(folder)
    proc.save_pretrained(folder)
    return folder
