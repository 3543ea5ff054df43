"""`normalcy normal`: add, list and remove normalities described by text (NAND).

An added normality suppresses the anomaly map where the class's patch <-> text space sees it (and is an
accepted-noise rule the model reads); it needs `retrieval.text_map.provider` set (clad or clip).
"""

from __future__ import annotations

import getpass
import json

import click


def operator_name() -> str:
    """Who runs this command, for the run log (the login name; "unknown" when the system has none)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@click.group()
def normal():
    """Normalities added by text: appearances that are acceptable for a class."""


@normal.command("add")
@click.argument("text")
@click.option("--class", "class_name", required=True, help="The product class it applies to.")
@click.pass_obj
def add_normality(obj, text, class_name):
    """Add TEXT as a normality of the class ("thin dark lines along the border are normal")."""
    change = obj.inspector.normalities.add(text, class_name, operator_name())
    click.echo(change.summary())
    click.echo(f"phrases: {'; '.join(change.normality.phrases)}")


@normal.command("list")
@click.option("--class", "class_name", help="Only the normalities of this class.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_normalities(obj, class_name, as_json):
    """List the added normalities, oldest first."""
    found = obj.inspector.normalities.list(class_name)
    if as_json:
        click.echo(json.dumps([n.to_dict() for n in found], indent=2, ensure_ascii=False))
        return
    for n in found:
        click.echo(f"{n.id:<40} {n.class_name:<16} v{n.version:<4} {n.when} {n.who:<12} {n.text}")
    click.echo(f"{len(found)} normalit{'y' if len(found) == 1 else 'ies'}")


@normal.command("remove")
@click.argument("normality_id")
@click.pass_obj
def remove_normality(obj, normality_id):
    """Remove an added normality (and its rule): the class scores exactly as before it was added."""
    click.echo(obj.inspector.normalities.remove(normality_id, operator_name()).summary())
