"""`TransformersServer`: `transformers serve` (transformers' own OpenAI-compatible server) on loopback,
serving a local model folder, started and stopped by the test that needs it. A test tool.

Offline by construction: HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE, the CLI's PyPI version check off
(HF_HUB_DISABLE_UPDATE_CHECK), a private HF_HOME, bound to 127.0.0.1 on a free port.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_UPDATE_CHECK": "1",
           "HF_HUB_DISABLE_TELEMETRY": "1", "OMP_NUM_THREADS": "1", "TRANSFORMERS_VERBOSITY": "error"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def missing_reason() -> str | None:
    """Why `transformers serve` cannot run here, or None."""
    import importlib.util

    if not Path(sys.executable).with_name("transformers").exists():
        return "the `transformers` console script is not installed beside this Python"
    absent = [name for name in ("fastapi", "uvicorn", "openai") if importlib.util.find_spec(name) is None]
    return f"transformers serve needs transformers[serving] ({', '.join(absent)} missing)" if absent else None


class TransformersServer:
    """`with TransformersServer(folder, home) as server:` → server.url ("http://127.0.0.1:PORT/v1")."""

    def __init__(self, folder: Path, home: Path, start_timeout_s: float = 120.0):
        self.folder, self.home, self.start_timeout_s = Path(folder), Path(home), start_timeout_s
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log = self.home / f"serve-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        self.home.mkdir(parents=True, exist_ok=True)
        command = [str(Path(sys.executable).with_name("transformers")), "serve", str(self.folder), "--host",
                   "127.0.0.1", "--port", str(self.port), "--device", "cpu", "--dtype", "float32"]
        env = {**os.environ, **OFFLINE, "HF_HOME": str(self.home / "hf")}
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"transformers serve exited ({self.process.returncode}): {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"transformers serve not healthy within {self.start_timeout_s:g} s: {self.log_tail()}")

    def log_tail(self, chars: int = 1500) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def stop(self) -> None:
        """Terminate the server (kill if it does not stop within 10 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __exit__(self, *exc):
        self.stop()
