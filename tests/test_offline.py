"""Nothing leaves the machine: a full inspection runs in a subprocess with outbound sockets blocked."""

import json
import subprocess
import sys
from pathlib import Path

GUARD = Path(__file__).with_name("network_guard.py")


def _guarded_cli(log, *args):
    return subprocess.run([sys.executable, str(GUARD), str(log), "ui.cli:main", *args],
                          capture_output=True, text=True, timeout=300)


def test_guard_really_blocks(tmp_path):
    log = tmp_path / "net.log"
    probe = tmp_path / "probe.py"
    probe.write_text("import urllib.request; urllib.request.urlopen('http://example.com', timeout=2)")
    done = subprocess.run([sys.executable, str(GUARD), str(log), str(probe)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "example.com" in log.read_text()


def test_ingest_and_inspect_run_with_the_network_blocked(tmp_path, texture_set):
    log = tmp_path / "net.log"
    home = str(tmp_path / "home")
    done = _guarded_cli(log, "--home", home, "ingest", str(texture_set / "train"), "--class", "brick")
    assert done.returncode == 0, done.stderr
    image = sorted((texture_set / "test" / "defect").glob("*.png"))[0]
    done = _guarded_cli(log, "--home", home, "inspect", str(image), "--class", "brick", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "vision_only"
    assert not log.exists(), f"network attempts: {log.read_text()}"
