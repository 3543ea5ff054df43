"""A slow input does not hold up other sessions: while one client's large (allowed) image is being decoded
by a real `normalcy serve`, another client's follow-up question is answered (ui/inspector_queue.py).
Before, every chat event joined one queue that ran one event at a time, so the follow-up waited for the
whole slow inspection."""

import json
import signal
import subprocess
import sys
import threading
import time

import numpy as np
from PIL import Image
from ui_test_tools import copy_home, free_port, wait_until_served

SIDE = 9000      # 81 M pixels of random 1-bit PNG: seconds to decode, under Pillow's own bomb limit


def _big_image(path):
    data = np.random.default_rng(3).bytes(SIDE * SIDE // 8)
    Image.frombytes("1", (SIDE, SIDE), data).save(path, compress_level=1)
    return path


def _send(client, message: dict):
    return client.predict(message=message, class_choice="brick", switches=["rules"], reference_count=0,
                          overlay_style="heatmap", api_name="/send_message")


def test_a_follow_up_is_answered_while_another_session_decodes_a_large_image(ready_home, tmp_path, good_image):
    from gradio_client import Client, handle_file

    home, port = copy_home(ready_home, tmp_path / "home"), free_port()
    config = tmp_path / "large.yaml"
    config.write_text("inputs:\n  max_pixels: 85000000\n  max_decoded_bytes: 1000000000\n")
    big = _big_image(tmp_path / "large.png")
    command = [sys.executable, "-m", "ui.cli", "--home", str(home.root), "--config", str(config), "serve",
               "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until_served(f"http://127.0.0.1:{port}/", server)
        url = f"http://127.0.0.1:{port}/"
        quick, slow = Client(url, verbose=False), Client(url, verbose=False)
        _send(quick, {"text": "", "files": [handle_file(str(good_image))]})
        done = {}

        def inspect_large():
            done["large"] = _send(slow, {"text": "", "files": [handle_file(str(big))]})
            done["large_at"] = time.monotonic()

        worker = threading.Thread(target=inspect_large)
        worker.start()
        time.sleep(1.0)                     # the large upload is in: its decode has started
        answer = _send(quick, {"text": "which rule applies?", "files": []})
        answered_at = time.monotonic()
        worker.join(timeout=300)
        assert "large_at" in done, "the large inspection did not finish"
        assert answered_at < done["large_at"], "the follow-up waited for the other session's slow inspection"
        assert answer[0][-1]["role"] == "assistant" and str(answer[0][-1]["content"]).strip()
        assert json.loads(done["large"][-2])["anomaly_score"] > 0     # the slow one still got its verdict (raw JSON, then the error line)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
