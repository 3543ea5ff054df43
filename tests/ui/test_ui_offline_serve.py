"""`normalcy serve` never reaches out: the app runs in a subprocess under the network guard (only
loopback allowed, for the app talking to itself), serves its page and assets, and runs an inspection;
no outbound attempt — version check, analytics, CDN font — may be recorded. Also: the address rules."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from ui_test_tools import copy_home, free_port, wait_until_served

GUARD = Path(__file__).resolve().parent.parent / "network_guard.py"
LOOPBACK = "127.0.0.1,localhost,::1"


def _fetch_page_and_assets(url: str) -> int:
    page = httpx.get(url, timeout=10)
    assets = re.findall(r'(?:src|href)="(\./assets/[^"]+|/[^"/][^"]*)"', page.text)
    for asset in assets:
        assert httpx.get(url + asset.lstrip("./").lstrip("/"), timeout=10).status_code == 200, asset
    assert httpx.get(url + "config", timeout=10).status_code == 200
    return len(assets)


def test_serving_a_page_and_an_inspection_make_no_outbound_attempt(ready_home, tmp_path, defect_image):
    from gradio_client import Client, handle_file

    home, log, port = copy_home(ready_home, tmp_path / "home"), tmp_path / "net.log", free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [sys.executable, str(GUARD), str(log), "ui.cli:main", "--home", str(home.root), "serve",
               "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "NETWORK_GUARD_ALLOW": LOOPBACK})
    try:
        wait_until_served(url, process)
        assert _fetch_page_and_assets(url) >= 2
        client = Client(url, verbose=False, analytics_enabled=False, download_files=str(tmp_path / "dl"))
        result = client.predict(message={"text": "cracked?", "files": [handle_file(str(defect_image))]},
                                class_choice="auto", switches=["rules"], reference_count=2, overlay_style="all",
                                api_name="/send_message")
        assert '"status": "vision_only"' in result[-2]       # the raw verdict, before the error line
    finally:
        process.send_signal(signal.SIGINT)                # Ctrl+C: the server closes and cleans up
        output = process.communicate(timeout=30)[0]
    assert not log.exists(), f"outbound attempts: {log.read_text()}\n{output}"
    assert process.returncode == 0, output


def test_binding_beyond_loopback_needs_logins(tmp_path):
    from cli_runner import run_cli

    refused = run_cli("--home", str(tmp_path / "home"), "serve", "--host", "0.0.0.0", env={"NORMALCY_AUTH": ""})
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "--auth-file" in refused.stderr and "NORMALCY_AUTH" in refused.stderr
    bad = tmp_path / "logins.txt"
    bad.write_text("# no password here\nalice\n")
    broken = run_cli("--home", str(tmp_path / "home"), "serve", "--host", "0.0.0.0", "--auth-file", str(bad))
    assert broken.returncode == 2 and "line 2: expected user:password" in broken.stderr


def test_the_guard_lets_only_the_allowed_loopback_through(tmp_path):
    import socket

    log, probe = tmp_path / "net.log", tmp_path / "probe.py"
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        probe.write_text(
            "import socket, urllib.request\n"
            f"socket.create_connection(('127.0.0.1', {server.getsockname()[1]}), timeout=5).close()\n"
            "urllib.request.urlopen('http://example.com', timeout=2)\n")
        done = subprocess.run([sys.executable, str(GUARD), str(log), str(probe)], capture_output=True, text=True,
                              timeout=60, env={**os.environ, "NETWORK_GUARD_ALLOW": LOOPBACK})
    assert done.returncode != 0 and log.read_text().splitlines() == ["create_connection ('example.com', 80)"]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_server_leaves_no_temp_folder_behind(ready_home, tmp_path, defect_image, stop):
    """Shown images, reports and Gradio's copies of uploads all live in the server's work folder, which
    is removed when it is stopped by SIGTERM (a service manager) as well as by SIGINT (Ctrl+C)."""
    from gradio_client import Client, handle_file

    home, temp, port = copy_home(ready_home, tmp_path / "home"), tmp_path / "tmp", free_port()
    temp.mkdir()
    url = f"http://127.0.0.1:{port}/"
    process = subprocess.Popen([sys.executable, "-m", "ui.cli", "--home", str(home.root), "serve", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "TMPDIR": str(temp)})
    try:
        wait_until_served(url, process)
        client = Client(url, verbose=False, analytics_enabled=False, download_files=str(tmp_path / "dl"))
        client.predict(message={"text": "", "files": [handle_file(str(defect_image))]}, class_choice="brick",
                       switches=["rules"], reference_count=2, overlay_style="all", api_name="/send_message")
        during = [p.name for p in temp.iterdir()]
        assert any(n.startswith("normalcy-ui-") for n in during) and "gradio" not in during, during
    finally:
        process.send_signal(stop)
        output = process.communicate(timeout=60)[0]
    assert process.returncode == 0, output
    left = [p.name for p in temp.iterdir() if p.name.startswith(("normalcy-ui-", "gradio"))]
    assert not left, f"left behind after {stop.name}: {left}"
