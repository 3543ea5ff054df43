"""The evaluation report renders self-contained, escaped Markdown and HTML from a synthetic metrics dict."""

import base64
import io
import re

import numpy as np
from PIL import Image

from assistant.evaluation import metrics as m
from assistant.evaluation.metrics import ImageRecord
from ui.eval_report import write_report

EVIL = "<script>alert(1)</script>"


def synthetic_records(tmp_path):
    r = np.random.default_rng(0)
    records = []
    for cls in ("bottle", EVIL):
        for i in range(20):
            label = int(i % 3 == 0)
            score = float(r.random() + 0.6 * label + 0.3)
            path = tmp_path / f"img_{len(records)}.png"
            records.append(ImageRecord(cls, label, score, int(score > 1.0), "unparsed" if i == 5 else "ok",
                                       str(path)))
    return records


def build(tmp_path):
    records = synthetic_records(tmp_path)
    per_class = m.summarise_classes(records, pixel={"bottle": {"pixel_auroc": 0.91, "aupro": 0.77}})
    worse = {name: {**row, "auroc": 0.5, "acc": 0.4} for name, row in per_class.items()}
    doc = m.metrics_document(per_class, {"k": 3, "model": None},
                             strategies={"task+class": per_class, "task only": worse})
    curves = {}
    for name in per_class:
        mine = [x for x in records if x.class_name == name]
        curves[name] = m.curves([x.label for x in mine], [x.score for x in mine])
    worst = m.worst_cases(records, k=2)
    Image.new("RGB", (600, 400), (200, 30, 30)).save(tmp_path / "overlay.png")
    worst[0]["overlay"] = str(tmp_path / "overlay.png")
    worst[0]["reasoning"] = "scratch near the <rim> & cap"
    return doc, curves, worst


def test_report_files_rows_charts_and_no_remote_references(tmp_path):
    doc, curves, worst = build(tmp_path)
    md, page = write_report(doc, tmp_path / "out", curves=curves, worst=worst)
    assert md.is_file() and page.is_file()
    text = page.read_text(encoding="utf-8")
    assert "<td>bottle</td>" in text and "<td>mean</td>" in text
    assert text.count("<svg") >= 4 and "<polyline" in text
    assert "http://" not in text and "https://" not in text and "<script" not in text.lower()
    assert "<link" not in text and "src=\"http" not in text
    assert "Prompting strategies" in text and "task only" in text
    assert "0.910" in text  # pixel AUROC column
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.html", "report.md"]


def test_class_names_and_reasoning_are_escaped(tmp_path):
    doc, curves, worst = build(tmp_path)
    md, page = write_report(doc, tmp_path / "out", curves=curves, worst=worst)
    text = page.read_text(encoding="utf-8")
    assert EVIL not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;rim&gt; &amp; cap" in text
    assert EVIL not in md.read_text(encoding="utf-8")


def test_worst_case_images_are_embedded_downscaled(tmp_path):
    doc, curves, worst = build(tmp_path)
    _, page = write_report(doc, tmp_path / "out", curves=curves, worst=worst)
    text = page.read_text(encoding="utf-8")
    uris = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert uris
    with Image.open(io.BytesIO(base64.b64decode(uris[0]))) as img:
        assert max(img.size) <= 256 and img.size == (256, 171)
    assert "(unavailable:" in text  # the other worst cases point at images that do not exist


def test_minimal_metrics_render_with_nulls(tmp_path):
    doc = {"classes": {"nut": {"auroc": None, "acc": 0.5, "n": 2}}, "mean": {"auroc": None}, "config": {}}
    md, page = write_report(doc, tmp_path)
    assert "| nut |" in md.read_text(encoding="utf-8") and "–" in page.read_text(encoding="utf-8")
    assert "Prompting strategies" not in page.read_text(encoding="utf-8")
    write_report(doc, tmp_path)  # overwriting is fine
