"""Damaged or odd state is named in one line (exit 2), never a traceback, never "interrupted", never a PASS:
cached features (NaN, zero bytes, truncated, wrong shape), calibration (garbage, hand-edited), the store's
database (garbage, truncated, zero bytes), and homes that are files, missing or read-only."""

import json

import numpy as np
import pytest

from cli_runner import run_cli
from feature_files import feature_files, with_nan
from retrieval.config import FeaturesConfig
from retrieval.feature_codec import encode


@pytest.fixture(scope="module")
def good_image(texture_set):
    return str(sorted((texture_set / "test" / "good").glob("*.png"))[0])


@pytest.fixture(scope="module")
def defect_image(texture_set):
    return str(sorted((texture_set / "test" / "defect").glob("*.png"))[0])


def _nan(path):
    with_nan(path)


def _zero(path):
    path.write_bytes(b"")


def _truncated(path):
    path.write_bytes(path.read_bytes()[:200])


def _wrong_shape(path):
    path.write_bytes(encode(np.ones((7, 5, 5), dtype=np.float16), FeaturesConfig()))


def _flat(path):
    with open(path, "wb") as out:                     # np.save(path) would add ".npy" to the name
        np.save(out, np.ones(10, dtype=np.float16))


def _one_line(done, *fragments):
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert done.stdout == ""
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("damage", [_nan, _zero, _truncated, _wrong_shape, _flat], ids=lambda f: f.__name__[1:])
def test_damaged_feature_files_are_named_not_a_pass(home_copy, defect_image, damage):
    (home_copy / "calibration.json").unlink()          # the next inspection recalibrates over every file
    for path in feature_files(home_copy):
        damage(path)
    done = run_cli("--home", str(home_copy), "inspect", defect_image, "--class", "brick", "--json")
    _one_line(done, "features", "normalcy doctor")


@pytest.mark.parametrize("content", [b"\x00garbage{", b"[1, 2]", b'{"brick": 3}'], ids=["bytes", "list", "entry"])
def test_garbage_calibration_is_named(home_copy, good_image, content):
    (home_copy / "calibration.json").write_bytes(content)
    done = run_cli("--home", str(home_copy), "inspect", good_image, "--class", "brick", "--json")
    _one_line(done, "calibration.json", "damaged", "normalcy doctor")


def test_a_hand_edited_threshold_is_not_trusted(home_copy, defect_image):
    path = home_copy / "calibration.json"
    honest = json.loads(path.read_text())["brick"]["threshold"]
    data = json.loads(path.read_text())
    data["brick"]["threshold"] = 1e9
    path.write_text(json.dumps(data))
    done = run_cli("--home", str(home_copy), "inspect", defect_image, "--class", "brick", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["threshold"] == pytest.approx(honest)
    assert json.loads(path.read_text())["brick"]["threshold"] == pytest.approx(honest)


def _sqlite(home):
    return home / "store" / "chroma.sqlite3"


@pytest.mark.parametrize("damage", [
    lambda db: db.write_bytes(b"this is no database" * 100),
    lambda db: db.write_bytes(db.read_bytes()[:4096]),
    lambda db: db.write_bytes(b""),
    lambda db: db.write_bytes(db.read_bytes()[:100] + b"\xff" * (len(db.read_bytes()) - 100)),
], ids=["garbage", "truncated", "zero_bytes", "malformed"])
def test_a_damaged_store_is_named_corrupt(home_copy, good_image, damage):
    damage(_sqlite(home_copy))
    done = run_cli("--home", str(home_copy), "inspect", good_image, "--class", "brick", "--json")
    _one_line(done, "store is damaged", "re-ingest")


def test_a_home_that_is_a_file_is_one_line(tmp_path, good_image):
    home = tmp_path / "home_file"
    home.write_text("not a folder")
    done = run_cli("--home", str(home), "inspect", good_image, "--class", "brick")
    _one_line(done, "is a file, not a folder")


def test_a_read_of_a_missing_home_creates_nothing(tmp_path, good_image):
    home = tmp_path / "nowhere"
    done = run_cli("--home", str(home), "inspect", good_image, "--class", "brick")
    _one_line(done, "does not exist", "normalcy ingest")
    assert not home.exists()


def test_a_read_only_home_is_one_line(home_copy, good_image, monkeypatch):
    from assistant.config import NormalcyConfig
    from assistant.home import Home
    from assistant.inspector import Inspector
    from retrieval.errors import BadInput

    monkeypatch.setattr(Home, "writable", lambda self: False)   # the tests run as root, for whom chmod is moot
    with pytest.raises(BadInput, match="is read-only; .* writable"):
        Inspector(NormalcyConfig(), Home(home_copy)).inspect(good_image, "brick")
