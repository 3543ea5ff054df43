"""A class's text map in its calibration: heads trained when references or rules change (not on the next
inspection), and with a fused map the threshold set on the fused scores."""

import json
import shutil

import numpy as np
import pytest

from assistant.records.ingestion import images_in
from retrieval.calibration import Calibration, conformal_rank
from test_text_map_evidence import clad_inspector, trainings  # noqa: F401  (a fixture)


def stored_digest(home) -> str:
    (record,) = [json.loads(p.read_text()) for p in (home / "text_heads").glob("*.json")]
    return record["digest"]


def test_ingest_trains_the_heads_with_a_progress_bar(tmp_path, texture_set, trainings, capfd):
    inspector = clad_inspector(tmp_path / "home")
    inspector.references.ingest([("brick", p) for p in images_in(texture_set / "train")])
    assert trainings == ["brick"] and stored_digest(tmp_path / "home")          # before any inspection
    assert "training the text heads of brick" in capfd.readouterr().err
    inspector.inspect(sorted((texture_set / "test" / "good").glob("*.png"))[0], "brick", log=False)
    assert trainings == ["brick"]                                              # the inspection reuses them


def test_a_rule_edit_retrains_at_once_and_a_star_rule_does_not(tmp_path, ready_home, trainings):
    home = tmp_path / "home"
    shutil.copytree(ready_home.root, home)
    inspector = clad_inspector(home)
    inspector.rule_book.add("Compare the part with its references.", "*", "normality")
    assert trainings == []                                            # "*" rules are not the class's texts
    rule = inspector.rule_book.add("A white crust on the brick face is a defect.", "brick", "defect")
    first = stored_digest(home)
    inspector.rule_book.delete(rule.id)
    assert trainings == ["brick", "brick"] and stored_digest(home) != first


@pytest.fixture(scope="module")
def fused_home(tmp_path_factory, ready_home):
    home = tmp_path_factory.mktemp("fused") / "home"
    shutil.copytree(ready_home.root, home)
    return home


def test_a_fused_map_is_calibrated_on_its_own_leave_one_out_scores(fused_home, inspector):
    fused = clad_inspector(fused_home, weight=0.5)
    with fused.workspace.using_store():
        calibration = fused.thresholds.current("brick")
        plain = inspector.thresholds.current("brick")
        references = fused.workspace.references.of_class("brick")
    assert calibration.few_shot_threshold == pytest.approx(plain.threshold, rel=1e-6)
    assert calibration.scale == calibration.few_shot_threshold != calibration.threshold
    scores = []                                   # each reference inspected as a query, leaving itself out
    for reference in references:
        query = fused.scorer.copy_of(reference)
        scores.append(fused.gatherer.gather(query, "brick", with_rules=False, exclude={reference.sha256}).map_score)
    rank = conformal_rank(len(scores), calibration.target_overkill)
    assert calibration.threshold == pytest.approx(sorted(scores)[rank - 1], rel=1e-4)
    assert calibration.n_scored == len(references)


def test_the_fused_calibration_follows_the_weight(fused_home):
    thresholds = {w: clad_inspector(fused_home, weight=w).thresholds for w in (0.25, 0.5)}
    current = {}
    for w, t in thresholds.items():
        with t.ws.using_store():
            current[w] = t.current("brick")
    assert current[0.25].threshold != current[0.5].threshold
    assert current[0.25].few_shot_threshold == pytest.approx(current[0.5].few_shot_threshold)
    assert "|w=0.5|" in current[0.5].settings and "|text=clad:" in current[0.5].settings


def test_a_calibration_without_a_fused_map_keeps_its_old_digest():
    entry = Calibration("brick", 1.5, 1.0, 0.2, 20, 20, "f", "s").sealed()
    old = {k: v for k, v in entry.to_dict().items() if k != "few_shot_threshold"}   # as stored before the field
    assert Calibration(**old).usable() and Calibration(**old).scale == 1.5
    fused = Calibration("brick", 1.5, 1.0, 0.2, 20, 20, "f", "s", few_shot_threshold=1.2).sealed()
    assert fused.scale == 1.2 and fused.digest != entry.digest
    assert not Calibration(**{**fused.to_dict(), "few_shot_threshold": np.nan}).usable()
