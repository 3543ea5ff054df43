"""`normalcy rules`: list and add expert rules."""

from __future__ import annotations

import json

import click

from retrieval.rule import KINDS, SEVERITIES


@click.group()
def rules():
    """Expert rules per product class (normality criteria, typical defects, accepted noise)."""


@rules.command("list")
@click.option("--class", "class_name", help="Only rules of this class (and those for every class).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_rules(obj, class_name, as_json):
    """List the rules in the store (synced from the YAML files)."""
    found = obj.inspector.rule_book.list(class_name)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in found], indent=2))
        return
    for rule in found:
        click.echo(f"{rule.id:<48} {rule.class_name:<16} {rule.kind:<15} {rule.severity:<8} {rule.text}")
    click.echo(f"{len(found)} rule(s)")


@rules.command("add")
@click.argument("text")
@click.option("--class", "class_name", required=True)
@click.option("--kind", type=click.Choice(KINDS), required=True)
@click.option("--severity", type=click.Choice(SEVERITIES), default="major", show_default=True)
@click.option("--id", "rule_id", help="Rule id (default: CLASS-KIND-local-N).")
@click.pass_obj
def add_rule(obj, text, class_name, kind, severity, rule_id):
    """Add a rule; it is saved to HOME/rules/local.yaml and embedded into the store."""
    book = obj.inspector.rule_book
    rule = book.add(text, class_name, kind, severity, rule_id)
    click.echo(f"added {rule.id} to {book.path}")
    if class_name != "*" and class_name not in obj.inspector.classes():
        click.echo(f"note: class {class_name!r} has no references yet", err=True)
