"""Every shipped rules file loads, ids are unique, and each known class has the three kinds of rule."""

from functools import lru_cache
from pathlib import Path

import pytest

from retrieval.errors import BadInput
from retrieval.rule import ANY_CLASS, KINDS, load_rules_file

RULES_DIR = Path(__file__).resolve().parents[2] / "data" / "rules"
MVTEC = ("bottle", "cable", "capsule", "carpet", "grid", "hazelnut", "leather", "metal_nut",
         "pill", "screw", "tile", "toothbrush", "transistor", "wood", "zipper")
VISA = ("candle", "capsules", "cashew", "chewinggum", "fryum", "macaroni1", "macaroni2",
        "pcb1", "pcb2", "pcb3", "pcb4", "pipe_fryum")
DEMO = ("solar_cell_mono", "solar_cell_poly", "brick", "grass", "gravel")


@lru_cache(maxsize=1)
def shipped_rules() -> tuple:
    files = sorted(RULES_DIR.glob("*.yaml"))
    assert files, f"no rules files in {RULES_DIR}"
    return tuple(rule for path in files for rule in load_rules_file(path))


def test_expected_files_are_shipped():
    assert {p.name for p in RULES_DIR.glob("*.yaml")} >= {"mvtec.yaml", "visa.yaml", "demo.yaml"}


def test_ids_unique_across_files():
    ids = [rule.id for rule in shipped_rules()]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"repeated rule ids: {duplicates}"


def test_ids_follow_class_kind_slug():
    for rule in shipped_rules():
        prefix = "any" if rule.class_name == ANY_CLASS else rule.class_name
        assert rule.id.startswith(f"{prefix}-{rule.kind}-"), rule.id
        assert len(rule.id) > len(prefix) + len(rule.kind) + 2, rule.id


@pytest.mark.parametrize("class_name", MVTEC + VISA + DEMO)
def test_every_class_has_each_kind(class_name):
    kinds = {rule.kind for rule in shipped_rules() if rule.class_name == class_name}
    assert kinds == set(KINDS), f"{class_name} lacks {set(KINDS) - kinds}"


def test_no_rules_for_unknown_classes():
    known = set(MVTEC + VISA + DEMO) | {ANY_CLASS}
    assert {rule.class_name for rule in shipped_rules()} <= known


def test_some_rules_apply_to_every_class():
    assert any(rule.class_name == ANY_CLASS for rule in shipped_rules())


def write(tmp_path, body: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(body)
    return path


GOOD = "rules:\n  - {id: x-defect-a, class: x, kind: defect, severity: major, text: A crack is a defect.}\n"


def test_loader_accepts_a_good_file(tmp_path):
    (rule,) = load_rules_file(write(tmp_path, GOOD))
    assert (rule.id, rule.class_name, rule.kind, rule.severity) == ("x-defect-a", "x", "defect", "major")


def test_loader_rejects_bad_kind(tmp_path):
    with pytest.raises(BadInput, match="kind"):
        load_rules_file(write(tmp_path, GOOD.replace("kind: defect", "kind: flaw")))


def test_loader_rejects_bad_severity(tmp_path):
    with pytest.raises(BadInput, match="severity"):
        load_rules_file(write(tmp_path, GOOD.replace("severity: major", "severity: high")))


def test_loader_rejects_unknown_key(tmp_path):
    with pytest.raises(BadInput, match="unknown key"):
        load_rules_file(write(tmp_path, GOOD.replace("text:", "note: x, text:")))


def test_loader_rejects_repeated_id(tmp_path):
    with pytest.raises(BadInput, match="repeats"):
        load_rules_file(write(tmp_path, GOOD + GOOD.removeprefix("rules:\n")))
