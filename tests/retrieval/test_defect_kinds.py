"""Which defect kinds a normality added by text names, and what it is contrasted with (defect_kinds)."""

from assistant.inspection.class_texts import ABNORMAL_TEMPLATES
from retrieval.text_space import defect_kinds, synthetic

DEFECTS = tuple(t.format("brick") for t in ABNORMAL_TEMPLATES)


def test_every_synthetic_anomaly_kind_has_texts_and_names():
    assert tuple(defect_kinds.KIND_TEXTS) == synthetic.ANOMALY_KINDS == tuple(defect_kinds.KIND_NAMES)
    texts = defect_kinds.kind_texts("metal nut")
    assert texts["stain"][0] == "a stain on a metal nut" and all(len(t) >= 3 for t in texts.values())


def test_a_normality_names_the_kinds_its_words_say():
    assert defect_kinds.named_kinds("a stain") == ("stain",)
    assert defect_kinds.named_kinds("Stained spots near the rim") == ("stain",)
    assert defect_kinds.named_kinds("thin dark lines along the mortar") == ("scratch",)
    assert defect_kinds.named_kinds("small chips in the brick edges") == ()


def test_a_stain_is_contrasted_with_the_other_kinds_and_the_defect_texts_not_naming_it():
    others = defect_kinds.other_defects("a stain", "brick", DEFECTS)
    kinds = defect_kinds.kind_texts("brick")
    assert others[:3] == [kinds["cut_paste"], kinds["scratch"], kinds["perlin"]]
    assert "a brick with a stain" in DEFECTS and "a brick with a stain" not in others[3]
    assert "a photo of a brick with a scratch" in others[3] and "a photo of a damaged brick" in others[3]


def test_the_class_name_alone_does_not_exclude_a_defect_text():
    """"brick chips" shares "brick" with every defect text of the class: that is not naming them."""
    others = defect_kinds.other_defects("brick chips", "brick", DEFECTS)
    assert len(others) == 5 and others[-1] == DEFECTS
    assert defect_kinds.other_defects("a stain", "brick", ()) == others[:1] + others[1:2] + others[3:4]
