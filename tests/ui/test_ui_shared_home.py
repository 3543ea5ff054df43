"""One home, many processes: `normalcy serve` keeps inspecting while CLI processes ingest and add rules
on the same home, and two CLIs ingesting at once leave both classes whole (retrieval/store_lock.py).

Before the store lock, the server's Chroma client kept its index in memory and every web inspection
after a CLI write failed with "Error finding id" until the server was restarted."""

import json
import signal
import subprocess
import sys

import numpy as np
import pytest
from cli_runner import run_cli
from PIL import Image
from ui_test_tools import copy_home, free_port, wait_until_served


def _texture_folder(folder, name: str, n: int = 8):
    import skimage.data

    from assistant.demo.synthetic_defect import tiles

    folder.mkdir(parents=True)
    image = getattr(skimage.data, name)()
    image = image if image.ndim == 3 else np.stack([image] * 3, axis=-1)
    for i, tile in enumerate(tiles(image, 96)[:n]):
        Image.fromarray(tile).save(folder / f"{name}_{i:02d}.png")
    return folder


def _serve(home, port: int):
    command = [sys.executable, "-m", "ui.cli", "--home", str(home.root), "serve", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until_served(f"http://127.0.0.1:{port}/", process)
    except AssertionError:
        process.kill()
        raise
    return process


def _inspect(client, image, class_name: str) -> dict:
    from gradio_client import handle_file

    result = client.predict(message={"text": "", "files": [handle_file(str(image))]}, class_choice=class_name,
                            switches=["rules"], reference_count=0, overlay_style="all", api_name="/send_message")
    return json.loads(result[-2])              # the raw verdict, before the error line


@pytest.fixture
def grass(tmp_path):
    return _texture_folder(tmp_path / "grass", "grass")


def test_cli_writes_beside_a_running_server_do_not_blind_it(ready_home, tmp_path, grass, defect_image):
    from gradio_client import Client

    home, port = copy_home(ready_home, tmp_path / "home"), free_port()
    server = _serve(home, port)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False, analytics_enabled=False,
                        download_files=str(tmp_path / "dl"))
        assert _inspect(client, defect_image, "brick")["status"] == "vision_only"
        added = run_cli("--home", str(home.root), "ingest", str(grass), "--class", "grass")
        assert added.returncode == 0, added.stderr
        rule = run_cli("--home", str(home.root), "rules", "add", "A chipped brick corner is a defect.",
                       "--class", "brick", "--kind", "defect")
        assert rule.returncode == 0, rule.stderr
        after = _inspect(client, defect_image, "brick")                # the server's old client is stale
        assert after["status"] == "vision_only" and after["class_name"] == "brick"
        grass_verdict = _inspect(client, sorted(grass.glob("*.png"))[0], "auto")    # found among the CLI's class
        assert grass_verdict["class_name"] == "grass" and len(grass_verdict["references"]) > 0
        rules = json.loads(run_cli("--home", str(home.root), "rules", "list", "--class", "brick", "--json").stdout)
        assert "A chipped brick corner is a defect." in {r["text"] for r in rules}
    finally:
        server.send_signal(signal.SIGINT)
        output = server.communicate(timeout=60)[0]
    assert "Error finding id" not in output


def test_two_clis_ingesting_at_once_keep_both_classes(tmp_path, grass):
    import skimage  # noqa: F401  (the texture folders need it)

    gravel = _texture_folder(tmp_path / "gravel", "gravel")
    home = tmp_path / "shared_home"
    exe = [sys.executable, "-m", "ui.cli", "--home", str(home), "ingest"]
    runs = [subprocess.Popen([*exe, str(folder), "--class", folder.name], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for folder in (grass, gravel)]
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
    listed = run_cli("--home", str(home), "inspect", str(sorted(gravel.glob("*.png"))[0]), "--class", "gravel", "--json")
    assert listed.returncode == 0, listed.stderr
    verdict = json.loads(listed.stdout)
    assert verdict["class_name"] == "gravel" and len(verdict["references"]) > 0
    from assistant.config import NormalcyConfig
    from assistant.home import Home
    from assistant.inspector import Inspector

    assert Inspector(NormalcyConfig(), Home(home)).classes() == {"grass": 8, "gravel": 8}
