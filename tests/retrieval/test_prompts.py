"""Prompt ensembles per class: WinCLIP state words x templates from the class name, plus the class's rules
on the side they describe (defects abnormal; normalities and accepted noise normal)."""

import pytest

from retrieval.rule import Rule
from retrieval.text_space.prompts import (ABNORMAL_STATES, NORMAL_STATES, TEMPLATES, class_prompts, spoken,
                                          state_prompts)


def rule(rule_id, kind, text, class_name="metal_nut"):
    return Rule(id=rule_id, class_name=class_name, text=text, kind=kind)


def test_class_names_are_spoken_as_words():
    assert spoken("metal_nut") == "metal nut"
    assert spoken("  pcb-board_2 ") == "pcb board 2"
    with pytest.raises(ValueError, match="no words"):
        spoken("__")


def test_every_state_goes_into_every_template():
    ensemble = class_prompts("metal_nut")
    assert len(ensemble.normal) == len(NORMAL_STATES) * len(TEMPLATES)
    assert len(ensemble.abnormal) == len(ABNORMAL_STATES) * len(TEMPLATES)
    assert "a photo of a flawless metal nut." in ensemble.normal
    assert "a close-up photo of a metal nut without defect." in ensemble.normal
    assert "a cropped photo of the damaged metal nut." in ensemble.abnormal
    assert "a photo of a metal nut with a flaw for anomaly detection." in ensemble.abnormal
    assert not set(ensemble.normal) & set(ensemble.abnormal)
    assert all("_" not in text and "{" not in text for text in ensemble.normal + ensemble.abnormal)


def test_rules_join_the_side_they_describe():
    rules = [rule("crack", "defect", "A crack   on the thread is a defect."),
             rule("dust", "accepted_noise", "Dust specks are acceptable."),
             rule("shine", "normality", "A bright rim is normal."),
             rule("any", "defect", "Rust anywhere is a defect.", class_name="*"),
             rule("other", "defect", "A bent pin is a defect.", class_name="transistor")]
    ensemble = class_prompts("metal_nut", rules)
    assert "A crack on the thread is a defect." in ensemble.abnormal
    assert "a photo of a metal nut: a crack on the thread is a defect." in ensemble.abnormal
    assert "Rust anywhere is a defect." in ensemble.abnormal
    assert {"Dust specks are acceptable.", "A bright rim is normal."} <= set(ensemble.normal)
    everything = " ".join(ensemble.normal + ensemble.abnormal)
    assert "bent pin" not in everything
    assert "Dust" not in " ".join(ensemble.abnormal) and "crack" not in " ".join(ensemble.normal)
    base = class_prompts("metal_nut")
    assert len(ensemble.abnormal) == len(base.abnormal) + 4 and len(ensemble.normal) == len(base.normal) + 4


def test_prompts_are_pure_and_repeat_nothing():
    rules = [rule("a", "defect", "A scratch is a defect."), rule("b", "defect", "A scratch is a defect.")]
    assert class_prompts("bottle", rules) == class_prompts("bottle", rules)
    assert len(set(class_prompts("bottle", rules).abnormal)) == len(class_prompts("bottle", rules).abnormal)
    assert state_prompts("bottle", ["{}", "{}"], ["a photo of a {}."]) == ("a photo of a bottle.",)
