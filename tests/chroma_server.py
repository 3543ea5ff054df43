"""Test tool: a real `chroma run` on loopback, on a free port, killed at the end; and a data home held
by a process of its own that runs `normalcy` commands sent to it.

`ChromaServer(path)` starts the installed `chroma` console script (telemetry off) and waits for its
heartbeat; `stop()` kills it, `start()` starts it again on the same port and folder.
`HomeProcess(home, config)` is one long-lived Python process per data home (as a line machine's
`normalcy serve` is) that runs the real CLI (`ui.cli.main`) once per `run(...)` call, so two homes are two
processes and each pays the start-up of torch and the encoders once.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORKER = ("import contextlib, io, json, sys\nfrom ui.cli import main\n"
          "import assistant.inspector, chromadb, torch  # noqa: F401  (warm up while the other home works)\n"
          "for line in sys.stdin:\n"
          "    out, err = io.StringIO(), io.StringIO()\n"
          "    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):\n"
          "        rc = main(json.loads(line))\n"
          "    sys.__stdout__.write(json.dumps({'rc': rc, 'out': out.getvalue(), 'err': err.getvalue()}) + '\\n')\n"
          "    sys.__stdout__.flush()\n")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ChromaServer:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.host, self.port = "127.0.0.1", free_port()
        self.process = None
        self.start()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        exe = Path(sys.executable).with_name("chroma")
        log = open(self.path.parent / f"chroma-{self.port}.log", "ab")
        self.process = subprocess.Popen([str(exe), "run", "--path", str(self.path), "--host", self.host,
                                         "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT,
                                        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://{self.address}/api/v2/heartbeat", timeout=1).read()
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"chroma run exited with {self.process.returncode}")
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"chroma run did not answer on {self.address} within {timeout} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def config(self, folder: Path, shared: Path, **extra) -> Path:
        """A YAML config that points a home at this server and the shared folder."""
        import yaml

        data = {"retrieval": {"store": {"host": self.host, "port": self.port, "shared": str(shared)}}, **extra}
        path = Path(folder) / f"server-{len(list(Path(folder).glob('server-*.yaml')))}.yaml"
        path.write_text(yaml.safe_dump(data))
        return path


class HomeProcess:
    def __init__(self, home: Path, config: Path | None = None):
        self.prefix = ["--home", str(home)] + (["--config", str(config)] if config else [])
        self.process = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, cwd=REPO, env=os.environ.copy())

    def run(self, *args: str) -> dict:
        """{"rc", "out", "err"} of `normalcy --home HOME [--config C] ARGS...` run in this home's process."""
        self.process.stdin.write(json.dumps([*self.prefix, *args]) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the process of {self.prefix[1]} died (exit {self.process.wait()})")
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
