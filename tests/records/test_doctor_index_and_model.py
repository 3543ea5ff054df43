"""`normalcy doctor` also checks the store's vector index (Chroma's HNSW files) and the model's calibration
file: it names the damage, `--repair` rebuilds the index from the database's records and the cached
features and drops a damaged model calibration, and inspections meeting either damage are one line that
points at the doctor. Real CLI processes on a copy of a real home."""

import json
import subprocess
import sys

import numpy as np
import pytest

from cli_runner import run_cli

# Chroma keeps a collection of under ~1000 records in its log and rebuilds the index from it on every open;
# a sync threshold of 2 makes it write the index files and purge the log, as a store of 1000+ references does
# (for the one class the tests inspect: each class has its own collection and index folder)
PERSIST_INDEX = """
import sqlite3, sys, chromadb
from chromadb.config import Settings
client = chromadb.PersistentClient(sys.argv[1], settings=Settings(anonymized_telemetry=False))
for references in [c for c in client.list_collections() if (c.metadata or {}).get("class") == sys.argv[2]]:
    references.modify(configuration={"hnsw": {"sync_threshold": 2, "batch_size": 2}})
    got = references.get(include=["embeddings", "metadatas", "documents"])
    for attempt in range(5):
        references.upsert(ids=got["ids"], embeddings=got["embeddings"], metadatas=got["metadatas"],
                          documents=got["documents"])
        with sqlite3.connect(sys.argv[1] + "/chroma.sqlite3") as con:
            left = con.execute("SELECT count(*) FROM embeddings_queue WHERE topic LIKE ?",
                               ("%" + str(references.id),)).fetchone()[0]
        if left <= 1:
            break
    else:
        sys.exit(f"Chroma kept {left} log entries of {references.name}; the index files are not what it reads")
"""


PATIENT = "inputs:\n  max_seconds: 1800\n"   # these check damage, not speed: the shared machine can be slow


@pytest.fixture()
def patient(tmp_path):
    path = tmp_path / "patient.yaml"
    path.write_text(PATIENT)
    return path


@pytest.fixture(scope="module")
def defect(texture_set):
    return str(sorted((texture_set / "test" / "defect").glob("*.png"))[0])


def _index_folder(home):
    subprocess.run([sys.executable, "-c", PERSIST_INDEX, str(home / "store"), "brick"], check=True, timeout=120)
    folder, = [p for p in (home / "store").iterdir() if (p / "index_metadata.pickle").is_file()]
    return folder


def _garbage_header(folder):
    (folder / "header.bin").write_bytes(np.random.default_rng(1).bytes(100))


def _truncated_vectors(folder):
    data = folder / "data_level0.bin"
    data.write_bytes(data.read_bytes()[:1000])


def _lost_metadata(folder):
    (folder / "index_metadata.pickle").unlink()


def _inspect(home, image, config=None, model=None):
    configured = ("--config", str(config)) if config else ()
    with_model = ("--model", str(model)) if model else ()
    return run_cli("--home", str(home), *configured, "inspect", image, "--class", "brick", "--json", *with_model)


def _one_line_pointing_at_doctor(done, *fragments):
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "normalcy doctor" in lines[0] and "Traceback" not in done.stderr, done.stderr
    assert all(fragment in lines[0] for fragment in fragments), lines[0]


# a truncated vector file is read without an error by Chroma (wrong neighbours, no message), and so, in a
# class's own collection, is a lost index_metadata.pickle: only the doctor's check finds those, so the
# inspection before the repair is not checked for them
@pytest.mark.parametrize("damage, inspection_says", [(_garbage_header, True), (_truncated_vectors, False),
                                                     (_lost_metadata, False)], ids=lambda f: getattr(f, "__name__", ""))
def test_a_damaged_index_is_named_and_rebuilt(home_copy, defect, damage, inspection_says, patient):
    first = _inspect(home_copy, defect, patient)
    assert first.returncode == 0, first.stderr
    before = json.loads(first.stdout)
    damage(_index_folder(home_copy))
    if inspection_says:
        _one_line_pointing_at_doctor(_inspect(home_copy, defect, patient), "index", "is damaged")

    found = run_cli("--home", str(home_copy), "doctor")
    assert found.returncode == 2 and "DAMAGED  index: " in found.stdout, found.stdout
    assert "ok       features: 14" in found.stdout and "ok       copies: 14" in found.stdout

    fixed = run_cli("--home", str(home_copy), "doctor", "--repair")
    assert fixed.returncode == 0, (fixed.stdout, fixed.stderr)
    assert "repaired index: " in fixed.stdout and "rebuilt from the cached features of 14 reference(s)" in fixed.stdout
    again = run_cli("--home", str(home_copy), "doctor")
    assert again.returncode == 0 and "DAMAGED" not in again.stdout and "ok       index" in again.stdout

    after = json.loads(_inspect(home_copy, defect, patient).stdout)
    assert [r["sha256"] for r in after["references"]] == [r["sha256"] for r in before["references"]]
    assert after["anomaly_score"] == pytest.approx(before["anomaly_score"], rel=1e-3)


def test_a_damaged_model_calibration_is_named_and_dropped(home_copy, defect, tmp_path):
    from tiny_vlm_factory import build

    model = build("smolvlm", tmp_path / "smolvlm")
    fast = tmp_path / "fast.yaml"
    fast.write_text(f"{PATIENT}vlm:\n  max_new_tokens: 48\n  calibration_samples: 2\n")
    calibration = home_copy / "model_calibration.json"
    calibration.write_bytes(b"\x00garbage{")
    _one_line_pointing_at_doctor(_inspect(home_copy, defect, fast, model), "model calibration is damaged")

    found = run_cli("--home", str(home_copy), "doctor")
    assert found.returncode == 2 and "DAMAGED  model calibration: " in found.stdout and "not readable JSON" in found.stdout
    fixed = run_cli("--home", str(home_copy), "doctor", "--repair")
    assert fixed.returncode == 0 and "repaired model calibration: " in fixed.stdout and not calibration.exists()

    done = _inspect(home_copy, defect, fast, model)
    assert done.returncode == 0, done.stderr
    assert np.isfinite(json.loads(done.stdout)["anomaly_score"])
    assert json.loads(calibration.read_text()), "recomputed by the inspection"


@pytest.mark.parametrize("content", ['{"brick|m": {"threshold": NaN, "fingerprint": "f"}}',
                                     '{"brick|m": {"threshold": 0.4}}', '[1, 2]', '{"brick|m": {"threshold": 7, '
                                                                                  '"fingerprint": "f"}}'])
def test_model_calibration_entries_without_a_usable_threshold_are_damage(home_copy, content):
    from assistant.config import NormalcyConfig
    from assistant.home import Home
    from assistant.inspector import Inspector

    (home_copy / "model_calibration.json").write_text(content)
    report = Inspector(NormalcyConfig(), Home(home_copy)).doctor.examine()
    assert [f.part for f in report.remaining] == ["model calibration"], report.lines()
