"""The operator's rule book: list, add, edit and delete expert rules, shared by the CLI and the UI.

Shipped rules (config.rules_dir) and other operator files are read-only here; what operators add lives
in HOME/rules/local.yaml (in the shared folder with a Chroma server, so every line edits one file). Every
change is read, written atomically and synced while the store lock is held (only changed rules re-embed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from retrieval.errors import BadInput
from retrieval.rule import ANY_CLASS, Rule, load_rules_file, save_rules_file

LOCAL_RULES = "local.yaml"
TEXT_KINDS = ("normality", "defect")     # the kinds a class's text map reads (`class_texts`)


@dataclass(frozen=True)
class BookEntry:
    rule: Rule
    source: Path
    editable: bool      # only rules of HOME/rules/local.yaml


class RuleBook:
    def __init__(self, workspace):
        self.ws = workspace.for_writing()

    @property
    def path(self) -> Path:
        return self.ws.home.rules / LOCAL_RULES

    def local(self) -> list[Rule]:
        return load_rules_file(self.path) if self.path.is_file() else []

    def list(self, class_name: str | None = None) -> list[Rule]:
        """The rules in the store (synced from every rule file), of a class and those for every class."""
        with self.ws.using_store():
            return self.ws.rules.list(class_name)

    def entries(self, class_name: str | None = None) -> list[BookEntry]:
        """Rules of a class (and those for every class, "*"), from the files, shipped ones first."""
        found = []
        for path in self.ws.rule_files():
            for rule in load_rules_file(path):
                if class_name is None or rule.class_name in (class_name, ANY_CLASS):
                    found.append(BookEntry(rule, path, path == self.path))
        return found

    def add(self, text: str, class_name: str, kind: str, severity: str = "major",
            rule_id: str | None = None) -> Rule:
        """A new operator rule (id default: CLASS-KIND-local-N); a taken id is a BadInput."""
        with self.ws.using_store():         # read, check and write under the lock: two lines never lose one
            taken = {r.id for r in self.ws.rule_files_content()} | self.ws.rules.ids()
            rule_id = (rule_id or "").strip() or next_id(class_name, kind, taken)
            if rule_id in taken:
                raise BadInput(f"rule id {rule_id} already exists; choose another id")
            rule = Rule(rule_id, class_name, text.strip(), kind, severity)
            self._save([*self.local(), rule])
        self._texts_changed(rule)
        return rule

    def update(self, rule_id: str, text: str, kind: str, severity: str) -> Rule:
        """Change an operator rule's text, kind or severity (its id and class stay)."""
        with self.ws.using_store():
            local = self.local()
            old = self._editable(rule_id, local)
            rule = Rule(old.id, old.class_name, text.strip(), kind, severity)
            self._save([rule if r.id == rule_id else r for r in local])
        self._texts_changed(old, rule)
        return rule

    def delete(self, rule_id: str) -> Rule:
        with self.ws.using_store():
            local = self.local()
            old = self._editable(rule_id, local)
            self._save([r for r in local if r.id != rule_id])
            self.ws.rules.delete(rule_id)           # a shared store's sync never deletes: say which one goes
        self._texts_changed(old)
        return old

    def _texts_changed(self, *rules: Rule) -> None:
        """A class's normality and defect rules are its text map's texts: its text space is built again
        now (CLAD heads retrained, a progress bar on stderr), not on the next inspection."""
        if not any(r.kind in TEXT_KINDS for r in rules) or rules[0].class_name == ANY_CLASS:
            return
        from assistant.inspection.text_calibration import prepare

        with self.ws.using_store():
            if rules[0].class_name in self.ws.references.classes():
                prepare(self.ws, rules[0].class_name)

    def _editable(self, rule_id: str, local: list[Rule]) -> Rule:
        for rule in local:
            if rule.id == rule_id:
                return rule
        if rule_id in {r.id for r in self.ws.rule_files_content()}:
            raise BadInput(f"rule {rule_id} is a shipped rule and read-only here; add a local rule instead")
        raise BadInput(f"there is no rule {rule_id}; pick one from the list")

    def _save(self, rules: list[Rule]) -> None:
        with self.ws.using_store():
            save_rules_file(self.path, rules)
            self.ws.rules.sync(self.ws.rule_files_content())
            self.ws.changed()


def next_id(class_name: str, kind: str, taken: set[str]) -> str:
    n = 1
    slug = "any" if class_name == ANY_CLASS else class_name
    while f"{slug}-{kind}-local-{n}" in taken:
        n += 1
    return f"{slug}-{kind}-local-{n}"
