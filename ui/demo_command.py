"""`normalcy demo`: build a demo store from real images and inspect a few parts."""

from __future__ import annotations

import click

from ui.inspect_command import render_verdict


@click.command()
@click.option("--source", type=click.Choice(["all", "elpv", "textures"]), default="all", show_default=True)
@click.option("--references", "n_references", default=120, show_default=True,
              help="Normal ELPV cells ingested as references.")
@click.pass_obj
def demo(obj, source, n_references):
    """Ingest demo references (ELPV solar cells, textures), then inspect held-out good and defective parts."""
    inspector = obj.inspector
    references, cases, notices = inspector.demo_parts(source, n_references)
    for notice in notices:
        click.echo(notice)
    click.echo(f"data home: {obj.home.root}")
    click.echo(inspector.references.ingest(references).summary())
    correct, explained = 0, None
    for case in cases:
        verdict = inspector.inspect(case.path, case.class_name).verdict
        got = "normal" if verdict.correctness == 1 else "defective"
        correct += got == case.expected
        if explained is None and verdict.correctness == 0:
            explained = (verdict, case.path)
        click.echo(f"{verdict.label}  {case.class_name:<16} {case.path.name:<16} score {verdict.anomaly_score:5.2f}"
                   f"  (expected {case.expected})")
    click.echo(f"{correct}/{len(cases)} as expected.")
    if explained:
        click.echo("\nWhy, for the first rejected part:\n" + render_verdict(*explained))
    click.echo(f"\nNext: normalcy --home {obj.home.root} inspect IMAGE --class solar_cell_mono"
               f"   |   normalcy --home {obj.home.root} serve")
