"""Video end to end (issue 15): normal clips ingested by `normalcy ingest` (their sampled frames become the
class's references), a clip where an object appears from 2 s to 4 s inspected by `normalcy inspect --json`:
every sampled frame is scored against the references, and the verdict lists the anomalous frames by time."""

import json

import pytest
from test_video_modality import _write

from ui.cli import main

pytest.importorskip("av")


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    (root / "train").mkdir()
    for k in range(3):
        _write(root / "train" / f"calm_{k}.mp4", "static", noise_seed=k)
    _write(root / "object.mp4", "both", noise_seed=10)
    _write(root / "calm.mkv", "static", noise_seed=11)
    home = root / "home"
    assert main(["--home", str(home), "ingest", str(root / "train"), "--class", "hall"]) == 0
    return root, home


def inspect(home, path, capsys) -> dict:
    capsys.readouterr()
    assert main(["--home", str(home), "inspect", str(path), "--class", "hall", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_frames_with_the_object_are_named_by_time(clips, capsys):
    root, home = clips
    calm, found = inspect(home, root / "calm.mkv", capsys), inspect(home, root / "object.mp4", capsys)
    assert calm["modality"] == found["modality"] == "video"
    assert calm["correctness"] == 1 and calm["location"]["frames"] == []
    assert found["correctness"] == 0
    flagged = found["location"]["frames"]
    assert all(f["score"] >= 1 for f in flagged) and found["location"]["time_range"] == [flagged[0]["t"],
                                                                                         flagged[-1]["t"]]
    with_object = [f for f in flagged if 2.0 <= f["t"] < 4.0]
    assert len(with_object) >= 5 and 2.0 <= found["location"]["worst_frame"]["t"] < 4.0
    others = [f["score"] for f in flagged if not 2.0 <= f["t"] < 4.0]
    assert min(f["score"] for f in with_object) > 1.5 > max(others, default=0)   # the object, far over the limit
    assert "In the video: anomalous frames at " in found["reasoning"]
    logged = [json.loads(line) for p in (home / "runs").glob("*.jsonl") for line in p.open()
              if '"inspection"' in line]
    assert (home / "runs" / "images" / f"{logged[-1]['frame_sheet']}.png").is_file()


def test_the_class_holds_videos_only(clips, capsys, texture_set):
    root, home = clips
    profile = json.loads((home / "modality_profiles.json").read_text())["hall"]
    assert profile["modality"] == "video" and profile["fitted_on"] == 3
    photo = sorted((texture_set / "test" / "good").glob("*.png"))[0]
    assert main(["--home", str(home), "inspect", str(photo), "--class", "hall"]) == 2
    assert "holds video references" in capsys.readouterr().err
    fake = root / "fake.mp4"
    fake.write_text("not a video")
    assert main(["--home", str(home), "inspect", str(fake), "--class", "hall"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "fake.mp4" in err


ANSWER = '{"reasoning": "A red square is in the hall.", "correctness": 0}'


def _inspector(home, context_tokens=None):
    from scripted_backend import ScriptedBackend

    from assistant.config import NormalcyConfig
    from assistant.home import Home
    from assistant.inspector import Inspector

    backend = ScriptedBackend([ANSWER, "From 2 s to 4 s."], context_tokens=context_tokens)
    return Inspector(NormalcyConfig(), Home(home), backend=backend), backend


def _image_parts(message):
    from assistant.vlm.messages import ImagePart

    return [part for part in message.parts if isinstance(part, ImagePart)]


def _same(a, b) -> bool:
    return a.size == b.size and a.tobytes() == b.tobytes()


def _sheet_index(message, sheet) -> int | None:
    return next((i for i, part in enumerate(_image_parts(message)) if _same(part.image, sheet)), None)


def test_the_model_is_shown_the_frame_sheet_right_after_the_worst_frame(clips, ready_home, texture_set):
    root, home = clips
    inspector, backend = _inspector(home)
    inspection = inspector.inspect(root / "object.mp4", "hall")
    sheet = inspection.evidence.query.rendered.sheet
    prompt = backend.calls[0]["messages"][1]
    images = _image_parts(prompt)
    query = next(i for i, part in enumerate(images) if _same(part.image, inspection.evidence.query.image))
    assert _sheet_index(prompt, sheet) == query + 1 and len(images) == 5       # 2 references, query, sheet, overlay
    assert images[query + 1].label.startswith("Frame sheet of the video")
    assert "score (1.00 = the class limit" in prompt.text and "outlined in red" in prompt.text
    assert "followed by the frame sheet of that video, and the last image is the anomaly map overlay" in prompt.text
    photo, (still_inspector, still_backend) = sorted((texture_set / "test" / "defect").glob("*.png"))[0], \
        _inspector(ready_home.root)
    still_inspector.inspect(photo, "brick", log=False)
    still = still_backend.calls[0]["messages"][1]
    assert "Frame sheet" not in still.text and "frame sheet" not in still.text and len(still.images) == 4


def test_follow_ups_keep_the_frame_sheet_live_and_reopened(clips):
    root, home = clips
    inspector, backend = _inspector(home)
    inspection = inspector.inspect(root / "object.mp4", "hall")
    sheet = inspection.evidence.query.rendered.sheet
    assert "".join(inspector.ask(inspection, "When does the object appear?")) == "From 2 s to 4 s."
    asked = backend.calls[-1]["messages"]
    assert asked[-1].text.startswith("When does the object appear?") and _sheet_index(asked[1], sheet) is not None
    reopened_inspector, reopened_backend = _inspector(home)
    reopened = reopened_inspector.reopen(inspection.id)
    "".join(reopened_inspector.ask(reopened, "And after 4 s?"))
    resent = reopened_backend.calls[-1]["messages"]
    assert _sheet_index(resent[1], sheet) is not None and resent[2].text.startswith('{"reasoning"')


def test_the_sheet_takes_a_references_place_when_the_prompt_would_not_fit(clips):
    from assistant.reasoning.conversation import estimate_tokens

    root, home = clips
    inspector, backend = _inspector(home)
    inspector.inspect(root / "object.mp4", "hall", log=False)
    needed = estimate_tokens(backend.calls[0]["messages"])
    tight, tight_backend = _inspector(home, context_tokens=needed + 512 - 1)    # 512: the answer's room
    inspection = tight.inspect(root / "object.mp4", "hall", log=False)
    prompt = tight_backend.calls[0]["messages"]
    assert len(prompt[1].images) == 4 and "The first 1 images are normal references" in prompt[1].text
    assert _sheet_index(prompt[1], inspection.evidence.query.rendered.sheet) is not None
    assert estimate_tokens(prompt) <= needed + 512 - 1 - 512


def test_the_worst_frame_is_gathered_once(clips, monkeypatch):
    root, home = clips
    inspector, _ = _inspector(home)
    inspector.inspect(root / "object.mp4", "hall", log=False)        # the class calibrated (it scores references)
    grids = []
    scored = inspector.scorer.score_grid
    monkeypatch.setattr(inspector.scorer, "score_grid", lambda *a, **kw: grids.append(1) or scored(*a, **kw))
    inspection = inspector.inspect(root / "object.mp4", "hall", log=False)
    frames = inspection.evidence.query.rendered.scores["frame_scores"]
    assert len(grids) == len(frames) and inspection.evidence.rules          # one map per frame; rules added
    again = inspector.gather(inspection.evidence.query, "hall")             # regenerate: gathered anew
    assert len(grids) == len(frames) + 1
    assert again.anomaly_score == pytest.approx(inspection.evidence.anomaly_score, rel=1e-6)
    assert again.anomaly_score == pytest.approx(max(frames), abs=1e-4)


def test_the_chat_shows_the_frame_sheet_with_the_verdict_live_and_reopened(clips, tmp_path):
    from PIL import Image

    from assistant.config import NormalcyConfig
    from assistant.home import Home
    from assistant.inspector import Inspector
    from ui.chat_handlers import ChatHandlers
    from ui.chat_state import ChatState
    from ui.history_tab import HistoryView
    from ui.image_folder import ImageFolder

    root, home = clips
    inspector, images = Inspector(NormalcyConfig(), Home(home)), ImageFolder(tmp_path / "shown")
    message = {"text": "", "files": [str(root / "object.mp4")]}
    chat, _, state, *_ = list(ChatHandlers(inspector, images).send_message(message, ChatState(owner="v1"), "hall",
                                                                           ["rules", "overlay"], 2, "heatmap"))[-1]
    text, shown = chat[-1]["content"]
    assert text.startswith("Class: **hall** · inspected the video render of **object") and "**FAIL**" in text
    sheet = inspector.history.get(state.inspection_id).record["frame_sheet"]
    with Image.open(shown["path"]) as published, Image.open(inspector.log.image_path(sheet)) as logged:
        assert _same(published.convert("RGB"), logged.convert("RGB"))
    reopened = HistoryView(Inspector(NormalcyConfig(), Home(home)), images).reopen_inspection(state.inspection_id,
                                                                                               ChatState(owner="v1"))
    text, shown = reopened[0][1]["content"]
    assert text.startswith("Reopened inspection") and Image.open(shown["path"]).size == Image.open(
        inspector.log.image_path(sheet)).size
