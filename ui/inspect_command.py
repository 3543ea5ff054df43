"""`normalcy inspect`: one image, one verdict."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("image", type=click.Path(path_type=Path))
@click.option("--class", "class_name", required=True, help="Product class of the part.")
@click.option("--question", "-q", help="The operator's question (ranks the rules; passed to the model).")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object on stdout.")
@click.option("--overlay", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the anomaly overlay (heatmap, contour, box) to this PNG.")
@click.option("--model", help="VLM preset name (see `normalcy models list`) or local model folder.")
@click.option("--strategy", help="Prompting strategy: naive, class, rules, reference, rules_reference, overlay.")
@click.option("--modality", type=click.Choice(["image", "point_cloud", "time_series", "video"]),
              help="What the file(s) are, when the extension does not say (default: by extension).")
@click.pass_obj
def inspect(obj, image, class_name, question, as_json, overlay, model, strategy, modality):
    """Inspect IMAGE as a part of CLASS: is it defective, and why?

    Prints PASS, FAIL, NEEDS REVIEW or OUT OF DISTRIBUTION (the part does not look like CLASS: neither
    passed nor failed, held); exits 0 for each of them: the verdict is the output, not an error."""
    if model:
        obj.use_model(model)
    inspection = obj.inspector.inspect(image, class_name, question=question, strategy=strategy, modality=modality)
    if overlay:
        inspection.evidence.overlay("all").save(overlay)
    if as_json:
        click.echo(inspection.verdict.to_json())
    else:
        click.echo(render_verdict(inspection.verdict, image))


def render_verdict(verdict, image: Path) -> str:
    """The human-readable verdict block."""
    lines = [f"{verdict.label}  {Path(image).name}  [{verdict.class_name}]  "
             f"score {verdict.anomaly_score:.2f} x threshold  ({verdict.status})"]
    if verdict.defect_box:
        lines.append(f"  defect box: {verdict.defect_box}")
    if verdict.status in ("needs_review", "out_of_distribution"):
        lines.append(f"  {verdict.notice}")
    point = verdict.operating_point
    if point and point.get("expected_overkill") is not None:
        lines.append(f"  operating point: target overkill {point['target_overkill']:.1%}, expected "
                     f"{point['expected_overkill']:.1%} on {point['normals']} leave-one-out normals")
    if verdict.region_check:
        agrees = "agrees with" if verdict.region_check["agrees"] else "does NOT agree with"
        lines.append(f"  the region the model names ({verdict.region_check['named']}) {agrees} the anomaly map")
    lines += ["  " + line for line in verdict.reasoning.splitlines()]
    return "\n".join(lines)
