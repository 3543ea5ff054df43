"""Names from a dataset never become paths outside --out: class and defect-type names like `../../escape`
(possible in the json and visa layouts) are rewritten before they are joined to a folder."""

from pathlib import Path

import pytest
from PIL import Image

from assistant.evaluation.dataset import Sample
from assistant.evaluation.worst_cases import save_overlays
from retrieval.errors import BadInput
from retrieval.path_part import inside, path_part


class _Evidence:
    def overlay(self, style):
        return Image.new("RGB", (8, 8))


@pytest.mark.parametrize("class_name, defect_type", [("../../escape", "good"), ("brick", "../../../x"),
                                                     ("{tmp}/absolute", "a/../b"), ("..", "..")])
def test_worst_case_overlays_stay_inside_the_cases_folder(tmp_path, class_name, defect_type):
    class_name = class_name.format(tmp=tmp_path)        # an absolute name, kept inside tmp_path if it escapes
    out = tmp_path / "deep" / "out" / "cases"
    sample = Sample(tmp_path / "img.png", class_name, 1, defect_type)
    case = {"sample": sample, "class_name": class_name, "sha256": "ab" * 32}
    shown = save_overlays(lambda s: _Evidence(), [case], out, {class_name: "c0ffee" * 2})
    written = [p for p in tmp_path.rglob("*.png")]
    assert written and all(out.resolve() in p.resolve().parents for p in written), written
    assert Path(shown[0]["overlay"]).is_file()


def test_path_part_keeps_safe_names_and_separates_rewritten_ones():
    assert path_part("screw_2-b.v1") == "screw_2-b.v1"
    assert "/" not in path_part("../../x") and not path_part("../../x").startswith(".")
    assert path_part("a/b") != path_part("a_b") and path_part("") != ""


def test_inside_refuses_a_path_that_climbs_out(tmp_path):
    with pytest.raises(BadInput, match="outside"):
        inside(tmp_path / "out", tmp_path / "out" / ".." / "x.png")


def test_eval_of_a_json_dataset_with_climbing_names_writes_only_inside_out(tmp_path):
    import json

    import numpy as np
    import skimage.data

    from assistant.config import NormalcyConfig
    from assistant.demo.synthetic_defect import add_defect
    from assistant.demo.synthetic_defect import tiles as cut_tiles
    from assistant.home import Home
    from assistant.inspector import Inspector

    data = tmp_path / "deep" / "er" / "data"
    data.mkdir(parents=True)
    tiles = cut_tiles(skimage.data.brick(), 96)
    items = []
    for i, tile in enumerate(tiles[:4]):
        Image.fromarray(tile).save(data / f"ref{i}.png")
        items.append({"image": f"ref{i}.png", "class": "../../escape", "label": 0, "split": "train"})
    # mislabelled on purpose, so both are worst cases whose overlays are written: a clean tile labelled
    # defective (a defect passed) and a scratched one labelled good (a good part rejected)
    Image.fromarray(tiles[5]).save(data / "bad.png")
    defect, _ = add_defect(tiles[6], "scratch", np.random.default_rng(0))
    Image.fromarray(defect).save(data / "good.png")
    items += [{"image": "good.png", "class": "../../escape", "label": 0},
              {"image": "bad.png", "class": "../../escape", "label": 1, "defect_type": "../../../x"}]
    (data / "set.json").write_text(json.dumps(items))
    before = set(tmp_path.parent.rglob("*"))
    out = data.parent / "out"
    Inspector(NormalcyConfig(), Home(tmp_path / "unused")).evaluate(data / "set.json", "json", out)
    written = [p for p in set(tmp_path.parent.rglob("*")) - before if p.is_file()]
    assert list((out / "cases").rglob("*.png")), "no worst-case overlay was written"
    assert written and all(out in p.parents for p in written), sorted(map(str, written))
