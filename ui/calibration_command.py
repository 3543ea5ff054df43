"""`normalcy calibration show CLASS` / `set CLASS --target-overkill RATE`: a class's operating point."""

from __future__ import annotations

import json

import click


@click.group()
def calibration():
    """Show or set a class's threshold, its stated overkill and its out-of-distribution limit."""


@calibration.command()
@click.argument("class_name", metavar="CLASS")
@click.option("--json", "as_json", is_flag=True, help="Print the calibration record as one JSON object.")
@click.pass_obj
def show(obj, class_name, as_json):
    """The threshold of CLASS, the overkill it was set for and can promise, and what it rests on
    (recomputed first when its references or settings changed)."""
    record = obj.inspector.references.calibration(class_name)
    own = obj.inspector.references.own_target(class_name)
    if as_json:
        click.echo(json.dumps({**record.to_dict(), "target_set_for_class": own is not None}, allow_nan=False))
    else:
        click.echo(render_calibration(record, own is not None))


@calibration.command(name="set")
@click.argument("class_name", metavar="CLASS")
@click.option("--target-overkill", type=float, required=True,
              help="The false-alarm rate this class's threshold is set for (0 < RATE < 0.5), e.g. 0.01.")
@click.pass_obj
def set_target(obj, class_name, target_overkill):
    """Set CLASS's own overkill target (kept in the data home) and recalibrate the class."""
    record = obj.inspector.references.set_target(class_name, target_overkill)
    click.echo(render_calibration(record, True))


def render_calibration(record, own_target: bool) -> str:
    """The human-readable calibration block of one class."""
    whose = "set for this class" if own_target else "the configured calibration.target_overkill"
    expected = "unknown" if record.expected_overkill is None else f"{record.expected_overkill:.2%}"
    target = "unknown" if record.target_overkill is None else f"{record.target_overkill:.2%}"
    ood = ("off (calibration.ood_margin is null)" if record.ood_limit is None else
           f"{record.ood_limit:.4f} cosine distance to the nearest reference (from {record.ood_normals} "
           "normals, leave-one-out); farther is OUT OF DISTRIBUTION")
    return "\n".join([
        f"{record.class_name}: threshold {record.threshold:.6g} (raw map score; verdicts show it as 1.00)",
        f"  target overkill    {target} ({whose})",
        f"  expected overkill  {expected}, resting on {record.n_scored} leave-one-out normal scores",
        f"  computed           {record.computed_at or 'at an unknown time'} from {record.n_references} references "
        f"(set {record.fingerprint})",
        f"  settings           {record.settings}",
        f"  out of distribution {ood}"])
