"""The transformers backend on tiny random models built from REAL model folders (real config, chat
template, tokenizer and image processor; see tests/real_vlm_factory.py), through the real loader.

What these check that the hand-written templates of tiny_vlm_factory cannot: where the family's real
chat template puts each image, how many tokens a real image costs, how the real tokenizer spells the
JSON the model must write (LLaVA's SentencePiece writes " 0" as "▁" + "0"), and that guided JSON,
P(anomalous) from the value logits, the budget guard and streaming hold on each.
"""

from __future__ import annotations

import json

import jsonschema
import pytest
from real_vlm_factory import SOURCES

from assistant.reasoning.prompt_builder import STRATEGIES, build_messages
from assistant.verdict import MODEL_SCHEMA
from assistant.vlm.messages import ImagePart, user

FAMILIES = list(SOURCES)
# Image tokens of one 300x300 RGB image with the folder's own processor settings (measured, see report):
# Qwen2/2.5-VL: 308x308 after smart_resize -> 22x22 patches of 14 px -> 11x11 merged; Qwen3-VL: 16 px
# patches -> 9x9; LLaVA-1.5: 336 px CLIP, 14 px patches -> 24x24; SmolVLM: upscaled to its 2048 px
# longest edge, split into 4x4 crops of 512 px + one global image, 64 tokens each (17 x 64).
IMAGE_TOKENS_300 = {"qwen2_vl": 121, "qwen2_5_vl": 121, "qwen3_vl": 81, "llava": 576, "smolvlm": 1088}
MARKERS = {"qwen2_vl": "<|vision_start|>", "qwen2_5_vl": "<|vision_start|>", "qwen3_vl": "<|vision_start|>",
           "llava": "<image>", "smolvlm": "<image>"}


def brick(size: int = 300, offset: int = 0):
    """A crop of scikit-image's real brick photograph, RGB."""
    import skimage.data
    from PIL import Image

    return Image.fromarray(skimage.data.brick()).convert("RGB").crop((offset, offset, offset + size, offset + size))


def inspection_messages(k: int = 2, size: int = 300):
    refs = [brick(size, 20 * i) for i in range(1, k + 1)]
    return build_messages(STRATEGIES["overlay"], query=brick(size), class_name="brick", references=refs,
                          overlay=brick(size, 5), question="Is the mortar cracked?")


def image_token_count(backend, messages) -> int:
    ids = backend.encode(messages)["input_ids"][0]
    return int((ids == backend.model.config.image_token_id).sum())


@pytest.mark.parametrize("family", FAMILIES)
def test_real_template_lays_out_references_query_overlay_and_question(real_backend, family):
    backend = real_backend(family)
    text = backend.render(inspection_messages(k=2))
    marker = MARKERS[family]
    assert text.count(marker) == 4  # 2 references + query + overlay
    labels = ["Reference 1", "Reference 2", "Image to inspect", "Anomaly map"]
    found = [text.find(label) for label in labels]
    assert all(i >= 0 for i in found) and found == sorted(found), text
    question = text.find("Is the mortar cracked?")
    images = [i for i in range(len(text)) if text.startswith(marker, i)]
    if backend.layout == "images_first":  # LLaVA's template: every image first, then a numbered legend
        assert images[-1] < found[0] and "Image 1: Reference 1" in text
    else:  # each label right before its own image
        assert all(label < image for label, image in zip(found, images))
        assert found[-1] < images[-1] < question
    assert images[-1] < question < text.rfind('"correctness"')


def test_labels_match_the_images_they_precede(real_backend):
    """Interleaved families: between two image markers there is exactly the next image's label."""
    text = real_backend("qwen2_5_vl").render(inspection_messages(k=2))
    chunks = text.split("<|vision_start|>")[1:]
    assert [("Reference 2" in c, "Image to inspect" in c, "Anomaly map" in c) for c in chunks[:3]] == \
        [(True, False, False), (False, True, False), (False, False, True)]
    assert text.startswith("<|im_start|>system\n")


@pytest.mark.parametrize("family", FAMILIES)
def test_image_token_counts_are_the_real_processors(real_backend, family):
    backend = real_backend(family)
    one = [user(ImagePart(brick(300), "Image to inspect"), "Defective?")]
    assert image_token_count(backend, one) == IMAGE_TOKENS_300[family]
    assert backend.count_tokens(one) == backend.encode(one)["input_ids"].shape[1]
    four = inspection_messages(k=2)
    assert image_token_count(backend, four) == 4 * IMAGE_TOKENS_300[family]


@pytest.mark.parametrize("family", FAMILIES)
def test_the_real_tokenizer_spells_the_value_digit_as_a_recorded_token(real_backend, family):
    """The digit of `"correctness": 0` is one token whose id the value-logits recorder watches."""
    from assistant.vlm.value_logits import digit_pairs, value_step

    tokenizer = real_backend(family).tokenizer
    ids = tokenizer.encode('{"reasoning": "ok", "correctness": 0}', add_special_tokens=False)
    step = value_step(tokenizer, ids)
    watched = {i for pair in digit_pairs(tokenizer) for i in pair}
    assert step is not None and ids[step] in watched
    assert tokenizer.decode(ids[step:step + 1]).strip() == "0"
    spelled = tokenizer.convert_ids_to_tokens(ids[step - 1:step + 1])
    if family == "llava":  # SentencePiece: " 0" is "▁" then "0", two tokens
        assert spelled == ["▁", "0"]
    else:  # byte-level BPE: the space goes with the previous token or stands alone, "0" is its own token
        assert spelled[-1] == "0"


def _forward_p_anomalous(backend, messages, budget: int) -> tuple[float, object]:
    """P(correctness=0) recomputed by a forward pass over prompt + the guided answer up to the value token."""
    import torch

    from assistant.vlm.value_logits import digit_pairs, value_step

    inputs = backend.encode(messages)
    with torch.inference_mode():
        output = backend.model.generate(**inputs, generation_config=backend._config(budget),
                                        logits_processor=backend.guided_json().processors(budget))
    new_ids = output[0, inputs["input_ids"].shape[1]:]
    step = value_step(backend.tokenizer, new_ids.tolist())
    answer = new_ids[None, :step]
    prefix = {key: torch.cat([value, answer if key == "input_ids" else torch.zeros_like(answer)], dim=1)
              if key.endswith("ids") else value for key, value in inputs.items()}  # mm_token_type_ids: 0 = text
    prefix["attention_mask"] = torch.ones_like(prefix["input_ids"])
    with torch.inference_mode():
        logits = backend.model(**prefix).logits[0, -1]
    token = int(new_ids[step])
    zero, one = next(pair for pair in digit_pairs(backend.tokenizer) if token in pair)
    return torch.softmax(logits[[zero, one]], dim=0)[0].item(), new_ids


@pytest.mark.parametrize("family", FAMILIES)
def test_guided_json_and_p_anomalous_from_the_value_logits(guided, real_backend, family):
    backend = real_backend(family)
    messages = inspection_messages(k=1)
    generation = backend.generate(messages, max_new_tokens=48, guided=True)
    jsonschema.validate(json.loads(generation.text), MODEL_SCHEMA)
    expected, _ = _forward_p_anomalous(backend, messages, 48)
    assert generation.p_anomalous == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("family", FAMILIES)
def test_budget_guard_closes_the_json_within_the_budget(guided, real_backend, family):
    from assistant.vlm.guided_json import MIN_GUIDED_TOKENS

    backend = real_backend(family)
    messages = [user(ImagePart(brick(300), "Image to inspect"), "Defective? Answer in JSON.")]
    for budget in (MIN_GUIDED_TOKENS, MIN_GUIDED_TOKENS + 9):
        generation = backend.generate(messages, max_new_tokens=budget, guided=True)
        answer = json.loads(generation.text)
        jsonschema.validate(answer, MODEL_SCHEMA)
        assert generation.n_tokens <= budget and generation.p_anomalous is not None


@pytest.mark.parametrize("family", FAMILIES)
def test_streaming_gives_the_generated_text(real_backend, family):
    backend = real_backend(family)
    messages = [user(ImagePart(brick(300), "Image to inspect"), "Describe the surface.")]
    generation = backend.generate(messages, max_new_tokens=10)
    assert "".join(backend.stream(messages, max_new_tokens=10)) == generation.text


def test_a_qwen2_vl_config_whose_merger_width_differs_from_the_text_width_is_refused(real_model_dir, tmp_path):
    """The cause of "Image features and image tokens do not match, tokens: 324, features: 324": a tiny
    Qwen2-VL built with the real vision_config.hidden_size (1536, the merger's output) and a shrunk text
    width. Refused at load with what is wrong, instead of an internal error at the first image."""
    import shutil

    from assistant.vlm.model_check import check_model_dir, report_lines
    from assistant.vlm.preset import ModelPreset
    from assistant.vlm.transformers_backend import TransformersBackend
    from retrieval.errors import ConfigError

    folder = shutil.copytree(real_model_dir("qwen2_vl"), tmp_path / "qwen2_vl_bad")
    config = json.loads((folder / "config.json").read_text())
    config["vision_config"]["hidden_size"] = 1536
    (folder / "config.json").write_text(json.dumps(config))
    report = check_model_dir(folder)
    assert report.complete and "vision_config.hidden_size is 1536" in report.problems[0]
    assert any(line.startswith("  problem: ") for line in report_lines(report))
    with pytest.raises(ConfigError, match=r"vision_config.hidden_size is 1536 but the text model's hidden_size is 64"):
        TransformersBackend.load(ModelPreset(name="bad", path=str(folder), device_map="cpu"))


DECLARED_WINDOWS = {"qwen2_vl": 512, "qwen2_5_vl": 128000, "qwen3_vl": 262144, "smolvlm": 8192, "llava": 4096}


@pytest.mark.parametrize("family", FAMILIES)
def test_context_window_is_what_the_folder_declares(real_backend, family):
    """min(config max_position_embeddings, tokenizer model_max_length); Qwen2-VL-2B's config was edited
    to 512 by its source (its tokenizer still says 32768): the smaller declared value is kept."""
    assert real_backend(family).context_tokens == DECLARED_WINDOWS[family]


def test_configured_context_window_wins(real_model_dir):
    from assistant.vlm.preset import ModelPreset
    from assistant.vlm.transformers_backend import TransformersBackend

    preset = ModelPreset(name="q", path=str(real_model_dir("qwen2_vl")), device_map="cpu", context_tokens=32768)
    assert TransformersBackend.load(preset).context_tokens == 32768
