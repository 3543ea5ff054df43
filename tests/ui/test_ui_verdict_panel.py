"""The verdict card's words as plain functions: the score in words rounded once, the card without the
reasoning, the chat without the per-verdict mode notice, defects first, a warning for a class with no rules."""

from assistant.verdict import score_in_words
from ui.evidence_panel import no_rules_warning, region_words, rules_table, verdict_card, verdict_message

NOTICE = "No language model is configured, so this verdict comes from the visual evidence alone."
VERDICT = {"status": "vision_only", "correctness": 0, "anomaly_score": 1.2349, "threshold": 36.48, "map_score": 45.0,
           "class_name": "brick", "defect_box": [10, 20, 40, 35], "notice": NOTICE,
           "reasoning": f"{NOTICE}\nScore: {score_in_words(1.2349)} of brick.\nNearest normal reference: a.png"}


def test_the_score_is_said_in_words_and_rounded_once():
    assert score_in_words(1.2349) == "23 % over the class limit"
    assert score_in_words(0.5899) == "41 % under the class limit"
    assert score_in_words(1.004) == "at the class limit"


def test_the_card_is_short_and_the_chat_says_the_reasoning_once_without_the_notice():
    card, message = verdict_card(VERDICT), verdict_message(VERDICT, "Class: brick")
    assert "FAIL" in card and "23 % over the class limit" in card and "30×15 px" in card
    assert "Nearest normal reference" not in card and "threshold" not in card
    assert "23 % over the class limit" in message and message.count("Nearest normal reference") == 1
    assert "No language model" not in message
    held = dict(VERDICT, status="out_of_distribution", notice="Nearest known class: grass.")
    assert "OUT OF DISTRIBUTION" in verdict_card(held) and "nc-ood" in verdict_card(held)
    assert "Nearest known class: grass." in verdict_card(held)
    assert region_words(None) == "no defect region"


def test_rules_are_ordered_defects_first_and_a_class_without_rules_is_warned_about():
    rules = [{"kind": k, "severity": "info", "text": k, "id": k} for k in ("accepted_noise", "normality", "defect")]
    table = rules_table(rules)
    assert table.index(">defect<") < table.index(">normality<") < table.index(">accepted_noise<")
    warning = no_rules_warning("solar_cell", {"solar_cell_mono", "solar_cell_poly", "brick", "*"})
    assert "solar_cell has no rules" in warning and "solar_cell_mono, solar_cell_poly" in warning
    assert "brick" not in warning
    assert "no rules" in rules_table([], missing=warning) and "switched off" in rules_table([], True, warning)


def test_the_region_says_mm_only_with_a_scale():
    assert region_words([10, 20, 50, 30]) == "region x 10-50, y 20-30 px (40×10 px)"
    assert region_words([10, 20, 50, 30], 0.05) == "region x 10-50, y 20-30 px (40×10 px, 2.00×0.50 mm)"
    card = verdict_card({"correctness": 0, "status": "vision_only", "anomaly_score": 1.3, "class_name": "brick",
                         "defect_box": [0, 0, 400, 10], "mm_per_px": 0.05})
    assert "(400×10 px, 20.0×0.50 mm)" in card
