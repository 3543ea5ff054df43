"""What a session keeps in the server (ui/inspection_cache.py): its `gr.State` holds only small values,
the inspections live in one bounded cache, a follow-up on an evicted inspection still answers (reopened
from the run log), and a closed session is released at once — its state, its cache entry and Gradio's
record of it — instead of staying for Gradio's hour (bench/load.py: memory grew with the sessions)."""

import time

import pytest
from PIL import Image

from ui.chat_handlers import ChatHandlers
from ui.chat_state import ChatState
from ui.held_bytes import held_bytes
from ui.inspection_cache import InspectionCache
from ui.markdown_text import literal

STATE_BOUND = 64 * 1024     # ids, the logged record, transcript and panel paths: ~27 kB measured; an image is more


def _send(handlers, state, text, image=None):
    message = {"text": text, "files": [str(image)] if image else []}
    return list(handlers.send_message(message, state, "brick", ["rules"], 2, "heatmap"))[-1]


@pytest.fixture
def large_part(defect_image, tmp_path):
    """The defect tile enlarged to 384 × 384: its decoded pixels alone are 442 kB."""
    path = tmp_path / "large_part.png"
    with Image.open(defect_image) as tile:
        tile.resize((384, 384), Image.Resampling.NEAREST).save(path)
    return path


def test_a_sessions_state_after_an_inspection_and_a_follow_up_is_small(ui_inspector, large_part, images):
    handlers = ChatHandlers(ui_inspector, images)
    state = _send(handlers, ChatState(owner="mem1"), "is it cracked?", large_part)[2]
    state = _send(handlers, state, "where is the defect?")[2]
    assert state.inspection_id is not None and len(state.chat) == 4
    assert held_bytes(state) < STATE_BOUND, f"the state holds {held_bytes(state)} bytes"
    inspection = handlers.inspections.cached(state)
    assert inspection is not None and held_bytes(inspection, [ui_inspector]) > 384 * 384 * 3


def test_a_follow_up_after_eviction_answers_from_the_log_with_the_same_box(ui_inspector, defect_image, good_image,
                                                                           images):
    handlers = ChatHandlers(ui_inspector, images, inspections=InspectionCache(ui_inspector, size=1))
    first = _send(handlers, ChatState(owner="mem2"), "is it cracked?", defect_image)[2]
    before = _send(handlers, first, "where is the defect?")[0][-1]["content"][0]
    other = _send(handlers, ChatState(owner="mem3"), "and this one?", good_image)[2]
    assert handlers.inspections.cached(first) is None and handlers.inspections.cached(other) is not None
    after = _send(handlers, first, "where is the defect?")[0][-1]["content"][0]
    x0, y0, x1, y1 = first.record["verdict"]["defect_box"]
    assert after == before and literal(f"verdict's box, x {x0}-{x1}, y {y0}-{y1} px") in after
    reopened = handlers.inspections.cached(first)
    assert reopened.id == first.inspection_id and [q for q, _ in reopened.turns] == ["where is the defect?"] * 2
    assert handlers.inspections.cached(other) is None, "the cache stays at its size"


def test_a_closed_session_is_released_with_its_inspection(ui_inspector, defect_image, tmp_path):
    from gradio_client import Client, handle_file
    from ui_test_tools import free_port

    from ui.chat_app import create_app, launch

    app = create_app(ui_inspector, work_dir=tmp_path / "ui")
    _, url, _ = launch(app, "127.0.0.1", free_port(), block=False, quiet=True)
    try:
        client = Client(url, verbose=False, analytics_enabled=False, download_files=str(tmp_path / "dl"))
        client.predict(message={"text": "cracked?", "files": [handle_file(str(defect_image))]}, class_choice="brick",
                       switches=["rules"], reference_count=2, overlay_style="heatmap", api_name="/send_message")
        assert client.session_hash in app.state_holder.session_data and len(app.inspections) == 1
        client.close()
        deadline = time.monotonic() + 45
        while client.session_hash in app.state_holder.session_data and time.monotonic() < deadline:
            time.sleep(0.5)
        assert client.session_hash not in app.state_holder.session_data, "the closed session is still held"
        assert len(app.inspections) == 0
    finally:
        app.close()
