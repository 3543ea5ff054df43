"""Records that stay usable: History through the SQLite index (rebuilt from the JSONL when missing,
damaged or stale; following appends of any process), image retention by count and age (verdict lines
kept), and `normalcy history export` as JSONL / CSV with bad dates as one line, exit 2."""

import csv
import io
import json

import pytest

from assistant.config import RecordsConfig, load_config
from assistant.records.inspection_history import InspectionHistory
from assistant.records.run_log import RunLog
from cli_runner import run_cli
from retrieval.errors import BadInput, ConfigError


def _inspection(i, day="2026-11-20", image=None):
    return {"time": f"{day}T10:{i // 60:02d}:{i % 60:02d}", "kind": "inspection", "id": f"insp-{i}",
            "class": "brick", "question": None, "image": image or f"img{i}", "overlay": f"ovl{i}",
            "source": f"part_{i}.png", "encoder": "synthetic", "config_hash": "c0",
            "verdict": {"anomaly_score": i / 10, "threshold": 1.0, "correctness": int(i % 2 == 0),
                        "status": "vision_only", "reasoning": "r", "references": [], "rules": []}}


def _log(folder, n=5, day="2026-11-20", images=False):
    log = RunLog(folder)
    records = [_inspection(i, day) for i in range(n)]
    log.append_many(records)
    if images:
        log.images.mkdir(parents=True, exist_ok=True)
        for record in records:
            for sha in (record["image"], record["overlay"]):
                log.image_path(sha).write_bytes(b"png")
    return log


def _events(log):
    log.append_many([{"kind": "turn", "inspection": "insp-1", "question": "where?", "answer": "left"},
                     {"kind": "turn", "inspection": "insp-1", "question": "why?", "answer": "crack"},
                     {"kind": "retract", "inspection": "insp-1"},
                     {"kind": "owner", "inspection": "insp-1", "owner": "user:alice"},
                     {"kind": "feedback", "inspection": "insp-2", "rating": "down", "label": "defective"},
                     {"kind": "turn", "inspection": "nobody", "question": "?", "answer": "!"}])


def test_history_lists_and_opens_through_the_index(tmp_path):
    log = _log(tmp_path / "runs")
    _events(log)
    history = InspectionHistory(log)
    assert [p.id for p in history.list()] == [f"insp-{i}" for i in (4, 3, 2, 1, 0)]
    assert [p.summary()["turns"] for p in history.list()] == [0, 0, 0, 1, 0]
    assert [p.id for p in history.list("user:alice")] == ["insp-1"] and history.list("user:bob") == []
    assert [p.id for p in history.list(limit=2)] == ["insp-4", "insp-3"]
    past = history.get("insp-1", "user:alice")
    assert past.turns == [("where?", "left")] and past.record["source"] == "part_1.png"
    assert past.summary() == history.list("user:alice")[0].summary()
    assert history.get("insp-2").feedback[0]["label"] == "defective"
    with pytest.raises(BadInput, match="no inspection"):
        history.get("insp-1", "user:bob")
    assert (tmp_path / "runs" / "index.sqlite3").is_file()


def test_appends_of_another_process_are_seen_and_half_lines_wait(tmp_path):
    history = InspectionHistory(_log(tmp_path / "runs", n=2))
    assert len(history.list()) == 2
    RunLog(tmp_path / "runs").append(_inspection(7))          # another writer of the same log
    path = next((tmp_path / "runs").glob("*.jsonl"))
    with open(path, "a") as handle:
        handle.write('{"kind": "inspection", "id": "half')       # a line still being written
    assert [p.id for p in history.list()] == ["insp-7", "insp-1", "insp-0"]


@pytest.mark.parametrize("damage", ["missing", "garbage", "rewritten"])
def test_a_missing_damaged_or_stale_index_is_rebuilt_from_the_jsonl(tmp_path, damage):
    log = _log(tmp_path / "runs")
    _events(log)
    history = InspectionHistory(log)
    before = [p.summary() for p in history.list()]
    index = tmp_path / "runs" / "index.sqlite3"
    if damage == "missing":
        index.unlink()
    elif damage == "garbage":
        index.write_bytes(b"not a database at all" * 100)
        for extra in index.parent.glob("index.sqlite3-*"):
            extra.unlink()
    else:                                                       # the log was replaced by a shorter one
        path = next((tmp_path / "runs").glob("*.jsonl"))
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join(lines[1:5]))
        before = [s for s in before if s["id"] != "insp-0"]
        before = [dict(s, turns=0) if s["id"] == "insp-1" else s for s in before]
    assert [p.summary() for p in InspectionHistory(log).list()] == before


def test_retention_by_count_keeps_the_verdicts_and_shared_files(tmp_path):
    log = _log(tmp_path / "runs", images=True)
    log.append(_inspection(5, image="img0"))                     # the same image inspected again, newest
    log.retention = RecordsConfig(keep_images=2)
    pruned = InspectionHistory(log).prune()
    assert pruned.inspections == 4                             # insp-0 .. insp-3
    assert not log.image_path("img1").exists() and not log.image_path("ovl0").exists()
    assert log.image_path("img0").exists() and log.image_path("img4").exists()    # img0: used by insp-5
    history = InspectionHistory(log)
    assert len(history.list()) == 6
    old = history.get("insp-1")
    assert old.images_removed and old.verdict["anomaly_score"] == 0.1
    with pytest.raises(BadInput, match="removed by the records retention"):
        old.require_images()
    assert not history.get("insp-4").images_removed
    assert InspectionHistory(log).prune().inspections == 0    # nothing twice


def test_retention_by_age(tmp_path):
    from datetime import datetime

    log = _log(tmp_path / "runs", n=2, day="2026-11-01", images=True)
    log.append_many([_inspection(i, day="2026-11-20") for i in (8, 9)])
    log.retention = RecordsConfig(keep_images_days=7)
    now = datetime(2026, 11, 21, 12, 0).timestamp()
    assert InspectionHistory(log).prune(now=now).inspections == 2
    assert {p.id for p in InspectionHistory(log).list() if InspectionHistory(log).get(p.id).images_removed} == \
        {"insp-0", "insp-1"}


@pytest.mark.parametrize("bad", ["keep_images: -1", "keep_images: 2.5", "keep_images_days: 0",
                                 "keep_images_days: .nan", "keep: 3"])
def test_retention_settings_are_checked_at_load(tmp_path, bad):
    path = tmp_path / "c.yaml"
    path.write_text(f"records:\n  {bad}\n")
    with pytest.raises(ConfigError, match="records"):
        load_config(path)


def test_export_jsonl_and_csv_of_a_date_range(tmp_path):
    home = tmp_path / "home"
    log = _log(home / "runs", n=3, day="2026-11-01")
    log.append_many([_inspection(i, day="2026-11-03") for i in (5, 6)])
    _events(log)
    done = run_cli("--home", str(home), "history", "export", "--since", "2026-11-01", "--until", "2026-11-01")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["insp-0", "insp-1", "insp-2"]
    assert rows[1]["turns"] == [{"question": "where?", "answer": "left"}] and rows[1]["owners"] == ["user:alice"]
    out = tmp_path / "mes.csv"
    done = run_cli("--home", str(home), "history", "export", "--since", "2026-11-02", "--until", "2026-11-03T23:00",
                   "--format", "csv", "--out", str(out))
    assert done.returncode == 0, done.stderr
    table = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["id"], r["verdict"], r["anomaly_score"]) for r in table] == [("insp-5", "FAIL", "0.5"),
                                                                         ("insp-6", "PASS", "0.6")]


@pytest.mark.parametrize("args, message", [
    (["--since", "yesterday", "--until", "2026-11-01"], "--since: 'yesterday' is not a date"),
    (["--since", "2026-11-01", "--until", "2026-13-40"], "--until: '2026-13-40' is not a date"),
    (["--since", "2026-11-05", "--until", "2026-11-01"], "is after --until"),
    (["--since", "2026-11-01", "--until", "2026-11-02", "--format", "xml"], "--format must be one of jsonl, csv"),
])
def test_bad_export_arguments_are_one_line_exit_2(tmp_path, args, message):
    home = tmp_path / "home"
    _log(home / "runs", n=1)
    done = run_cli("--home", str(home), "history", "export", *args)
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert done.stdout == ""
