"""A point cloud's multi-view sheet end to end (issue 15): PLY plates ingested by `normalcy ingest`, a plate
with a bump inspected by the real Inspector (the embedded encoder, the real prompt builder and session; the
model is `ScriptedBackend`, which records what it is shown). The sheet follows the render in the prompt in
the words of a point cloud, stays in the prompt of follow-ups (live and reopened), is kept in the run log,
is shown in the chat live and reopened from History, and is gone everywhere when `point_cloud.views` is off."""

import json

import numpy as np
import pytest
from point_cloud_writers import plate, write_pcd, write_plates

from assistant.config import NormalcyConfig, PointCloudConfig
from ui.cli import main

ANSWER = '{"reasoning": "A bump stands up on the plate.", "correctness": 0}'
LABEL = "Views of the point cloud the image to inspect is rendered from"
OFF = NormalcyConfig(point_cloud=PointCloudConfig(views=False))


@pytest.fixture(scope="module")
def plates(tmp_path_factory):
    root = tmp_path_factory.mktemp("sheet_plates")
    write_plates(root / "train")
    write_pcd(root / "bump.pcd", plate(bump=0.02, seed=50)[0])
    home = root / "home"
    assert main(["--home", str(home), "ingest", str(root / "train"), "--class", "plate"]) == 0
    return root / "bump.pcd", home


def _inspector(home, config=None, context_tokens=None):
    from scripted_backend import ScriptedBackend

    from assistant.home import Home
    from assistant.inspector import Inspector

    backend = ScriptedBackend([ANSWER, "Near x 0.7."], context_tokens=context_tokens)
    return Inspector(config or NormalcyConfig(), Home(home), backend=backend), backend


def _images(message):
    from assistant.vlm.messages import ImagePart

    return [part for part in message.parts if isinstance(part, ImagePart)]


def _same(a, b) -> bool:
    return a.size == b.size and a.convert("RGB").tobytes() == b.convert("RGB").tobytes()


def _sheet_index(message, sheet) -> int | None:
    return next((i for i, part in enumerate(_images(message)) if _same(part.image, sheet)), None)


def _red_tiles(sheet) -> int:
    """How many of the sheet's four tiles hold red (the region's outline)."""
    from assistant.modalities.contact_sheet import tile_box
    from assistant.modalities.point_cloud_views import CELL

    pixels = np.asarray(sheet).astype(int)
    red = (pixels[..., 0] > 180) & (pixels[..., 1] < 80) & (pixels[..., 2] < 80)
    return sum(red[y0:y1, x0:x1].any() for x0, y0, x1, y1 in (tile_box(i, 2, CELL) for i in range(4)))


def test_the_model_is_shown_the_views_right_after_the_render_and_a_photo_none(plates, ready_home, texture_set):
    bump, home = plates
    inspector, backend = _inspector(home)
    inspection = inspector.inspect(bump, "plate")
    sheet = inspection.evidence.sheet
    assert sheet.modality == "point_cloud" and inspection.verdict.correctness == 0
    assert _red_tiles(sheet.image) == 4 and inspection.evidence.defect_box is not None
    prompt = backend.calls[0]["messages"][1]
    images = _images(prompt)
    query = next(i for i, part in enumerate(images) if _same(part.image, inspection.evidence.query.image))
    assert _sheet_index(prompt, sheet.image) == query + 1 and len(images) == 5   # 2 references, render, views, overlay
    assert images[query + 1].label.startswith(LABEL)
    text = " ".join(prompt.text.split())
    assert "followed by views of that point cloud, and the last image is the anomaly map overlay" in text
    assert "video" not in text and "frame sheet" not in text.lower()
    still_inspector, still_backend = _inspector(ready_home.root)
    still_inspector.inspect(sorted((texture_set / "test" / "defect").glob("*.png"))[0], "brick", log=False)
    still = still_backend.calls[0]["messages"][1]
    assert LABEL not in still.text and "point cloud" not in still.text and len(still.images) == 4


def test_follow_ups_keep_the_views_live_and_reopened_and_the_run_log_keeps_them(plates):
    bump, home = plates
    inspector, backend = _inspector(home)
    inspection = inspector.inspect(bump, "plate")
    sheet = inspection.evidence.sheet.image
    assert "".join(inspector.ask(inspection, "Where is the bump?")) == "Near x 0.7."
    asked = backend.calls[-1]["messages"]
    assert "Where is the bump?" in asked[-1].text and _sheet_index(asked[1], sheet) is not None
    record = inspector.history.get(inspection.id).record
    assert record["modality"] == "point_cloud" and _same(inspector.log.stored_image(record["frame_sheet"]), sheet)
    reopened_inspector, reopened_backend = _inspector(home)
    reopened = reopened_inspector.reopen(inspection.id)
    "".join(reopened_inspector.ask(reopened, "How high is it?"))
    resent = reopened_backend.calls[-1]["messages"]
    assert _sheet_index(resent[1], sheet) is not None and resent[2].text.startswith('{"reasoning"')
    assert _images(resent[1])[_sheet_index(resent[1], sheet)].label.startswith(LABEL)


def test_the_chat_shows_the_views_with_the_verdict_live_and_reopened(plates, tmp_path):
    from PIL import Image

    from assistant.home import Home
    from assistant.inspector import Inspector
    from ui.chat_handlers import ChatHandlers
    from ui.chat_state import ChatState
    from ui.history_tab import HistoryView
    from ui.image_folder import ImageFolder

    bump, home = plates
    inspector, images = Inspector(NormalcyConfig(), Home(home)), ImageFolder(tmp_path / "shown")
    message = {"text": "", "files": [str(bump)]}
    chat, _, state, *_ = list(ChatHandlers(inspector, images).send_message(message, ChatState(owner="p1"), "plate",
                                                                           ["rules", "overlay"], 2, "heatmap"))[-1]
    text, shown = chat[-1]["content"]
    assert r"inspected the point cloud render of **bump\.pcd**" in text and "**FAIL**" in text
    logged = inspector.history.get(state.inspection_id).record["frame_sheet"]
    with Image.open(shown["path"]) as published, Image.open(inspector.log.image_path(logged)) as kept:
        assert _same(published, kept) and _red_tiles(published.convert("RGB")) == 4
    reopened = HistoryView(Inspector(NormalcyConfig(), Home(home)), images).reopen_inspection(state.inspection_id,
                                                                                               ChatState(owner="p1"))
    text, shown = reopened[0][1]["content"]
    with Image.open(shown["path"]) as published, Image.open(inspector.log.image_path(logged)) as kept:
        assert text.startswith("Reopened inspection") and _same(published, kept)


def test_switched_off_the_views_are_in_no_prompt_log_or_chat(plates, tmp_path):
    from ui.chat_handlers import ChatHandlers
    from ui.chat_state import ChatState
    from ui.image_folder import ImageFolder

    bump, home = plates
    inspector, backend = _inspector(home, OFF)
    inspection = inspector.inspect(bump, "plate")
    prompt = backend.calls[0]["messages"][1]
    assert inspection.evidence.sheet is None and len(prompt.images) == 4 and LABEL not in prompt.text
    assert "frame_sheet" not in inspector.history.get(inspection.id).record
    plain, _ = _inspector(home, OFF)
    chat, *_ = list(ChatHandlers(plain, ImageFolder(tmp_path / "shown")).send_message(
        {"text": "", "files": [str(bump)]}, ChatState(owner="p2"), "plate", ["rules", "overlay"], 2, "heatmap"))[-1]
    assert isinstance(chat[-1]["content"], str)                       # the verdict's text alone


def test_the_views_give_way_before_any_reference_when_the_prompt_would_not_fit(plates):
    from assistant.reasoning.conversation import estimate_tokens

    bump, home = plates
    inspector, backend = _inspector(home, OFF)
    inspector.inspect(bump, "plate", log=False)
    without = estimate_tokens(backend.calls[0]["messages"])
    tight, tight_backend = _inspector(home, context_tokens=without + 512)       # 512: the answer's room
    inspection = tight.inspect(bump, "plate", log=False)
    prompt = tight_backend.calls[0]["messages"][1]
    assert len(prompt.images) == 4 and "The first 2 images are normal references" in prompt.text
    assert _sheet_index(prompt, inspection.evidence.sheet.image) is None and LABEL not in prompt.text
    roomy, roomy_backend = _inspector(home)
    roomy.inspect(bump, "plate", log=False)
    assert len(roomy_backend.calls[0]["messages"][1].images) == 5


def test_the_cli_verdict_of_a_cloud_is_unchanged_by_its_views(plates, capsys):
    bump, home = plates
    verdicts = []
    for setting in ("on", "off"):
        config = home.parent / f"views_{setting}.yaml"
        config.write_text(f"point_cloud: {{views: {str(setting == 'on').lower()}}}\n")
        capsys.readouterr()
        assert main(["--home", str(home), "--config", str(config), "inspect", str(bump), "--class", "plate",
                     "--json"]) == 0
        verdicts.append(json.loads(capsys.readouterr().out))
    on, off = verdicts
    assert on["anomaly_score"] == off["anomaly_score"] and on["location"] == off["location"]
