"""With a model, a "where" or "compare" follow-up gives the model the evidence vision-only mode answers
with — the text and the crops as images: the crop of the box, and for compare the nearest reference's crop
at the same region. Checked on what the tiny real VLM (real processor, real template) is handed."""

import shutil

import pytest

from assistant.config import NormalcyConfig
from assistant.home import Home
from assistant.inspection.follow_up import MODEL_LONGEST, crop, region
from assistant.inspector import Inspector


@pytest.fixture
def home_copy(ready_home, tmp_path):
    target = tmp_path / "home"
    shutil.copytree(ready_home.root, target)
    return Home(target)


def test_where_and_compare_send_the_crops_to_the_model(home_copy, texture_set, tiny_backend, guided, monkeypatch):
    backend = tiny_backend("qwen2_5_vl")
    sent = []
    real_stream = backend.stream

    def spy(messages, **kwargs):                        # records what the real model is handed, then runs it
        sent.append(list(messages))
        yield from real_stream(messages, **kwargs)

    monkeypatch.setattr(backend, "stream", spy)
    inspector = Inspector(NormalcyConfig(), home_copy, backend=backend)
    inspection = inspector.inspect(sorted((texture_set / "test" / "defect").glob("*.png"))[0], "brick")
    evidence = inspection.evidence
    box, _ = region(evidence)
    expected = crop(evidence.query.image, box, longest=MODEL_LONGEST)

    "".join(inspector.ask(inspection, "where exactly is it?"))
    asked = sent[-1][-1]
    assert asked.role == "user" and len(asked.images) == 1
    assert asked.images[0].size == expected.size and asked.images[0].tobytes() == expected.tobytes()
    assert max(asked.images[0].size) <= max(MODEL_LONGEST, *crop(evidence.query.image, box, 1).size)
    assert "The part at x " in asked.text and "where exactly is it?" in asked.text

    "".join(inspector.ask(inspection, "compare with the closest reference"))
    asked = sent[-1][-1]
    nearest = evidence.references[0]
    assert len(asked.images) == 2 and asked.images[0].tobytes() == expected.tobytes()
    assert f"The nearest normal reference {nearest.path.split('/')[-1]} at the same place" in asked.text
    assert asked.images[1].tobytes() != asked.images[0].tobytes()
    first = sent[-1][1]
    assert first.images, "the inspection's own images stay in context"
    assert [len(m.images) for m in inspection.session.history[-4::2]] == [1, 2]    # kept in the model's history
