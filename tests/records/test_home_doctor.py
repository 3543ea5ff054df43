"""`normalcy doctor` names what is damaged in a home and rebuilds what can be rebuilt: features from the
stored copies, calibration from the features; what cannot (a damaged store, a lost copy) is said so."""

import json
import shutil

import numpy as np
import pytest

from cli_runner import run_cli
from feature_files import feature_files, with_nan


@pytest.fixture()
def home_copy(tmp_path, ready_home):
    home = tmp_path / "home_copy"
    shutil.copytree(ready_home.root, home)
    return home


def _damage_features_and_calibration(home):
    files = feature_files(home)
    files[0].write_bytes(b"")
    with_nan(files[1])
    data = json.loads((home / "calibration.json").read_text())
    data["brick"]["threshold"] = 1e9
    (home / "calibration.json").write_text(json.dumps(data))
    return files[:2]


def test_doctor_names_the_damage_then_repairs_it(home_copy, texture_set):
    _damage_features_and_calibration(home_copy)
    done = run_cli("--home", str(home_copy), "doctor")
    assert done.returncode == 2, done.stderr
    assert "DAMAGED  features: 2 of 14" in done.stdout and "digest mismatch" in done.stdout
    assert len(done.stderr.strip().splitlines()) == 1 and "normalcy doctor --repair" in done.stderr

    fixed = run_cli("--home", str(home_copy), "doctor", "--repair")
    assert fixed.returncode == 0, fixed.stderr
    assert "repaired features" in fixed.stdout and "repaired calibration: brick" in fixed.stdout

    again = run_cli("--home", str(home_copy), "doctor")
    assert again.returncode == 0 and "DAMAGED" not in again.stdout and "repaired" not in again.stdout
    defect = sorted((texture_set / "test" / "defect").glob("*.png"))[0]
    verdict = run_cli("--home", str(home_copy), "inspect", str(defect), "--class", "brick", "--json")
    assert verdict.returncode == 0, verdict.stderr
    assert np.isfinite(json.loads(verdict.stdout)["anomaly_score"])


def test_doctor_says_a_damaged_store_cannot_be_rebuilt_from_the_home(home_copy, tmp_path):
    (home_copy / "store" / "chroma.sqlite3").write_bytes(b"")
    done = run_cli("--home", str(home_copy), "doctor", "--repair")
    assert done.returncode == 2 and "DAMAGED  store" in done.stdout and "re-ingest" in done.stdout
    missing = run_cli("--home", str(tmp_path / "nowhere"), "doctor")
    assert missing.returncode == 2 and "does not exist" in missing.stdout
    assert not (tmp_path / "nowhere").exists()


def test_a_lost_copy_with_damaged_features_is_left_for_re_ingest(home_copy):
    from assistant.config import NormalcyConfig
    from assistant.home import Home
    from assistant.inspector import Inspector

    files = _damage_features_and_calibration(home_copy)
    copy = next((home_copy / "references" / files[0].stem[:2]).glob(f"{files[0].stem}.*"))
    copy.unlink()
    report = Inspector(NormalcyConfig(), Home(home_copy)).doctor.examine(repair=True)
    parts = {f.part for f in report.remaining}
    assert {"features", "copies"} <= parts, report.lines()
    assert "re-ingest class(es) brick" in "\n".join(report.lines())


def test_a_damaged_class_basis_is_named_then_refitted_from_the_copies(home_copy, texture_set):
    basis_file = next((home_copy / "features").glob("*/bases/*.nrb"))
    data = basis_file.read_bytes()
    basis_file.write_bytes(data[:-4] + np.float32(0.5).tobytes())      # a value changed: its id no longer holds
    done = run_cli("--home", str(home_copy), "doctor")
    assert done.returncode == 2, done.stderr
    assert "DAMAGED  bases: 1 class basis(es) damaged" in done.stdout and "DAMAGED  features: 14 of 14" in done.stdout

    fixed = run_cli("--home", str(home_copy), "doctor", "--repair")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "repaired bases" in fixed.stdout and "repaired features" in fixed.stdout
    again = run_cli("--home", str(home_copy), "doctor")
    assert again.returncode == 0 and "ok       bases: 1 of 1 class(es)" in again.stdout, again.stdout
    defect = sorted((texture_set / "test" / "defect").glob("*.png"))[0]
    verdict = run_cli("--home", str(home_copy), "inspect", str(defect), "--class", "brick", "--json")
    assert verdict.returncode == 0, verdict.stderr
