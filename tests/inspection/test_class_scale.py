"""A class's scale (`classes: {NAME: {mm_per_px}}`): checked at load (one line, exit 2); with it the "where"
follow-up and the verdict's box give the size in mm beside px; without it, px only and no mm claim."""

import re

import pytest
from cli_runner import run_cli
from PIL import Image

from assistant.config import NormalcyConfig, from_dict
from assistant.inspection.evidence import scale_of
from assistant.inspection.inputs import LoadedImage
from assistant.inspector import Inspector
from retrieval.errors import ConfigError


def _defect(texture_set):
    return sorted((texture_set / "test" / "defect").glob("*.png"))[0]


@pytest.mark.parametrize("value", [".nan", "0", "-0.1", "'fine'", ".inf"])
def test_a_bad_scale_is_one_line_and_exit_2(ready_home, texture_set, tmp_path, value):
    config = tmp_path / "scale.yaml"
    config.write_text(f"classes:\n  brick:\n    mm_per_px: {value}\n")
    done = run_cli("--home", str(ready_home.root), "--config", str(config), "inspect", str(_defect(texture_set)),
                   "--class", "brick")
    assert done.returncode == 2 and done.stdout == "", done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "classes.brick.mm_per_px" in lines[0], done.stderr


def test_unknown_class_settings_are_refused():
    with pytest.raises(ConfigError, match="classes.brick: unknown key"):
        from_dict(NormalcyConfig, {"classes": {"brick": {"mm_per_pixel": 0.1}}})
    assert NormalcyConfig().hash() == from_dict(NormalcyConfig, {"classes": {}}).hash()


def test_where_and_the_verdict_box_say_mm_with_a_scale(ready_home, texture_set):
    config = from_dict(NormalcyConfig, {"classes": {"brick": {"mm_per_px": 0.05}}})
    inspection = Inspector(config, ready_home).inspect(_defect(texture_set), "brick", log=False)
    verdict = inspection.verdict
    x0, y0, x1, y1 = verdict.defect_box
    assert verdict.mm_per_px == 0.05
    answer = "".join(Inspector(config, ready_home).ask(inspection, "where exactly, and how big?"))
    size = f"({x1 - x0}×{y1 - y0} px, {(x1 - x0) * 0.05:.2f}×{(y1 - y0) * 0.05:.2f} mm)"
    assert f"the verdict's box, x {x0}-{x1}, y {y0}-{y1} px {size}" in answer, answer
    assert "classes.brick.mm_per_px" in answer


def test_without_a_scale_sizes_are_px_only(ready_home, texture_set):
    inspector = Inspector(NormalcyConfig(), ready_home)
    inspection = inspector.inspect(_defect(texture_set), "brick", log=False)
    answer = "".join(inspector.ask(inspection, "where exactly?"))
    assert inspection.verdict.mm_per_px is None and not re.search(r"\d mm\b", answer)
    assert "no millimetre scale configured" in answer


def test_a_reduced_decode_scales_the_mm_per_pixel():
    config = from_dict(NormalcyConfig, {"classes": {"brick": {"mm_per_px": 0.05}}})
    reduced = LoadedImage(Image.new("RGB", (100, 75)), "0" * 64, None, "RGB", "PNG", source_size=(400, 300))
    assert scale_of(config, "brick", reduced) == pytest.approx(0.2)
    assert scale_of(config, "other", reduced) is None
