"""`normalcy store migrate --to HOST:PORT --shared DIR`: move an embedded store to a Chroma server."""

from __future__ import annotations

import click


@click.group()
def store():
    """The reference store: move it from this home onto a Chroma server many line machines share."""


@store.command()
@click.option("--to", "to", required=True, metavar="HOST:PORT", help="The Chroma server (`chroma run`).")
@click.option("--shared", metavar="DIR",
              help="The folder every line machine mounts (their retrieval.store.shared), e.g. an NFS mount.")
@click.pass_obj
def migrate(obj, to, shared):
    """Copy every class, the rules and the calibration of this home's embedded store to the server, and
    its reference copies and features to the shared folder. Safe to re-run; the home is left as it was."""
    report = obj.inspector.references.migrate_to(to, shared, progress=lambda name: click.echo(f"staged {name}", err=True))
    click.echo(report.summary())
    click.echo(f"next: set retrieval.store.host/port/shared to {to} and {report.shared} in each line's config")
