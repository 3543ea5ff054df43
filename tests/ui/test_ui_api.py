"""The app's API through gradio_client: endpoints named after the handlers, an inspection, feedback and
a report over HTTP, and requests queueing (not failing) when several arrive at once."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

ALL_ON = ["class context", "rules", "overlay"]
ENDPOINTS = {"/send_message", "/look_closer", "/regenerate", "/new_inspection", "/show_overlay", "/thumbs_up",
             "/thumbs_down", "/request_accept", "/confirm_accept", "/export_report", "/list_history",
             "/reopen_inspection", "/list_rules", "/pick_rule", "/save_rule", "/delete_rule"}


@pytest.fixture
def client(served_app, tmp_path):
    from gradio_client import Client

    return Client(served_app, verbose=False, analytics_enabled=False, download_files=str(tmp_path))


def _send(client, text, files=()):
    return client.predict(message={"text": text, "files": list(files)}, class_choice="brick", switches=ALL_ON,
                          reference_count=2, overlay_style="heatmap", api_name="/send_message")


def _inspect(client, image, question="is the mortar cracked?"):
    from gradio_client import handle_file

    return _send(client, question, [handle_file(str(image))])


def test_endpoints_are_named_after_the_handlers(client):
    api = client.view_api(return_format="dict", print_info=False)
    assert ENDPOINTS <= set(api["named_endpoints"])
    assert not api["unnamed_endpoints"]
    assert "state" not in json.dumps(api["named_endpoints"]["/send_message"]["parameters"])


def test_inspect_follow_up_feedback_and_report_over_the_api(client, defect_image, ui_inspector):
    chat, _, note, card, overlay, gallery, rules, raw, error = _inspect(client, defect_image)
    verdict = json.loads(raw)
    assert verdict["status"] == "vision_only" and verdict["class_name"] == "brick" and len(gallery) == 8
    answer = _send(client, "where exactly?")[0]
    assert answer[-1]["content"][0]["text"].startswith(("The defect region is the verdict", "No region is over"))
    assert "wrong" in client.predict(label="normal", comment="api check", api_name="/thumbs_down")
    report = client.predict(api_name="/export_report")[0]
    assert open(report, encoding="utf-8").read().count("data:image/png;base64,") >= 10
    rows = client.predict(api_name="/list_history")[0]["data"]
    newest = [r["id"] for r in ui_inspector.log.records() if r["kind"] == "inspection"][-1]
    assert rows[0][2] == newest, "no logins: History lists every inspection in the home, newest first"
    feedback = [r for r in ui_inspector.log.records() if r["kind"] == "feedback" and r["comment"] == "api check"]
    assert feedback and feedback[0]["inspection"] == rows[0][2]


def test_requests_queue_instead_of_failing(served_app, defect_image, good_image, tmp_path):
    from gradio_client import Client

    clients = [Client(served_app, verbose=False, analytics_enabled=False, download_files=str(tmp_path))
               for _ in range(3)]
    images = [defect_image, good_image, defect_image]
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda pair: _inspect(*pair), zip(clients, images)))
    ids = [json.loads(result[-2])["image_sha256"] for result in results]       # the raw verdict
    assert len(results) == 3 and ids[0] == ids[2] != ids[1]
