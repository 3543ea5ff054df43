"""Video end to end (issue 15): normal clips ingested by `normalcy ingest` (their sampled frames become the
class's references), a clip where an object appears from 2 s to 4 s inspected by `normalcy inspect --json`:
every sampled frame is scored against the references, and the verdict lists the anomalous frames by time."""

import json

import pytest
from test_video_modality import _write

from ui.cli import main

pytest.importorskip("av")


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    (root / "train").mkdir()
    for k in range(3):
        _write(root / "train" / f"calm_{k}.mp4", "static", noise_seed=k)
    _write(root / "object.mp4", "both", noise_seed=10)
    _write(root / "calm.mkv", "static", noise_seed=11)
    home = root / "home"
    assert main(["--home", str(home), "ingest", str(root / "train"), "--class", "hall"]) == 0
    return root, home


def inspect(home, path, capsys) -> dict:
    capsys.readouterr()
    assert main(["--home", str(home), "inspect", str(path), "--class", "hall", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_frames_with_the_object_are_named_by_time(clips, capsys):
    root, home = clips
    calm, found = inspect(home, root / "calm.mkv", capsys), inspect(home, root / "object.mp4", capsys)
    assert calm["modality"] == found["modality"] == "video"
    assert calm["correctness"] == 1 and calm["location"]["frames"] == []
    assert found["correctness"] == 0
    flagged = found["location"]["frames"]
    assert all(f["score"] >= 1 for f in flagged) and found["location"]["time_range"] == [flagged[0]["t"],
                                                                                         flagged[-1]["t"]]
    with_object = [f for f in flagged if 2.0 <= f["t"] < 4.0]
    assert len(with_object) >= 5 and 2.0 <= found["location"]["worst_frame"]["t"] < 4.0
    others = [f["score"] for f in flagged if not 2.0 <= f["t"] < 4.0]
    assert min(f["score"] for f in with_object) > 1.5 > max(others, default=0)   # the object, far over the limit
    assert "In the video: anomalous frames at " in found["reasoning"]
    logged = [json.loads(line) for p in (home / "runs").glob("*.jsonl") for line in p.open()
              if '"inspection"' in line]
    assert (home / "runs" / "images" / f"{logged[-1]['frame_sheet']}.png").is_file()


def test_the_class_holds_videos_only(clips, capsys, texture_set):
    root, home = clips
    profile = json.loads((home / "modality_profiles.json").read_text())["hall"]
    assert profile["modality"] == "video" and profile["fitted_on"] == 3
    photo = sorted((texture_set / "test" / "good").glob("*.png"))[0]
    assert main(["--home", str(home), "inspect", str(photo), "--class", "hall"]) == 2
    assert "holds video references" in capsys.readouterr().err
    fake = root / "fake.mp4"
    fake.write_text("not a video")
    assert main(["--home", str(home), "inspect", str(fake), "--class", "hall"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "fake.mp4" in err
