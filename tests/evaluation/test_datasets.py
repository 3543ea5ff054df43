"""Dataset layouts → test samples and training normals, on tiny synthetic trees of 32×32 images."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assistant.evaluation.dataset import load_dataset, split_normals
from retrieval.errors import BadInput


def png(path: Path, value: int = 128) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((32, 32, 3), value, np.uint8)).save(path, format="PNG")
    return path


def no_leak(ds) -> bool:
    refs = {p.resolve() for ps in ds.references.values() for p in ps}
    return not refs & {s.path.resolve() for s in ds.samples}


@pytest.fixture
def mvtec(tmp_path):
    root = tmp_path / "mvtec"
    for cls in ("bottle", "screw"):
        for i in range(3):
            png(root / cls / "train" / "good" / f"{i:03d}.png")
        for i in range(2):
            png(root / cls / "test" / "good" / f"{i:03d}.png")
            png(root / cls / "test" / "broken" / f"{i:03d}.png", 200)
        png(root / cls / "ground_truth" / "broken" / "000_mask.png", 255)  # 001 has no mask
    png(root / "screw" / "test" / "scratch" / "007.JPG", 90)  # upper-case suffix counts
    (root / "screw" / "test" / "good" / "notes.txt").write_text("not an image")
    return root


def test_mvtec_samples_labels_masks_and_references(mvtec):
    ds = load_dataset(mvtec, "mvtec")
    assert ds.classes == ["bottle", "screw"]
    bottle = ds.for_class("bottle")
    assert [(s.label, s.defect_type, s.path.name) for s in bottle] == [
        (0, "good", "000.png"), (0, "good", "001.png"), (1, "broken", "000.png"), (1, "broken", "001.png")]
    assert bottle[2].mask_path == mvtec / "bottle" / "ground_truth" / "broken" / "000_mask.png"
    assert bottle[3].mask_path is None and bottle[0].mask_path is None
    assert [p.name for p in ds.references["bottle"]] == ["000.png", "001.png", "002.png"]
    assert {s.defect_type for s in ds.for_class("screw")} == {"good", "broken", "scratch"}
    assert len(ds.samples) == 9 and no_leak(ds)
    assert load_dataset(mvtec, "mvtec") == ds  # deterministic


def test_mvtec_root_may_be_one_class_and_classes_filter(mvtec):
    one = load_dataset(mvtec / "bottle", "mvtec")
    assert one.classes == ["bottle"] and len(one.samples) == 4
    assert load_dataset(mvtec, "mvtec", classes="screw").classes == ["screw"]
    assert load_dataset(mvtec, "mvtec", classes=["bottle", "screw"]).classes == ["bottle", "screw"]


def test_unknown_class_lists_the_available_ones(mvtec):
    with pytest.raises(BadInput, match=r"unknown class\(es\) nut.*available: bottle, screw"):
        load_dataset(mvtec, "mvtec", classes=["nut"])


def test_folder_given_as_mvtec_says_what_was_expected(tmp_path):
    png(tmp_path / "widget" / "good" / "a.png")
    with pytest.raises(BadInput, match=r"not an MVTec-AD tree: expected CLASS/train/good/"):
        load_dataset(tmp_path, "mvtec")
    with pytest.raises(BadInput, match="unknown layout"):
        load_dataset(tmp_path, "coco")
    with pytest.raises(BadInput, match="does not exist"):
        load_dataset(tmp_path / "nowhere", "folder")


def folder_tree(root: Path, n_good: int = 6, train: bool = False) -> Path:
    for i in range(n_good):
        png(root / "widget" / "good" / f"g{i}.png")
    png(root / "widget" / "dent" / "d0.png", 10)
    png(root / "widget" / "scratch" / "s0.bmp", 20)
    png(root / "widget" / "ground_truth" / "dent" / "d0_mask.png", 255)
    if train:
        png(root / "widget" / "train" / "good" / "t0.png")
    return root


def test_folder_splits_good_images_without_leak(tmp_path):
    ds = load_dataset(folder_tree(tmp_path), "folder")
    goods = [s for s in ds.samples if s.label == 0]
    assert len(ds.references["widget"]) == 3 and len(goods) == 3 and no_leak(ds)
    all_goods = {p.name for p in ds.references["widget"]} | {s.path.name for s in goods}
    assert all_goods == {f"g{i}.png" for i in range(6)}
    defects = [s for s in ds.samples if s.label == 1]
    assert [(s.defect_type, s.mask_path is not None) for s in defects] == [("dent", True), ("scratch", False)]
    assert load_dataset(tmp_path, "folder") == ds  # same seed, same split


def test_folder_split_is_a_documented_function_of_the_seed():
    images = [Path(f"/x/g{i}.png") for i in range(10)]
    refs, test = split_normals(images, seed=0)
    assert len(refs) == 5 and not set(refs) & set(test) and set(refs) | set(test) == set(images)
    assert split_normals(images, seed=0) == (refs, test)
    assert any(split_normals(images, seed=s)[0] != refs for s in range(1, 5))


def test_folder_uses_train_good_when_present(tmp_path):
    ds = load_dataset(folder_tree(tmp_path, train=True), "folder")
    assert [p.name for p in ds.references["widget"]] == ["t0.png"]
    assert sum(s.label == 0 for s in ds.samples) == 6
    assert "train" not in {s.defect_type for s in ds.samples} and no_leak(ds)


def test_folder_with_one_good_image_cannot_split(tmp_path):
    with pytest.raises(BadInput, match="need at least 2 .* or add .*train/good"):
        load_dataset(folder_tree(tmp_path, n_good=1), "folder")


def test_folder_without_good_folders_says_what_was_expected(tmp_path):
    png(tmp_path / "widget" / "parts" / "a.png")
    with pytest.raises(BadInput, match=r"matches no folder layout: expected CLASS/good/"):
        load_dataset(tmp_path, "folder")


def visa_tree(root: Path, rows_extra=()) -> Path:
    rows = [("candle", "train", "normal", "candle/Data/Images/Normal/0000.JPG", "")]
    rows += [("candle", "test", "normal", "candle/Data/Images/Normal/0001.JPG", ""),
             ("candle", "test", "anomaly", "candle/Data/Images/Anomaly/0002.JPG",
              "candle/Data/Masks/Anomaly/0002.png"),
             ("pcb1", "train", "normal", "pcb1/Data/Images/Normal/0000.JPG", ""),
             ("pcb1", "test", "anomaly", "pcb1/Data/Images/Anomaly/0003.JPG",
              "pcb1/Data/Masks/Anomaly/0003.png")]
    for row in rows:
        for rel in row[3:]:
            if rel:
                png(root / rel)
    lines = ["object,split,label,image,mask"] + [",".join(r) for r in rows + list(rows_extra)]
    (root / "split_csv").mkdir(parents=True, exist_ok=True)
    (root / "split_csv" / "1cls.csv").write_text("\n".join(lines) + "\n")
    return root


def test_visa_csv(tmp_path):
    ds = load_dataset(visa_tree(tmp_path), "visa")
    assert ds.classes == ["candle", "pcb1"]
    candle = ds.for_class("candle")
    assert [(s.label, s.defect_type) for s in candle] == [(0, "good"), (1, "anomaly")]
    assert candle[1].mask_path == tmp_path / "candle/Data/Masks/Anomaly/0002.png"
    assert candle[0].mask_path is None
    assert [p.name for p in ds.references["candle"]] == ["0000.JPG"] and no_leak(ds)
    assert load_dataset(tmp_path, "visa", classes=["pcb1"]).classes == ["pcb1"]


def test_visa_bad_inputs(tmp_path):
    with pytest.raises(BadInput, match=r"not a VisA tree: expected .*1cls.csv"):
        load_dataset(tmp_path, "visa")
    visa_tree(tmp_path, [("candle", "test", "anomaly", "candle/missing.JPG", "")])
    with pytest.raises(BadInput, match=r"1 file\(s\) listed .* do not exist \(first: .*missing.JPG\)"):
        load_dataset(tmp_path, "visa")
    visa_tree(tmp_path, [("candle", "test", "weird", "candle/Data/Images/Normal/0001.JPG", "")])
    with pytest.raises(BadInput, match=r"line 7: label 'weird'"):
        load_dataset(tmp_path, "visa")


def json_dataset(root: Path, items) -> Path:
    for name in ("a.png", "b.png", "c.png", "ref.png", "m.png"):
        png(root / "imgs" / name)
    path = root / "data.json"
    path.write_text(json.dumps(items))
    return path


GOOD_ITEMS = [
    {"image": "imgs/a.png", "class": "screw", "label": 0, "reference": "imgs/ref.png"},
    {"image_path": "imgs/b.png", "class_name": "screw", "label": "anomaly", "mask": "imgs/m.png"},
    {"image": "imgs/c.png", "class": "nut", "correctness": 0, "defect_type": "crack"},
]


def test_json_list_keys_labels_and_references(tmp_path):
    ds = load_dataset(json_dataset(tmp_path, GOOD_ITEMS), "json")
    assert [(s.class_name, s.path.name, s.label, s.defect_type) for s in ds.samples] == [
        ("nut", "c.png", 1, "crack"), ("screw", "a.png", 0, "good"), ("screw", "b.png", 1, "anomaly")]
    assert ds.samples[2].mask_path == tmp_path / "imgs" / "m.png"
    assert ds.references == {"nut": (), "screw": (tmp_path / "imgs" / "ref.png",)} and no_leak(ds)


def test_json_reference_that_is_a_test_image_is_refused(tmp_path):
    items = GOOD_ITEMS + [{"image": "imgs/ref.png", "class": "screw", "label": 0}]  # ref.png: a reference
    with pytest.raises(BadInput, match=r"reference image\(s\) are also test images"):
        load_dataset(json_dataset(tmp_path, items), "json")


@pytest.mark.parametrize("items,message", [
    ({"image": "imgs/a.png"}, "must hold a JSON list"),
    ([{"image": "imgs/a.png", "label": 0}], "needs an image path .* and a class"),
    ([{"image": "imgs/a.png", "class": "x"}], "needs 'label' .* or 'correctness'"),
    ([{"image": "imgs/gone.png", "class": "x", "label": 1}], "do not exist"),
    ([{"image": "imgs/a.png", "class": "x", "label": 1, "split": "val"}], "split 'val'"),
])
def test_json_bad_inputs(tmp_path, items, message):
    with pytest.raises(BadInput, match=message):
        load_dataset(json_dataset(tmp_path, items), "json")


def test_json_layout_needs_the_file_and_valid_json(tmp_path):
    with pytest.raises(BadInput, match="takes the file itself"):
        load_dataset(tmp_path, "json")
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    with pytest.raises(BadInput, match="not valid JSON"):
        load_dataset(broken, "json")
