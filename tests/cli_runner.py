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
