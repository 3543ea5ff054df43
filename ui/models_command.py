"""`normalcy models`: check a local model folder, list the model presets.

Neither command loads weights, torch or transformers: `check` reads config.json, the shard index and
safetensors headers only. A path that is not a complete model folder is an operator error (exit 2):
the report is printed first, then one line saying what is missing.
"""

from __future__ import annotations

import json

import click

from assistant.model_catalog import all_presets, check_model_dir, report_lines
from retrieval.errors import MissingWeights


@click.group()
def models():
    """Local vision-language models: check a folder, list presets."""


@models.command("check")
@click.argument("path", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def check(path, as_json):
    """Is PATH a complete model folder of a supported family? Parameters and memory estimate."""
    report = check_model_dir(path)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo("\n".join(report_lines(report)))
    if not report.complete:
        raise MissingWeights(f"{report.path} is not a complete model folder; missing: {'; '.join(report.missing)}")


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the presets as a JSON list.")
def list_presets(as_json):
    """The shipped presets, where each expects its model, and whether that folder exists."""
    rows = [_row(preset) for preset in all_presets()]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        where = row["path"] or row["url"]
        state = "" if row["backend"] != "transformers" else ("found" if row["exists"] else "missing")
        click.echo(f"{row['name']:<22} {row['backend']:<13} {state:<8} {where}")
        click.echo(f"{'':<22} {row['description']}")


def _row(preset) -> dict:
    path = preset.local_path
    return {"name": preset.name, "backend": preset.backend, "description": preset.description,
            "path": str(path) if path else None, "exists": bool(path and path.is_dir()),
            "url": preset.url, "quantization": preset.quantization, "dtype": preset.dtype}
