"""`normalcy models`: check a local model folder, list the model presets.

For a language-model folder neither command loads weights, torch or transformers: `check` reads
config.json, the shard index and safetensors headers only. A path that is not a complete model folder is
an operator error (exit 2): the report is printed first, then one line saying what is missing.
A vision-backbone folder (config.json of DINOv2 / DINOv3, CLIP or SigLIP vision) is loaded as the image
encoder (with the configured layers and input size) and reported: family, patch grid, feature dims; one
that does not load is one line saying why (exit 2). An open_clip checkpoint folder (open_clip_config.json)
is loaded as the CLIP text map and reported the same way: architecture, patch grid, space dims.
"""

from __future__ import annotations

import json

import click

from assistant.model_catalog import (all_presets, check_clip_dir, check_encoder_dir, check_model_dir,
                                     clip_report_lines, encoder_folder, encoder_report_lines, is_open_clip_folder,
                                     report_lines)
from retrieval.errors import MissingWeights


@click.group()
def models():
    """Local vision-language models: check a folder, list presets."""


@models.command("check")
@click.argument("path", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def check(path, as_json):
    """Is PATH a complete model folder of a supported family? Parameters and memory estimate.

    A vision-backbone folder (DINOv2 / DINOv3, CLIP or SigLIP vision) is loaded: patch grid, feature dims;
    so is an open_clip checkpoint folder (open_clip_config.json): architecture, patch grid, space dims."""
    if is_open_clip_folder(path):
        report = check_clip_dir(path)
        click.echo(json.dumps(report.to_dict(), indent=2) if as_json else "\n".join(clip_report_lines(report)))
        return
    folder = encoder_folder(path)
    if folder is not None:
        _check_encoder(folder, as_json)
        return
    report = check_model_dir(path)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo("\n".join(report_lines(report)))
    if not report.complete:
        raise MissingWeights(f"{report.path} is not a complete model folder; missing: {'; '.join(report.missing)}")


def _check_encoder(path, as_json):
    context = click.get_current_context().find_root()
    configured = getattr(getattr(context.obj, "config", None), "retrieval", None)
    report = check_encoder_dir(path, configured.encoder if configured else None)
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else "\n".join(encoder_report_lines(report)))


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
