"""Which product class is this? The nearest references over all classes, by image embedding.

The query is embedded once; its `top` nearest references are found over every class's collection, and the class holding most of them wins (ties: the class of the nearest one). The
similarity reported is 1 − the cosine distance of the winning class's nearest reference.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass


from retrieval.errors import EmptyStore


@dataclass(frozen=True)
class ClassGuess:
    class_name: str
    similarity: float    # 1 - cosine distance of the nearest reference of that class
    votes: int           # how many of the `of` nearest references belong to it
    of: int


def guess_class(workspace, scorer, image, top: int = 5) -> ClassGuess:
    """image: RGB PIL image; scorer: the `PatchScorer` that embeds it. Raises EmptyStore when there is no reference to compare with."""
    with workspace.using_store():
        store = workspace.references
        counts = store.classes()
        if not counts:
            raise EmptyStore(f"the reference store in {workspace.home.root} is empty; add normal images with "
                             "`normalcy ingest DIR --class NAME` before using the automatic class")
        _, embeddings = scorer.featurize([image])
        return vote(store.nearest_any(embeddings[0], top))


def guess_other_class(store, embedding, class_name: str, top: int = 5) -> ClassGuess | None:
    """The majority class among the `top` nearest references of classes other than `class_name`, by a (D,)
    embedding; None when the store holds no other class."""
    others = [name for name in store.classes() if name != class_name]
    if not others:
        return None
    return vote(store.nearest_any(embedding, top, classes=others))


def vote(neighbours: list[tuple[str, float]]) -> ClassGuess:
    """(class, distance) pairs, nearest first -> the majority class (ties go to the nearer class)."""
    votes = Counter(name for name, _ in neighbours)
    nearest = {}
    for name, distance in neighbours:
        nearest.setdefault(name, distance)
    winner = min(votes, key=lambda name: (-votes[name], nearest[name]))
    return ClassGuess(winner, round(1.0 - nearest[winner], 4), votes[winner], len(neighbours))
