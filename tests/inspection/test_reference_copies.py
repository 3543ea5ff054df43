"""Stored reference copies (issue 14): the original file's bytes under its own extension, in folders
sharded by hash prefix, found by sha256; a home of the older layout (flat SHA256.png re-encodings and
float16 .npy feature grids) still inspects, is converted as it is read, and its doctor finds nothing wrong;
`copies: webp` keeps the same pixels in fewer bytes, `copies: link` a thumbnail and the original's path and
sha256 (a file of the home's run log is copied all the same), refusing in one line when that original is
gone or changed."""

import hashlib
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from assistant.config import NormalcyConfig
from assistant.home import Home
from assistant.inspection.inputs import load_image
from assistant.inspector import Inspector
from assistant.inspection.reference_copies import ReferenceCopies
from cli_runner import run_cli
from feature_files import feature_files


def _image(path, fmt, size=(40, 30)):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path, format=fmt)
    return path


def test_the_original_bytes_are_kept_sharded_under_their_own_extension(tmp_path):
    copies = ReferenceCopies(tmp_path / "references")
    for name, fmt, suffix in (("a.jpeg", "JPEG", ".jpg"), ("b.tiff", "TIFF", ".tif"), ("c.png", "PNG", ".png")):
        source = _image(tmp_path / name, fmt)
        loaded = load_image(source)
        path = copies.save(loaded)
        sha = hashlib.sha256(source.read_bytes()).hexdigest()
        assert path == tmp_path / "references" / sha[:2] / f"{sha}{suffix}"
        assert path.read_bytes() == source.read_bytes() and copies.find(sha) == path
        assert copies.picture(sha).size == loaded.image.size
    assert copies.find("0" * 64) is None and copies.picture("0" * 64) is None


def test_a_flat_png_of_the_older_layout_is_found_and_superseded_by_the_original(tmp_path):
    source = _image(tmp_path / "part.jpg", "JPEG", (900, 300))
    loaded = load_image(source)
    copies = ReferenceCopies(tmp_path / "references")
    flat = tmp_path / "references" / f"{loaded.sha256}.png"
    flat.parent.mkdir()
    reduced = loaded.image.copy()
    reduced.thumbnail((768, 768))
    reduced.save(flat)                                            # what ingest wrote before issue 14
    assert copies.find(loaded.sha256) == flat and copies.picture(loaded.sha256).size == (768, 256)
    kept = copies.save(loaded)
    assert kept.suffix == ".jpg" and copies.find(loaded.sha256) == kept and not flat.exists()


def _to_the_old_layout(home):
    """Rewrite a home as ingest wrote it before issue 14: float16 grids as FEATURES/ENC+AGG/SHA.npy, and
    copies as flat reduced RGB PNGs."""
    scorer = Inspector(NormalcyConfig(), Home(home)).scorer
    for path in feature_files(home):
        folder = path.parent.parent
        legacy = folder.with_name(folder.name.rsplit("_", 1)[0])
        legacy.mkdir(exist_ok=True)
        grid = scorer.featurize([scorer.copies.picture(path.stem)])[0][0].numpy()
        np.save(legacy / f"{path.stem}.npy", grid.astype(np.float16))
        path.unlink()
    for shard in [p for p in (home / "references").iterdir() if p.is_dir()]:
        for copy in shard.iterdir():
            with Image.open(copy) as image:
                image.convert("RGB").save(home / "references" / f"{copy.stem}.png")
            copy.unlink()
        shard.rmdir()


def test_a_home_of_the_older_layout_inspects_and_is_converted_on_use(home_copy, texture_set):
    defect = str(sorted((texture_set / "test" / "defect").glob("*.png"))[0])
    before = json.loads(run_cli("--home", str(home_copy), "inspect", defect, "--class", "brick", "--json").stdout)
    _to_the_old_layout(home_copy)
    assert not list((home_copy / "features").glob("*/*/*.nrf")) and list((home_copy / "features").glob("*/*.npy"))
    doctor = run_cli("--home", str(home_copy), "doctor")
    assert doctor.returncode == 0 and "DAMAGED" not in doctor.stdout, doctor.stdout
    assert "14 of 14 in the layout before issue 14" in doctor.stdout
    done = run_cli("--home", str(home_copy), "inspect", defect, "--class", "brick", "--json")
    assert done.returncode == 0, done.stderr
    after = json.loads(done.stdout)
    assert abs(after["anomaly_score"] - before["anomaly_score"]) < 0.02 * before["anomaly_score"]
    assert [r["sha256"] for r in after["references"]] == [r["sha256"] for r in before["references"]]
    assert len(feature_files(home_copy)) == 8                     # the k = 8 it read were converted
    repair = run_cli("--home", str(home_copy), "doctor", "--repair")
    assert repair.returncode == 0 and "6 of 14 in the layout before issue 14, converted" in repair.stdout
    assert len(feature_files(home_copy)) == 14 and not list((home_copy / "features").glob("*/*.npy"))


def _smooth(path, size=(64, 48)):
    """A smooth RGB picture as PNG (lossless WebP beats PNG on it) -> path."""
    y, x = np.mgrid[0:size[1], 0:size[0]]
    rgb = np.stack([x * 3, y * 4, (x + y) * 2], -1).astype(np.uint8)
    Image.fromarray(rgb).save(path)
    return path


def test_copies_webp_keeps_the_same_pixels_in_fewer_bytes_else_the_original(tmp_path):
    copies = ReferenceCopies(tmp_path / "references", kind="webp")
    for source in (_smooth(tmp_path / "smooth.png"), _image(tmp_path / "noise.jpg", "JPEG")):
        loaded = load_image(source)
        path = copies.save(loaded)
        assert path.stat().st_size <= source.stat().st_size and copies.find(loaded.sha256) == path
        again = copies.load(loaded.sha256)
        np.testing.assert_array_equal(np.asarray(again.image), np.asarray(loaded.image))   # lossless
    assert sorted(p.suffix for p in (tmp_path / "references").glob("*/*")) == [".jpg", ".webp"]


def test_copies_link_keeps_a_thumbnail_and_reads_the_original_while_it_is_unchanged(tmp_path):
    source = _image(tmp_path / "part.png", "PNG", (600, 300))
    loaded = load_image(source)
    copies = ReferenceCopies(tmp_path / "references", kind="link")
    thumb = copies.save(loaded)
    stored = sorted(p.name for p in thumb.parent.iterdir())
    assert stored == [f"{loaded.sha256}~link.json", f"{loaded.sha256}~thumb.jpg"]
    assert sum(p.stat().st_size for p in thumb.parent.iterdir()) < source.stat().st_size / 5
    assert copies.find(loaded.sha256) == thumb and copies.picture(loaded.sha256).size == (256, 128)
    np.testing.assert_array_equal(np.asarray(copies.load(loaded.sha256).image), np.asarray(loaded.image))
    full = ReferenceCopies(tmp_path / "references").save(loaded)        # copies: original later: a full copy
    assert full.suffix == ".png" and sorted(p.name for p in thumb.parent.iterdir()) == [full.name]
    assert copies.save(loaded) == full                                  # a link never replaces a full copy
    (tmp_path / "runs").mkdir()
    logged = load_image(_smooth(tmp_path / "runs" / "accepted.png"))    # the run log may prune it: copied
    kept = ReferenceCopies(tmp_path / "references", kind="link", owned=(tmp_path / "runs",)).save(logged)
    assert kept.suffix == ".png" and kept.read_bytes() == (tmp_path / "runs" / "accepted.png").read_bytes()


@pytest.mark.parametrize("change, says", [(lambda p: p.unlink(), "which is gone"),
                                          (lambda p: _image(p, "PNG", (600, 301)), "has changed since ingest")])
def test_a_linked_original_gone_or_changed_is_refused_in_one_line(tmp_path, texture_set, change, says):
    folder = tmp_path / "server"
    shutil.copytree(texture_set / "train", folder)
    config = tmp_path / "link.yaml"
    config.write_text("retrieval:\n  features:\n    copies: link\n")
    home = ("--home", str(tmp_path / "home"), "--config", str(config))
    done = run_cli(*home, "ingest", str(folder), "--class", "brick")
    assert done.returncode == 0 and not list((tmp_path / "home").rglob("*.png")), done.stderr
    defect = str(sorted((texture_set / "test" / "defect").glob("*.png"))[0])
    assert run_cli(*home, "inspect", defect, "--class", "brick").returncode == 0
    for path in feature_files(tmp_path / "home"):
        path.unlink()                                            # features lost: recomputed from the originals
    for original in folder.glob("*.png"):
        change(original)
    refused = run_cli(*home, "inspect", defect, "--class", "brick")
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert refused.returncode == 2 and len(lines) == 1, refused.stderr
    assert "copies: link" in lines[0] and says in lines[0], lines[0]
