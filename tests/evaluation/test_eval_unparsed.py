"""A model whose answers cannot be parsed: every unparsed verdict is counted and kept in the metrics
(never dropped), and the evidence is gathered once per image for all strategies of the ablation."""

import json
import pytest
from eval_datasets import write_mvtec
from scripted_backend import ScriptedBackend

from assistant.config import NormalcyConfig
from assistant.inspector import Inspector
from assistant.evaluation.dataset import load_dataset
from assistant.inspection.evidence import EvidenceGatherer
from assistant.evaluation.harness import run_evaluation
from ui.eval_report import write_report


STRATEGIES = ("vision_only", "naive", "reference")


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval_unparsed")
    dataset = load_dataset(write_mvtec(root / "mvtec", classes=("brick",)), "mvtec")
    backend = ScriptedBackend(["It looks fine to me, I guess.", "Sorry, still no JSON here."])
    gathered = []
    real_gather = EvidenceGatherer.gather
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(EvidenceGatherer, "gather", lambda self, *a, **k: (gathered.append(a[0].sha256),
                                                                          real_gather(self, *a, **k))[1])
        config = NormalcyConfig()
        result = run_evaluation(dataset, root / "out", config, [",".join(STRATEGIES)], backend=backend,
                                inspector_for=lambda home, model: Inspector(config, home, backend=model))
    write_report(result.document, root / "out", curves=result.curves, worst=result.worst, notes=result.notes)
    return result, root / "out", gathered, backend


def test_unparsed_answers_are_counted_never_dropped(outcome):
    result, out, _, _ = outcome
    doc = json.loads((out / "metrics.json").read_text())
    assert list(doc["strategies"]) == list(STRATEGIES) and doc["config"]["model"].startswith("scripted")
    for name in ("naive", "reference"):
        brick = doc["strategies"][name]["classes"]["brick"]
        assert brick["n"] == 4 and brick["n_unparsed"] == 4 and brick["auroc"] is not None
    vision = doc["strategies"]["vision_only"]["classes"]["brick"]
    assert vision["n_unparsed"] == 0 and vision["n_vision_only"] == 4
    # an unreadable answer is decided from the evidence, like the vision-only verdict
    assert doc["strategies"]["naive"]["classes"]["brick"]["acc"] == vision["acc"]
    assert doc["classes"] == doc["strategies"]["vision_only"]["classes"]   # headline: the first one asked for
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    kept = [e["raw_text"] for e in lines if e["strategy"] != "vision_only" and e["status"] == "unparsed"]
    assert len(kept) == 8 and all("still no JSON" in text for text in kept)   # the raw answers are kept


def test_evidence_is_gathered_once_per_image_for_all_strategies(outcome):
    result, _, gathered, backend = outcome
    shown = len(result.worst)                          # worst cases are gathered again for their overlays
    assert len(gathered) == 4 + shown and len(set(gathered[:4])) == 4
    assert result.computed == 4 * len(STRATEGIES) and result.reused == 0
    assert len(backend.calls) == 4 * 2 * 2             # 2 model strategies, one re-ask each


def test_report_shows_the_ablation_and_the_unparsed_count(outcome):
    _, out, _, _ = outcome
    md = (out / "report.md").read_text()
    assert "## Prompting strategies" in md
    for name in STRATEGIES:
        assert f"| {name} |" in md
    assert "VLM rows" not in md
