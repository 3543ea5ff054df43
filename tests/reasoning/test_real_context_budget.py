"""History fitting with exact token counts from a real processor: k = 8 references + query + overlay at
Qwen2.5-VL's default pixel limits (1,369 image tokens per 1024x1024 image), then follow-up turns with
zoomed crops until the conversation no longer fits the configured context window."""

from __future__ import annotations

import pytest

from assistant.reasoning.conversation import Session
from assistant.reasoning.prompt_builder import STRATEGIES, build_messages
from assistant.vlm.messages import ImagePart, assistant, count_images, user

TOKENS_1024 = 1369  # Qwen2.5-VL: 1024 px -> smart_resize 1036 px -> 74x74 patches of 14 px -> 37x37 merged


def _brick(size: int, offset: int = 0):
    import skimage.data
    from PIL import Image

    photo = Image.fromarray(skimage.data.brick()).convert("RGB")
    return photo.crop((offset, offset, offset + 400, offset + 400)).resize((size, size), Image.Resampling.BICUBIC)


@pytest.fixture(scope="module")
def windowed_qwen(real_model_dir):
    """Qwen2.5-VL from the real processor files, its default pixel limits, a configured 16k window."""
    from assistant.vlm.preset import ModelPreset
    from assistant.vlm.transformers_backend import TransformersBackend

    preset = ModelPreset(name="qwen16k", path=str(real_model_dir("qwen2_5_vl")), dtype="float32", device_map="cpu",
                         max_new_tokens=64, context_tokens=16384)
    return TransformersBackend.load(preset)


def test_k8_references_and_follow_ups_are_fitted_to_the_window_by_exact_counts(windowed_qwen):
    backend = windowed_qwen
    query = _brick(1024)
    messages = build_messages(STRATEGIES["overlay"], query=query, class_name="brick", question="Cracked?",
                              references=[_brick(1024, 10 * i) for i in range(1, 9)], overlay=_brick(1024, 5))
    ids = backend.encode(messages)["input_ids"][0]
    assert int((ids == backend.model.config.image_token_id).sum()) == 10 * TOKENS_1024
    session = Session(backend, messages, query)  # as the product builds it: counter and window from the backend
    assert session.context_tokens == 16384 and session.budget == 16384 - 64
    head_tokens = backend.count_tokens(messages)
    assert 10 * TOKENS_1024 < head_tokens < session.budget
    session.history.append(assistant('{"reasoning": "the mortar is intact", "correctness": 1}'))
    for i in range(8):  # zoomed crops: 448 px -> 16x16 = 256 image tokens each
        session.history += [user(ImagePart(_brick(448, 3 * i), "Zoomed region"), f"Look closer, part {i}?"),
                            assistant(f"Region {i} shows regular brick and mortar. " * 4)]
    session.history.append(user("And overall?"))
    assert backend.count_tokens(session.history) > session.budget  # the whole history no longer fits
    sent = session.context()
    assert backend.count_tokens(sent) <= session.budget
    assert sent[:3] == session.history[:3] and count_images(sent[:2]) == 10  # inspection images kept
    assert sent[-1] is session.history[-1] and "were dropped" in sent[3].text
    roles = [m.role for m in sent[1:]]
    assert all(a != b for a, b in zip(roles, roles[1:]))
    note = session.notes[-1]
    assert note.startswith("messages 4-") and "were left out" in note and "context of 16384" in note
    generation = backend.generate(sent, max_new_tokens=4)  # what would be sent runs on the model
    assert generation.n_tokens >= 1
