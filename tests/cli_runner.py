"""Test tool: run the installed `normalcy` console script in a subprocess."""

import os
import sys
from pathlib import Path


def run_cli(*args: str, env: dict | None = None, timeout: int = 300):
    """Run the installed `normalcy` console script in a subprocess; returns CompletedProcess."""
    import subprocess

    exe = Path(sys.executable).with_name("normalcy")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def run_guarded_cli(log: Path, *args: str, timeout: int = 300):
    """Run `normalcy ARGS` under tests/network_guard.py (every outbound socket refused and logged to `log`)
    and assert nothing tried to reach the network; returns CompletedProcess."""
    import subprocess

    guard = Path(__file__).resolve().parent / "network_guard.py"
    done = subprocess.run([sys.executable, str(guard), str(log), "ui.cli:main", *args],
                          capture_output=True, text=True, timeout=timeout)
    assert not log.exists(), f"network attempts: {log.read_text()}"
    return done
