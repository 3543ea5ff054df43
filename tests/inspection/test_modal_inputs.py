"""A modality file through the image pipeline (`inspection/modal_inputs.py`): rendered against its class's
profile at ingest and at inspection, the verdict told its modality and location, the original kept in the
run log, one modality per class. The modality here is a test tool (dots of given radius drawn on a plate,
"point_cloud" by name); the real point-cloud and time-series modalities have their own tests and an
end-to-end test each."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image, ImageDraw

from assistant.config import NormalcyConfig
from assistant.home import Home
from assistant.inspection import modal_inputs
from assistant.inspector import Inspector
from assistant.modalities import rendering
from assistant.modalities.rendering import Rendered
from assistant.records.ingestion import images_in
from retrieval.errors import BadInput


class Dots:
    """Files of "x y r" rows; the profile records how many files it was fitted on and a plate grey."""

    name, suffixes = "point_cloud", (".dots",)

    def read(self, path):
        try:
            return np.loadtxt(path, ndmin=2).reshape(-1, 3)
        except ValueError as exc:
            raise BadInput(f"{path} is not a dots file ({exc}); write x y r rows") from None

    def profile(self, raws):
        return {"fitted_on": len(raws), "grey": 90}

    def render(self, raw, profile):
        image = Image.new("RGB", (128, 128), (profile["grey"],) * 3)
        draw = ImageDraw.Draw(image)
        for x, y, r in raw:
            draw.ellipse([x - r, y - r, x + r, y + r], fill=(210, 210, 210))
        return Rendered(image, "point_cloud", lambda box: None if box is None else
                        {"box_3d": {"min": [box[0], box[1], 0.0], "max": [box[2], box[3], 1.0]}, "points": 1})


@pytest.fixture()
def dots(monkeypatch):
    monkeypatch.setattr(modal_inputs, "MODULES", ())
    monkeypatch.setattr(rendering, "_REGISTRY", {})
    rendering.register(Dots())


def write_dots(path, rng, big: bool = False):
    rows = np.c_[rng.uniform(20, 108, 30), rng.uniform(20, 108, 30), np.full(30, 4.0)]
    if big:
        rows[0] = (64, 64, 22)
    np.savetxt(path, rows)
    return path


@pytest.fixture()
def parts(tmp_path, dots):
    rng = np.random.default_rng(0)
    (tmp_path / "train").mkdir()
    for i in range(10):
        write_dots(tmp_path / "train" / f"n{i}.dots", rng)
    return {"train": tmp_path / "train", "good": write_dots(tmp_path / "good.dots", rng),
            "bad": write_dots(tmp_path / "bad.dots", rng, big=True)}


@pytest.fixture()
def inspector(tmp_path, parts, texture_set):
    inspector = Inspector(NormalcyConfig(), Home(tmp_path / "home"))
    inspector.references.ingest([("plate", p) for p in images_in(parts["train"])])
    return inspector


def test_ingest_renders_against_a_profile_fitted_once(inspector, tmp_path, parts):
    stored = json.loads((tmp_path / "home" / "modality_profiles.json").read_text())
    assert stored["plate"]["modality"] == "point_cloud" and stored["plate"]["profile"]["fitted_on"] == 10
    renders = sorted((tmp_path / "home" / "renders").rglob("*.png"))
    assert len(renders) == 10 and all(p.name.startswith("n") for p in renders)
    assert inspector.classes() == {"plate": 10}
    inspector.references.ingest([("plate", parts["good"])])       # a later ingest keeps the profile
    again = json.loads((tmp_path / "home" / "modality_profiles.json").read_text())
    assert again["plate"]["profile"] == stored["plate"]["profile"] and inspector.classes() == {"plate": 11}


def test_the_verdict_says_what_it_rendered_and_where(inspector, tmp_path, parts):
    import hashlib

    good, bad = (inspector.inspect(parts[k], "plate") for k in ("good", "bad"))
    assert bad.verdict.anomaly_score > good.verdict.anomaly_score and bad.verdict.correctness == 0
    verdict = bad.verdict
    sha = hashlib.sha256(parts["bad"].read_bytes()).hexdigest()
    assert verdict.modality == "point_cloud" and verdict.source_sha256 == sha != verdict.image_sha256
    x0, y0, x1, y1 = verdict.defect_box
    assert verdict.location == {"box_3d": {"min": [x0, y0, 0.0], "max": [x1, y1, 1.0]}, "points": 1}
    assert verdict.reasoning.endswith(f"In the point cloud: x {x0} to {x1}, y {y0} to {y1}, z 0 to 1 (1 points).")
    logged = [json.loads(line) for p in (tmp_path / "home" / "runs").glob("*.jsonl") for line in p.open()
              if '"inspection"' in line]
    record = next(r for r in logged if r["id"] == bad.id)
    assert record["source_sha256"] == sha and record["modality"] == "point_cloud"
    assert (tmp_path / "home" / "runs" / record["source_file"]).read_bytes() == parts["bad"].read_bytes()
    assert json.loads(json.dumps(verdict.to_dict()))["location"]["points"] == 1


def test_uploaded_bytes_are_rendered_by_their_name(inspector, parts):
    loaded = inspector.load(parts["bad"].read_bytes(), name="bad.dots", class_name="plate")
    assert loaded.rendered.modality == "point_cloud" and loaded.rendered.source_name == "bad.dots"
    assert loaded.size == (128, 128)


def test_one_modality_per_class(inspector, parts, texture_set, tmp_path):
    photo = sorted((texture_set / "train").glob("*.png"))[0]
    with pytest.raises(BadInput, match="is a still image but class 'plate' holds point cloud references"):
        inspector.inspect(photo, "plate")
    with pytest.raises(BadInput, match="class 'plate' holds point cloud references; these are still images"):
        inspector.references.ingest([("plate", photo)])
    with pytest.raises(BadInput, match="this ingest mixes point cloud and still image files"):
        inspector.references.ingest([("other", photo), ("other", parts["good"])])
    inspector.references.ingest([("photos", photo), ("photos", sorted((texture_set / "train").glob("*.png"))[1])])
    with pytest.raises(BadInput, match="class 'photos' holds still images; these are point cloud files"):
        inspector.references.ingest([("photos", parts["good"])])
    with pytest.raises(BadInput, match="is a point cloud but class 'photos' holds no references of that kind"):
        inspector.inspect(parts["good"], "photos")
    assert "other" not in inspector.classes() and inspector.classes()["plate"] == 10


def test_bad_files_and_unknown_modalities_write_nothing(inspector, tmp_path, parts):
    broken = tmp_path / "broken.dots"
    broken.write_text("1 2 x\n")
    before = sorted(p.name for p in (tmp_path / "home" / "renders").rglob("*.png"))
    with pytest.raises(BadInput, match="broken.dots is not a dots file"):
        inspector.references.ingest([("plate", parts["good"]), ("plate", broken)])
    assert sorted(p.name for p in (tmp_path / "home" / "renders").rglob("*.png")) == before
    with pytest.raises(BadInput, match="unknown modality 'hologram'; use one of: image, point_cloud"):
        inspector.inspect(parts["good"], "plate", modality="hologram")
    with pytest.raises(BadInput, match="is a video but class 'plate' holds point cloud references"):
        inspector.inspect(parts["good"], "plate", modality="video")


def test_the_cli_ingests_and_inspects_by_extension(tmp_path, parts, capsys):
    from ui.cli import main

    home = ["--home", str(tmp_path / "cli_home")]
    assert main([*home, "ingest", str(parts["train"]), "--class", "plate"]) == 0
    capsys.readouterr()
    assert main([*home, "inspect", str(parts["bad"]), "--class", "plate", "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["modality"] == "point_cloud" and verdict["location"]["box_3d"]["max"][2] == 1.0
    shutil.rmtree(tmp_path / "cli_home" / "renders")       # the ingest's renders: its copies are the references'
    assert main([*home, "inspect", str(parts["good"]), "--class", "plate"]) == 0
    capsys.readouterr()
    assert main([*home, "inspect", str(parts["good"]), "--class", "plate", "--modality", "image"]) == 2
    assert "is a still image" in capsys.readouterr().err


def test_history_reopens_a_render_with_its_file_and_location(inspector, tmp_path, parts):
    """Reopened from History (a new process), a render's inspection says which file it was a render of, and
    its verdict card says where in the file the box lies, as the live chat did."""
    from ui.chat_state import ChatState
    from ui.evidence_panel import verdict_card
    from ui.history_tab import HistoryView
    from ui.image_folder import ImageFolder

    bad = inspector.inspect(parts["bad"], "plate")
    restarted = Inspector(NormalcyConfig(), inspector.home)
    state = ChatState()
    HistoryView(restarted, ImageFolder(tmp_path / "shown")).reopen_inspection(bad.id, state)
    assert "the point cloud render of **bad\\.dots**" in state.chat[1]["content"]    # Markdown-escaped
    assert "In the point cloud: x " in state.panel.card and "In the point cloud" in verdict_card(bad.verdict.to_dict())
    still = {**bad.verdict.to_dict(), "location": None}
    assert "In the point cloud" not in verdict_card(still)
