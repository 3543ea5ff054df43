"""`normalcy serve` start-up (issue 13 item 9): progress lines while it warms up, and the URL printed only
once the port accepts connections — a connect made the moment the URL line is read succeeds."""

import os
import re
import signal
import socket
import subprocess
import sys
import time

from ui_test_tools import copy_home, free_port

URL_LINE = re.compile(r"^Normalcy chat on http://127\.0\.0\.1:(\d+)\b")


def test_serve_prints_progress_then_the_url_once_the_port_accepts(ready_home, tmp_path):
    home, port = copy_home(ready_home, tmp_path / "home"), free_port()
    command = [sys.executable, "-m", "ui.cli", "--home", str(home.root), "serve", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines, connected = [], None
    try:
        deadline = time.monotonic() + 240
        for line in process.stdout:                     # stderr merged: progress and the URL are on stderr
            lines.append(line.rstrip("\n"))
            found = URL_LINE.match(lines[-1])
            if found:
                with socket.socket() as probe:          # one attempt, right now: no retry, no wait
                    probe.settimeout(2)
                    connected = probe.connect_ex(("127.0.0.1", int(found.group(1))))
                break
            assert time.monotonic() < deadline, f"no URL within 240 s:\n" + "\n".join(lines)
    finally:
        process.send_signal(signal.SIGTERM)
        rest = process.communicate(timeout=60)[0]
    assert connected == 0, f"the URL was printed before port {port} accepted a connection:\n" + "\n".join(lines)
    progress = [line for line in lines[:-1] if line.startswith("warming up: ")]
    assert len(progress) >= 3 and progress[-1] == "warming up: starting the web server", lines
    assert int(URL_LINE.match(lines[-1]).group(1)) == port
    assert process.returncode == 0, rest
