"""`normalcy ingest`: add normal reference images to the store."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--class", "class_name", help="Product class of the images in FOLDER.")
@click.option("--layout", type=click.Choice(["folder", "mvtec"]), default="folder", show_default=True,
              help="folder: FOLDER holds images of one class; mvtec: ingest every CLASS/train/good.")
@click.option("--skip-bad", is_flag=True, help="Skip unreadable files (listed at the end) instead of stopping.")
@click.option("--rebuild", is_flag=True,
              help="Replace the whole store with these images (e.g. after changing encoder); built beside the "
                   "old store and swapped in at the end, so a failure leaves the old one as it was.")
@click.option("--modality", type=click.Choice(["image", "point_cloud", "time_series", "video"]),
              help="What the file(s) are, when the extension does not say (default: by extension).")
@click.pass_obj
def ingest(obj, folder, class_name, layout, skip_bad, rebuild, modality):
    """Ingest normal reference images (re-running is a no-op for images already stored)."""
    references = obj.inspector.references
    items = references.items(folder, class_name, layout)
    report = references.ingest(items, skip_bad=skip_bad, rebuild=rebuild, modality=modality)
    for line in report.rejected:
        click.echo(f"skipped: {line}", err=True)
    click.echo(report.summary())
    for name in sorted(report.added):
        cal = references.calibration(name)
        click.echo(f"{name}: threshold {cal.threshold:.4f} from {cal.n_scored} of {cal.n_references} references")
