"""`normalcy ingest`: add normal reference images to the store."""

from __future__ import annotations

from pathlib import Path

import click

from retrieval.errors import BadInput


@click.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--class", "class_name", help="Product class of the images in FOLDER.")
@click.option("--layout", type=click.Choice(["folder", "mvtec"]), default="folder", show_default=True,
              help="folder: FOLDER holds images of one class; mvtec: ingest every CLASS/train/good.")
@click.option("--skip-bad", is_flag=True, help="Skip unreadable files (listed at the end) instead of stopping.")
@click.option("--rebuild", is_flag=True, help="Drop the whole reference store first (e.g. after changing encoder).")
@click.pass_obj
def ingest(obj, folder, class_name, layout, skip_bad, rebuild):
    """Ingest normal reference images (re-running is a no-op for images already stored)."""
    from assistant.records.ingestion import images_in, ingest as run_ingest, mvtec_items

    if layout == "folder":
        if not class_name:
            raise BadInput("--class NAME is required with a folder of images (or use --layout mvtec)")
        _check_class_name(class_name)
        items = [(class_name, path) for path in images_in(folder)]
    else:
        if class_name:
            raise BadInput("--class is not used with --layout mvtec (class names come from the folders)")
        items = mvtec_items(folder)
    inspector = obj.inspector
    if rebuild:
        _drop_store(inspector.workspace)
    report = run_ingest(inspector.workspace, inspector.gatherer, items, skip_bad=skip_bad)
    for line in report.rejected:
        click.echo(f"skipped: {line}", err=True)
    click.echo(report.summary())
    for name in sorted(report.added):
        cal = inspector.gatherer.calibrator.current(name)
        click.echo(f"{name}: threshold {cal.threshold:.4f} from {cal.n_scored} of {cal.n_references} references")


def _check_class_name(name: str) -> None:
    if not name.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise BadInput(f"class name {name!r} may hold only letters, digits, '_', '-' and '.'")


def _drop_store(workspace) -> None:
    from retrieval.reference_store import COLLECTION

    client = workspace.client
    if COLLECTION in {getattr(c, "name", c) for c in client.list_collections()}:
        client.delete_collection(COLLECTION)
    workspace.home.calibration.unlink(missing_ok=True)
    workspace.__dict__.pop("references", None)
