"""`normalcy eval`: a labelled dataset in; DIR/metrics.json, DIR/report.md and DIR/report.html out."""

from __future__ import annotations

from pathlib import Path

import click

STRATEGY_HELP = ("vision_only, naive, class, rules, reference, rules_reference, overlay, or all (repeat the "
                 "option or separate by commas). Default: the configured prompt strategy with --model, "
                 "else vision_only.")


@click.command("eval")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--layout", required=True, metavar="mvtec|visa|folder|json",
              help="How DATASET is laid out (see assistant/evaluation/dataset.py).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder: metrics.json, report.md, report.html, cases/, results.jsonl, home/.")
@click.option("--strategy", "strategies", multiple=True, help=STRATEGY_HELP)
@click.option("--classes", help="Only these classes (comma-separated).")
@click.option("--model", help="VLM preset name (see `normalcy models list`) or local model folder.")
@click.option("--limit", type=click.IntRange(min=1), help="At most N test images per class (stratified).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the folder layout's reference/test split and of --limit's pick.")
@click.option("--add-normal", "add_normal", metavar="GROUP",
              help="NAND protocol: re-label defect group GROUP (test/GROUP/) normal, add its normality by text, "
                   "report AUROC before/after and each other group's (OUT/nand.json).")
@click.pass_obj
def evaluate(obj, dataset, layout, out_dir, strategies, classes, model, limit, seed, add_normal):
    """Evaluate on DATASET: references from the training normals only, metrics per class, a report.

    Re-running with the same --out continues an interrupted run (results are cached per image,
    strategy and configuration in OUT/results.jsonl)."""
    from ui.eval_report import write_report

    if model:
        obj.use_model(model)
    outcome = obj.inspector.evaluate(dataset, layout, out_dir, strategies, classes, limit=limit, seed=seed,
                                     add_normal=add_normal)
    if add_normal:
        click.echo("\n".join([f"wrote {outcome.path}", *outcome.summary_lines()]))
        return
    md, page = write_report(outcome.document, out_dir, curves=outcome.curves, worst=outcome.worst,
                            notes=outcome.notes)
    click.echo(summary(outcome, md, page))


def summary(outcome, md: Path, page: Path) -> str:
    """What was written, and the mean metrics of each strategy."""
    lines = [f"wrote {outcome.metrics_path}, {md}, {page}",
             f"{outcome.computed} verdict(s) computed, {outcome.reused} reused from earlier runs"]
    lines += outcome.summary_lines()
    lines += [f"note: {note}" for note in outcome.notes]
    return "\n".join(lines)
