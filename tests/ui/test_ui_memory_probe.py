"""The memory probe (ui/memory_probe.py) is off unless asked for, and then writes one JSON line per
interval with RSS, the sessions Gradio holds and (with tracing) the allocation sites that grew."""

import json
import time
import tracemalloc
from types import SimpleNamespace

from ui import memory_probe


def test_off_unless_the_variable_is_set(monkeypatch):
    monkeypatch.delenv(memory_probe.PROBE_ENV, raising=False)
    assert memory_probe.start_probe(None) is None


def test_lines_name_rss_sessions_and_what_grew(monkeypatch, tmp_path):
    target = tmp_path / "probe.jsonl"
    monkeypatch.setenv(memory_probe.PROBE_ENV, str(target))
    monkeypatch.setenv(memory_probe.INTERVAL_ENV, "0.3")
    monkeypatch.setenv(memory_probe.TRACE_ENV, "1")
    app = SimpleNamespace(state_holder=SimpleNamespace(session_data={"a": 1, "b": 2}))
    stop = memory_probe.start_probe(app)
    kept = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not target.exists() or len(target.read_text().splitlines()) < 2):
        kept.append(bytearray(1_000_000))          # something that grows between two lines
        time.sleep(0.1)
    stop.set()
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(lines) >= 2 and lines[-1]["sessions"] == 2 and lines[-1]["rss_mb"] > 0
    assert lines[-1]["grown_at"] and lines[-1]["grown_at"][0]["mb"] > 0
    deadline = time.monotonic() + 10
    while tracemalloc.is_tracing() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not tracemalloc.is_tracing(), "stopping the probe stops its tracing"
