"""A stopped `normalcy serve` always ends: a thread that does not finish cannot keep the process (and its
work folder) alive after SIGTERM — its stacks are printed, the work folder is removed, the process exits."""

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent("""
    import os, signal, sys, threading, time
    import ui.serve_command as serve_command

    serve_command.STOP_GRACE_S = 1
    work = sys.argv[1]
    threading.Thread(target=time.sleep, args=(3600,), name="never-ends").start()   # not a daemon
    try:
        with serve_command.stopped_by_signals(work):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)
    except KeyboardInterrupt:
        print("stopping", flush=True)
""")


def test_a_thread_that_never_ends_does_not_keep_a_stopped_server_alive(tmp_path):
    work = tmp_path / "normalcy-ui-x"
    work.mkdir()
    (work / "shown.png").write_bytes(b"x")
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(work)], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert "stopping" in done.stdout and "still not stopped 1 s after the signal" in done.stderr
    assert "never-ends" in done.stderr or "time.sleep" in done.stderr or "Thread" in done.stderr
    assert not work.exists()
