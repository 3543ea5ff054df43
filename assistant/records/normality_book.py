"""Normality addition by text (NAND), as an operator manages it: add, list and remove the normalities of a
class, shared by the CLI (`normalcy normal`) and the chat's "Acceptable here?".

An added normality is three things, written in this order while the store lock is held: an accepted-noise
rule of the class (HOME/rules/local.yaml, through the `RuleBook`: the model reads it with the other rules;
its id is the normality's id), the entry in HOME/normalities.json (its phrases, which the evidence's
suppression map reads: `inspection/normality_evidence.py`), and a line in the run log saying who added
what and when. Everything is checked first — a text map configured, a non-empty text, a known class, the
class's text space built — so a refused addition writes nothing; removing one undoes all three.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from assistant.inspection.text_spaces import text_space_for
from assistant.records.rule_book import RuleBook
from retrieval.errors import BadInput, ConfigError
from retrieval.normality_store import Normality, NormalityStore
from retrieval.text_space.normality_phrases import normality_phrases

KIND = "accepted_noise"
NO_TEXT_SPACE = ("a normality added by text needs a patch <-> text space, and none is configured: set "
                 "retrieval.text_map.provider to clad (embedded encoders) or clip (a local checkpoint) in the config")


@dataclass(frozen=True)
class NormalityChange:
    normality: Normality
    added: bool                 # False: removed

    def summary(self) -> str:
        n = self.normality
        if self.added:
            return f"added normality {n.id} to {n.class_name} (version {n.version}): {n.text}"
        return f"removed normality {n.id} from {n.class_name}: {n.text}"


class NormalityBook:
    def __init__(self, workspace, log, write_phrases=None):
        """log: the home's `RunLog` (who added or removed what, and when); write_phrases(text, class) ->
        (phrases, who wrote them) or None: the configured language model's own phrases, asked only when a
        normality is added (`reasoning/normality_phrases.py`), kept beside the templates'."""
        self.ws = workspace
        self.log = log
        self.write_phrases = write_phrases

    @property
    def store(self) -> NormalityStore:
        return NormalityStore(self.ws.home.normalities)

    def list(self, class_name: str | None = None) -> list[Normality]:
        """The added normalities, oldest first (of one class, when given)."""
        found = self.store.read()[1]
        return [n for n in found if class_name is None or n.class_name == class_name]

    def add(self, text: str, class_name: str, who: str) -> NormalityChange:
        """Add a normality described by `text` to `class_name` (refused, writing nothing, when it cannot apply)."""
        text = " ".join((text or "").split())
        if self.ws.config.retrieval.text_map.provider == "none":
            raise ConfigError(NO_TEXT_SPACE)
        if not text:
            raise BadInput("the normality text is empty; say what is acceptable, e.g. "
                           "\"thin dark lines along the border are normal\"")
        with self.ws.using_store():
            self.ws.references.require_class(class_name)
            text_space_for(self.ws, class_name)         # built (or trained) now: a failure writes nothing
            phrases, by = self._phrases(text, class_name)
            rule = RuleBook(self.ws).add(text, class_name, KIND, "info")
            normality = Normality(rule.id, class_name, text, phrases, who,
                                  time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), self.store.next_version())
            try:
                self.store.add(normality)
            except BaseException:
                RuleBook(self.ws).delete(rule.id)
                raise
        self.log.append({"kind": "normality_added", **normality.to_dict(), "phrases_by": by})
        return NormalityChange(normality, True)

    def _phrases(self, text: str, class_name: str) -> tuple[tuple[str, ...], str]:
        """(the normality's phrases, who wrote them): the templates', then the configured model's."""
        phrases = normality_phrases(text, class_name)
        written = None if self.write_phrases is None else self.write_phrases(text, class_name)
        if written is None:
            return phrases, "templates"
        return tuple(dict.fromkeys((*phrases, *written[0]))), written[1]

    def remove(self, normality_id: str, who: str) -> NormalityChange:
        """Remove an added normality and its accepted-noise rule; the class scores as before it was added."""
        with self.ws.using_store():
            known = {n.id for n in self.list()}
            if normality_id in known:
                book = RuleBook(self.ws)
                if any(rule.id == normality_id for rule in book.local()):
                    book.delete(normality_id)
            normality = self.store.remove(normality_id)      # an unknown id: one line listing the known ones
        self.log.append({"kind": "normality_removed", "id": normality.id, "class": normality.class_name,
                         "text": normality.text, "who": who})
        return NormalityChange(normality, False)
