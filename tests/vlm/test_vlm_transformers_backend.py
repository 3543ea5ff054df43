"""The transformers backend on tiny random models of every family, through the real loader."""

from __future__ import annotations

import json
import shutil

import jsonschema
import pytest
from tiny_vlm_factory import BUILDERS
from vlm_test_images import solid

from assistant.verdict import MODEL_SCHEMA
from assistant.vlm.backend import Backend, Generation
from assistant.vlm.messages import ImagePart, system, user
from assistant.vlm.preset import ModelPreset
from assistant.vlm.transformers_backend import TransformersBackend
from retrieval.errors import ConfigError, MissingWeights

FAMILIES = list(BUILDERS)


def _messages(n_images=2):
    images = [ImagePart(solid((40 * i, 90, 160)), f"Reference {i}") for i in range(1, n_images)]
    return [system("You inspect parts."), user(*images, ImagePart(solid((200, 0, 0)), "Image to inspect"),
                                               "Is this part defective?")]


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_loads_generates_and_streams_the_same_text(tiny_backend, family):
    backend = tiny_backend(family)
    assert isinstance(backend, Backend)
    assert backend.family.model_type == family
    generation = backend.generate(_messages(), max_new_tokens=12)
    assert isinstance(generation, Generation) and 1 <= generation.n_tokens <= 12 and generation.seconds > 0
    streamed = "".join(backend.stream(_messages(), max_new_tokens=12))
    assert streamed == generation.text  # greedy: streaming and generate agree


@pytest.mark.parametrize("family", FAMILIES)
def test_guided_decoding_gives_schema_valid_json_from_a_random_model(guided, tiny_backend, family):
    backend = tiny_backend(family)
    for budget in (48, 64, 200):
        generation = backend.generate(_messages(), max_new_tokens=budget, guided=True)
        answer = json.loads(generation.text)
        jsonschema.validate(answer, MODEL_SCHEMA)
        assert generation.n_tokens <= budget
        assert generation.p_anomalous is not None and 0.0 <= generation.p_anomalous <= 1.0


def test_guided_json_survives_many_prompts_and_random_weights(guided, tiny_backend):
    """Different prompts drive a random model to different token paths; all must end as valid JSON."""
    from assistant.vlm.guided_json import RESERVE

    backend = tiny_backend("qwen2_vl")
    closed_by_guard = 0
    for i in range(12):
        messages = [user(ImagePart(solid((i * 20, 255 - i * 20, 7 * i))), f"question {i} " * (i % 4 + 1))]
        budget = 48 + 7 * i
        generation = backend.generate(messages, max_new_tokens=budget, guided=True)
        jsonschema.validate(json.loads(generation.text), MODEL_SCHEMA)
        closed_by_guard += generation.n_tokens > budget - RESERVE
    assert closed_by_guard >= 1  # the budget guard path was exercised, not only self-closing answers


def test_guided_decoding_refuses_a_budget_too_small_for_the_skeleton(guided, tiny_backend):
    with pytest.raises(ConfigError, match="max_new_tokens"):
        tiny_backend("smolvlm").generate(_messages(), max_new_tokens=10, guided=True)


def test_p_anomalous_matches_the_logits_at_the_value_position(guided, tiny_backend):
    """Recompute P(correctness=0) by a forward pass over prompt + answer up to the value token."""
    import torch

    from assistant.vlm.value_logits import digit_pairs, value_step

    backend = tiny_backend("llava")
    generation = backend.generate(_messages(), max_new_tokens=64, guided=True)
    ids = backend.tokenizer.encode(generation.text, add_special_tokens=False)
    inputs = backend.encode(_messages())
    output = backend.model.generate(**inputs, generation_config=backend._config(64),
                                    logits_processor=backend.guided_json().processors(64))
    new_ids = output[0, inputs["input_ids"].shape[1]:]
    step = value_step(backend.tokenizer, new_ids.tolist())
    prefix = torch.cat([inputs["input_ids"], new_ids[None, :step]], dim=1)
    with torch.inference_mode():
        inputs = {**inputs, "input_ids": prefix, "attention_mask": torch.ones_like(prefix)}
        logits = backend.model(**inputs).logits[0, -1]
    zero, one = digit_pairs(backend.tokenizer)[0]
    expected = torch.softmax(logits[[zero, one]], dim=0)[0].item()
    assert ids  # the answer decodes to tokens
    assert generation.p_anomalous == pytest.approx(expected, abs=1e-4)


def test_pixel_limits_go_to_the_qwen_processor_and_resize_images_for_others(tiny_backend):
    qwen = tiny_backend("qwen2_vl")
    assert qwen.processor.image_processor.size.longest_edge == 128 * 128
    llava = tiny_backend("llava")
    big = solid(size=(800, 600))
    content = llava.conversation([user(ImagePart(big), "x")])[0]["content"]
    resized = next(part["image"] for part in content if part["type"] == "image")
    assert resized.width * resized.height <= 128 * 128 and resized.width > resized.height


def test_missing_folder_names_the_path_and_what_to_put_there(tmp_path):
    with pytest.raises(MissingWeights, match="does not exist.*config.json"):
        TransformersBackend.load(ModelPreset(name="x", path=str(tmp_path / "nowhere")))


def test_incomplete_folder_lists_the_missing_files(tiny_model_dirs, tmp_path):
    folder = shutil.copytree(tiny_model_dirs["smolvlm"], tmp_path / "smol")
    (folder / "model.safetensors").unlink()
    (folder / "tokenizer.json").unlink()
    with pytest.raises(MissingWeights, match="model.safetensors.*tokenizer.json") as caught:
        TransformersBackend.load(ModelPreset(name="x", path=str(folder)))
    assert str(folder) in str(caught.value) and "\n" not in str(caught.value)


def test_unsupported_family_is_a_config_error(tiny_model_dirs, tmp_path):
    folder = shutil.copytree(tiny_model_dirs["llava"], tmp_path / "other")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "model_type": "mystery_vl"}))
    with pytest.raises(ConfigError, match="mystery_vl.*supported: qwen2_vl"):
        TransformersBackend.load(ModelPreset(name="x", path=str(folder)))


@pytest.mark.parametrize("bits", ["8bit", "4bit"])
def test_bitsandbytes_quantised_load_runs_on_cpu(tiny_model_dirs, bits):
    """bitsandbytes 0.50 loads and runs 8-bit and 4-bit NF4 on CPU; the vision tower stays full precision."""
    pytest.importorskip("bitsandbytes")
    preset = ModelPreset(name=bits, path=str(tiny_model_dirs["qwen2_vl"]), dtype="float32", device_map="cpu",
                         quantization=bits)
    backend = TransformersBackend.load(preset)
    layer = backend.model.model.language_model.layers[0].mlp.gate_proj
    assert type(layer).__name__ == {"8bit": "Linear8bitLt", "4bit": "Linear4bit"}[bits]
    assert type(backend.model.model.visual.blocks[0].attn.qkv).__name__ == "Linear"
    config = backend.model.config.quantization_config
    assert (config.load_in_4bit, config.bnb_4bit_quant_type) == (True, "nf4") if bits == "4bit" else config.load_in_8bit
    assert backend.generate(_messages(), max_new_tokens=3).n_tokens >= 1


def test_stream_stops_generation_when_the_consumer_stops(tiny_backend):
    backend = tiny_backend("idefics3")
    stream = backend.stream(_messages(), max_new_tokens=64)
    first = next(stream)
    stream.close()  # must return promptly and leave no thread running
    assert isinstance(first, str)


def test_guided_without_xgrammar_says_how_to_install(monkeypatch):
    import sys

    from assistant.vlm.guided_json import _xgrammar

    monkeypatch.setitem(sys.modules, "xgrammar", None)  # as if it were not installed
    with pytest.raises(ConfigError, match="pip install xgrammar==0.2.8"):
        _xgrammar()
