"""Inspections on a real brick texture with a tiny random model of each family built from its REAL
config and processor files (tests/real_vlm_factory.py), the model given as a folder path.

The default strategy (overlay: 2 references + query + overlay, guided JSON) with the real image
processors, so every prompt carries the family's real image token counts. The answer budget and the
calibration are kept small so the runs stay fast on 2 cores (~1 min for all five). One family goes
through the console script (`normalcy inspect --model PATH --json`, ~25 s, most of it process start);
the others through the same Inspector in-process, loading the folder from `vlm.model`.
"""

from __future__ import annotations

import json
import shutil

import pytest
from real_vlm_factory import SOURCES

# a random model answers at random: parsed, it is "ok", or "needs_review" where it contradicts the map
ANSWERED = ("ok", "needs_review")

FAST = {"max_new_tokens": 48, "calibration_samples": 2}


def _defect(texture_set):
    return sorted((texture_set / "test" / "defect").glob("*.png"))[0]


def test_cli_inspect_with_the_real_qwen2_vl_folder_answers_ok(real_model_dir, ready_home, texture_set, guided,
                                                             tmp_path):
    """The issue's failing case: Qwen2-VL-2B's config, 512x512 brick -> 324 image tokens per image."""
    from cli_runner import run_cli

    folder = real_model_dir("qwen2_vl")
    home = shutil.copytree(ready_home.root, tmp_path / "home")
    config = tmp_path / "fast.yaml"
    config.write_text("vlm:\n" + "".join(f"  {key}: {value}\n" for key, value in FAST.items()))
    done = run_cli("--home", str(home), "--config", str(config), "inspect", str(_defect(texture_set)),
                   "--class", "brick", "--model", str(folder), "--json", env={"OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    verdict = json.loads(done.stdout)
    assert verdict["status"] in ANSWERED, verdict
    assert verdict["model"] == folder.name and verdict["correctness"] in (0, 1)
    assert 0.0 <= verdict["model_score"] <= 1.0 and len(verdict["references"]) >= 2


@pytest.mark.parametrize("family", [family for family in SOURCES if family != "qwen2_vl"])
def test_inspect_with_a_real_processor_folder_answers_ok(family, real_model_dir, ready_home, texture_set, guided,
                                                         tmp_path):
    from assistant.config import NormalcyConfig, VLMConfig
    from assistant.home import Home
    from assistant.inspector import Inspector

    folder = real_model_dir(family)
    home = Home(shutil.copytree(ready_home.root, tmp_path / "home"))
    # fusion_weight 0: no calibration runs (the CLI test above calibrates); one guided generation
    inspector = Inspector(NormalcyConfig(vlm=VLMConfig(model=str(folder), **FAST, fusion_weight=0.0)), home)
    inspection = inspector.inspect(_defect(texture_set), "brick", log=False)
    verdict = inspection.verdict
    assert verdict.status in ANSWERED and verdict.correctness in (0, 1) and verdict.model == folder.name
    assert 0.0 <= verdict.model_score <= 1.0
    assert sum(len(m.images) for m in inspection.session.history) == 4  # 2 references + query + overlay
