"""What one chat session holds in the server: the bytes of its `gr.State` and of Gradio's whole per-session
record (state + the per-session copies of component configs), after an inspection and two follow-ups.

    .venv/bin/python bench/session_bytes.py [--sessions 4]

Builds the load test's data home (bench/load.py: class `brick`, 96-px tiles), serves the app in this
process on loopback, plays `--sessions` API clients one after another and keeps them connected; prints
per session the bytes held (ui/held_bytes.py), what the server's inspection cache holds, then closes the
clients and says how many sessions the server still holds once it has noticed (its heartbeat).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import QUESTIONS, make_parts  # noqa: E402


def _session(url: str, part: Path, downloads: Path):
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False, analytics_enabled=False, download_files=str(downloads))
    ask = dict(class_choice="auto", switches=["rules"], reference_count=2, overlay_style="heatmap",
               api_name="/send_message")
    client.predict(message={"text": "is this part defective?", "files": [handle_file(str(part))]}, **ask)
    for question in QUESTIONS:
        client.predict(message={"text": question, "files": []}, **ask)
    return client


def held(app) -> dict:
    from ui.held_bytes import held_bytes

    shared = [app, app.state_holder, app.default_config, *app.blocks.values(), app.inspections]
    sessions = list(app.state_holder.session_data.values())
    each = [{"state_bytes": sum(held_bytes(v, shared) for v in session.state_data.values()),
             "session_bytes": held_bytes(session, shared)} for session in sessions]
    marginal = held_bytes(sessions, shared) - held_bytes(sessions[:-1], shared) if len(sessions) > 1 else None
    kept = app.inspections.kept()
    return {"sessions": each, "marginal_session_bytes": marginal,
            "inspection_cache": {"entries": len(kept), "bytes": held_bytes(kept, [app.inspections.inspector])}}


def measure(sessions: int) -> dict:
    from assistant.config import NormalcyConfig
    from assistant.home import Home
    from assistant.inspector import Inspector
    from ui.chat_app import create_app, launch

    work = Path(tempfile.mkdtemp(prefix="normalcy-session-bytes-"))
    train, parts = make_parts(work / "data")
    inspector = Inspector(NormalcyConfig(), Home(work / "home"))
    inspector.references.ingest([("brick", p) for p in sorted(train.glob("*.png"))])
    app = create_app(inspector, work_dir=work / "ui")
    _, url, _ = launch(app, "127.0.0.1", None, block=False, quiet=True)
    try:
        clients = [_session(url, parts[i % len(parts)], work / "dl") for i in range(sessions)]
        result = held(app)
        for client in clients:
            client.close()
        deadline = time.monotonic() + 60
        while app.state_holder.session_data and time.monotonic() < deadline:
            time.sleep(1)
        result["sessions_held_after_close"] = len(app.state_holder.session_data)
        return result
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=4, choices=range(1, 65), metavar="1..64")
    print(json.dumps(measure(parser.parse_args().sessions), indent=2))


if __name__ == "__main__":
    main()
