"""`normalcy history`: the run log for the plant — export a date range for the MES, apply image retention."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import click

from retrieval.atomic_file import write_text


@click.group()
def history():
    """Past inspections in the run log: export them, prune their stored images."""


@history.command()
@click.option("--since", required=True, help="First day (YYYY-MM-DD) or local time (YYYY-MM-DDTHH:MM:SS).")
@click.option("--until", required=True, help="Last day, included (YYYY-MM-DD), or local time.")
@click.option("--format", "fmt", default="jsonl", show_default=True, help="jsonl (everything logged) or csv.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write to this file (default: stdout).")
@click.pass_obj
def export(obj, since, until, fmt, out):
    """Export the inspections logged in a date range as JSONL or CSV."""
    if out is None:
        count = obj.inspector.history.export(since, until, fmt, sys.stdout)
    else:
        buffer = io.StringIO()
        count = obj.inspector.history.export(since, until, fmt, buffer)
        write_text(Path(out), buffer.getvalue())       # whole or not at all
    click.echo(f"exported {count} inspection(s)", err=True)


@history.command()
@click.pass_obj
def prune(obj):
    """Remove stored images as `records.keep_images` / `keep_images_days` say (verdict lines are kept)."""
    click.echo(obj.inspector.history.prune().summary())
