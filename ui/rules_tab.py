"""The Rules tab: the rules of a class — shipped ones read-only, operator rules editable — and a form
to add, edit and delete operator rules (saved to HOME/rules/local.yaml and the rule store)."""

from __future__ import annotations

from html import escape
from types import SimpleNamespace

import gradio as gr

from retrieval.rule import ANY_CLASS, KINDS, SEVERITIES
from ui.inspector_queue import InspectorQueue
from ui.operator_errors import Refused, in_line, shown_to_operator
from ui.roles import Roles

NEW_RULE = ""


def rules_html(entries) -> str:
    if not entries:
        return '<div class="nc-muted">No rules for this class yet.</div>'
    rows = "".join(
        f'<tr><td>{escape(e.rule.id)}</td><td class="nc-kind">{escape(e.rule.kind)}</td>'
        f'<td class="nc-sev nc-{escape(e.rule.severity)}">{escape(e.rule.severity)}</td>'
        f'<td>{"operator (editable)" if e.editable else "shipped (read-only)"}</td><td>{escape(e.rule.text)}</td></tr>'
        for e in entries)
    return ('<table class="nc-rules"><thead><tr><th>id</th><th>kind</th><th>severity</th><th>source</th>'
            f"<th>rule</th></tr></thead><tbody>{rows}</tbody></table>")


class RuleEditor:
    def __init__(self, inspector, roles: Roles | None = None):
        """roles: who may change rules (engineers); listing them is open to everyone."""
        self.inspector = inspector
        self.book = inspector.rule_book
        self.roles = roles or Roles()

    def class_choices(self) -> list[tuple[str, str]]:
        return [(name, name) for name in self.inspector.classes()] + [("* (every class)", ANY_CLASS)]

    def _editable(self, class_name):
        return [("(new rule)", NEW_RULE)] + [(e.rule.id, e.rule.id) for e in self.book.entries(class_name)
                                              if e.editable]

    @shown_to_operator
    def list_rules(self, class_name):
        """The rules of a class (and those for every class) and the operator rules it can edit."""
        entries = self.book.entries(class_name or None)
        return rules_html(entries), gr.update(choices=self._editable(class_name or None), value=NEW_RULE)

    @shown_to_operator
    def pick_rule(self, rule_id, class_name):
        """Fill the form with an operator rule (or empty it for a new one)."""
        for entry in self.book.entries(class_name or None):
            if entry.rule.id == rule_id:
                return entry.rule.text, entry.rule.kind, entry.rule.severity
        return "", "defect", "major"

    @in_line(lambda message: (message, gr.skip(), gr.skip()))
    def save_rule(self, rule_id, class_name, text, kind, severity, request: gr.Request = None,
                  progress=gr.Progress(track_tqdm=True)):
        """Add a new operator rule, or change the picked one. An error replaces the status line (so no
        earlier "Saved" stands beside it) and leaves the form as typed. With a CLAD text map the class's
        heads are retrained on the new texts: `progress` shows their training bar."""
        self.roles.require_engineer(request, "add or change rules")
        if not class_name:
            raise Refused("Pick the class the rule is for first.")
        if not (text or "").strip():
            raise Refused("The rule text is empty; type what the rule says, e.g. \"A crack longer than 5 mm is "
                          "a defect.\"")
        if rule_id == NEW_RULE:
            rule, verb = self.book.add(text or "", class_name, kind, severity), "Added"
        else:
            rule, verb = self.book.update(rule_id, text or "", kind, severity), "Saved"
        table, _ = self.list_rules(class_name)
        status = f"{verb} rule `{rule.id}` ({self.book.path.name})."
        return status, table, gr.update(choices=self._editable(class_name), value=rule.id)

    @in_line(lambda message: (gr.update(visible=False), message))
    def request_delete(self, rule_id, request: gr.Request = None):
        """First step of a delete: name the rule and show the confirmation buttons."""
        self.roles.require_engineer(request, "delete rules")
        if rule_id == NEW_RULE:
            raise Refused("Pick an operator rule to delete; shipped rules are read-only.")
        return gr.update(visible=True), f"Delete rule `{rule_id}`? This cannot be undone."

    @in_line(lambda message: (message, gr.skip(), gr.skip(), gr.skip()))
    def delete_rule(self, rule_id, class_name, request: gr.Request = None, progress=gr.Progress(track_tqdm=True)):
        self.roles.require_engineer(request, "delete rules")
        if rule_id == NEW_RULE:
            raise Refused("Pick an operator rule to delete; shipped rules are read-only.")
        rule = self.book.delete(rule_id)
        table, _ = self.list_rules(class_name)
        return (f"Deleted rule `{rule.id}`.", table, gr.update(choices=self._editable(class_name), value=NEW_RULE),
                "")


def build_rules_tab(editor: RuleEditor, choices) -> SimpleNamespace:
    """The tab's components (call inside a gr.Tab)."""
    ui = SimpleNamespace()
    ui.class_name = gr.Dropdown(choices, value=choices[0][1] if choices else None, label="Class",
                                elem_id="rules-class")
    ui.table = gr.HTML(elem_id="rules-table")
    ui.read_only = gr.Markdown("Signed in as an operator: rules are read-only here; an engineer adds and edits "
                               "them.", visible=False, elem_id="rules-read-only")
    with gr.Group() as ui.form:
        ui.pick = gr.Dropdown([("(new rule)", NEW_RULE)], value=NEW_RULE, label="Operator rule",
                              elem_id="rule-pick")
        ui.text = gr.Textbox(label="Rule text", lines=2, elem_id="rule-text",
                             placeholder="e.g. A hairline crack in the mortar longer than 5 mm is a defect.")
        with gr.Row():
            ui.kind = gr.Radio(list(KINDS), value="defect", label="Kind")
            ui.severity = gr.Radio(list(SEVERITIES), value="major", label="Severity")
    with gr.Row():
        ui.save = gr.Button("Save rule", variant="primary", elem_id="rule-save")
        ui.delete = gr.Button("Delete rule", variant="stop", elem_id="rule-delete")
    with gr.Row(visible=False, elem_id="rule-delete-confirm") as ui.confirm_row:
        ui.confirm = gr.Button("Yes, delete it", variant="stop", size="sm", elem_id="rule-delete-yes")
        ui.cancel = gr.Button("Cancel", size="sm", elem_id="rule-delete-no")
    ui.status = gr.Markdown(elem_id="rule-status")
    return ui


def wire_rules_tab(editor: RuleEditor, ui: SimpleNamespace, tab, queue: InspectorQueue) -> None:
    listing = dict(fn=editor.list_rules, inputs=ui.class_name, outputs=[ui.table, ui.pick])
    ui.class_name.change(**listing)
    tab.select(**listing, api_visibility="private")
    ui.pick.input(editor.pick_rule, [ui.pick, ui.class_name], [ui.text, ui.kind, ui.severity])
    form = [ui.pick, ui.class_name, ui.text, ui.kind, ui.severity]
    ui.save.click(queue.serial(editor.save_rule), form, [ui.status, ui.table, ui.pick])
    ui.delete.click(editor.request_delete, ui.pick, [ui.confirm_row, ui.status])
    ui.cancel.click(lambda: (gr.update(visible=False), "Nothing was deleted."), None, [ui.confirm_row, ui.status],
                    api_visibility="private")
    ui.confirm.click(lambda: gr.update(visible=False), None, ui.confirm_row, api_visibility="private").then(
        queue.serial(editor.delete_rule), [ui.pick, ui.class_name], [ui.status, ui.table, ui.pick, ui.text])
