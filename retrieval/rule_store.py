"""Expert rules of each class in a Chroma collection, embedded with the text encoder.

`sync` makes the collection match a list of rules (the YAML files): new or changed rules are embedded,
unchanged ones are skipped by content digest, removed ones deleted. On a Chroma server many homes share
the collection (`shared`): the rules there are server-side state, so a sync only adds and updates what
this home's files hold and never deletes (another line's rules are not in its files); an operator's
delete removes its one rule (`delete`), and a collection of another text encoder is refused, not dropped. `for_class` ranks the rules of a class
(and the rules for every class, "*") by similarity to the operator's question.
"""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.chroma_paging import get_all, in_batches
from retrieval.errors import EncoderMismatch
from retrieval.rule import ANY_CLASS, Rule

COLLECTION = "rules"
DEFAULT_QUESTION = "Is this {class_name} part defective, and why?"


@dataclass(frozen=True)
class RankedRule:
    rule: Rule
    similarity: float

    def to_dict(self) -> dict:
        return {**self.rule.to_dict(), "similarity": round(self.similarity, 4)}


class RuleStore:
    def __init__(self, client, text_encoder, shared: bool = False):
        """shared: the collection is on a server other homes use too (never pruned, never dropped)."""
        self.encoder = text_encoder
        self.shared = shared
        self.collection = client.get_or_create_collection(
            COLLECTION, metadata={"encoder": text_encoder.id, "hnsw:space": "cosine"}, embedding_function=None)
        built_with = (self.collection.metadata or {}).get("encoder")
        if built_with != text_encoder.id:
            if shared:
                raise EncoderMismatch(f"the rules on the Chroma server were embedded with text encoder {built_with}, "
                                      f"this home's is {text_encoder.id}; run every line with the same version")
            client.delete_collection(COLLECTION)  # rules are re-derivable from YAML: re-embed them all
            self.collection = client.create_collection(
                COLLECTION, metadata={"encoder": text_encoder.id, "hnsw:space": "cosine"}, embedding_function=None)

    def sync(self, rules: list[Rule]) -> int:
        """Make the store hold exactly `rules` (at least `rules`, when shared); returns how many were (re-)embedded."""
        stored = get_all(self.collection, include=["metadatas"])
        digests = {i: m.get("digest") for i, m in zip(stored["ids"], stored["metadatas"])}
        wanted = {rule.id: rule for rule in rules}
        stale = [] if self.shared else [i for i in digests if i not in wanted]
        if stale:
            for batch in in_batches(stale):
                self.collection.delete(ids=batch)
        changed = [rule for rule in rules if digests.get(rule.id) != rule.digest]
        self._upsert(changed)
        return len(changed)

    def delete(self, rule_id: str) -> None:
        """Remove one rule (an operator deleted it)."""
        self.collection.delete(ids=[rule_id])

    def ids(self) -> set[str]:
        return set(get_all(self.collection, include=[])["ids"])

    def _upsert(self, rules: list[Rule]) -> None:
        if not rules:
            return
        vectors = self.encoder.encode([r.text for r in rules])
        self.collection.upsert(
            ids=[r.id for r in rules], embeddings=[v.tolist() for v in vectors], documents=[r.text for r in rules],
            metadatas=[{"class": r.class_name, "kind": r.kind, "severity": r.severity, "digest": r.digest}
                       for r in rules])

    def list(self, class_name: str | None = None) -> list[Rule]:
        where = {"class": {"$in": [class_name, ANY_CLASS]}} if class_name else None
        got = get_all(self.collection, include=["metadatas", "documents"], where=where)
        rules = [_rule(i, m, d) for i, m, d in zip(got["ids"], got["metadatas"], got["documents"])]
        return sorted(rules, key=lambda r: (r.class_name, r.kind, r.id))

    def for_class(self, class_name: str, question: str | None = None, n: int = 6) -> list[RankedRule]:
        """Up to n rules, most similar to the question first: the class's own rules, plus at most
        `n // 3` rules written for every class ("*"), so generic rules never crowd out specific ones."""
        query = self.encoder.encode([question or DEFAULT_QUESTION.format(class_name=class_name)])[0]
        general = self._ranked(query, ANY_CLASS, n // 3)
        specific = self._ranked(query, class_name, n - len(general))
        return sorted(specific + general, key=lambda r: -r.similarity)

    def _ranked(self, query, class_name: str, n: int) -> list[RankedRule]:
        available = len(get_all(self.collection, include=[], where={"class": class_name})["ids"])
        if n <= 0 or available == 0:
            return []
        got = self.collection.query(query_embeddings=[query.tolist()], n_results=min(n, available),
                                    where={"class": class_name}, include=["metadatas", "documents", "distances"])
        rows = zip(got["ids"][0], got["metadatas"][0], got["documents"][0], got["distances"][0])
        return [RankedRule(_rule(i, m, d), 1.0 - float(dist)) for i, m, d, dist in rows]

def _rule(rule_id: str, meta: dict, text: str) -> Rule:
    return Rule(id=rule_id, class_name=meta["class"], text=text, kind=meta["kind"], severity=meta["severity"])
