"""`normalcy doctor`: say what in the data home is damaged; with --repair, rebuild what can be rebuilt."""

from __future__ import annotations

import click

from retrieval.errors import CorruptState


@click.command()
@click.option("--repair", is_flag=True, help="Recompute damaged features from the stored copies, the index from "
                                             "the features, calibration from the features.")
@click.pass_obj
def doctor(obj, repair):
    """Check the data home: store, cached features, reference copies, index, calibration, model calibration."""
    report = obj.inspector.doctor.examine(repair=repair)
    for line in report.lines():
        click.echo(line)
    if report.remaining:
        raise CorruptState(report.summary())
