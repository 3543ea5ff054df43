"""Which product class is this? The nearest references over all classes, by image embedding.

The query is embedded once; its `top` nearest references are found in the reference collection with no
class filter, and the class holding most of them wins (ties: the class of the nearest one). The
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
        nearest = store.nearest_any(embeddings[0], min(top, sum(counts.values())))
        return vote([(reference.class_name, reference.distance) for reference in nearest])


def vote(neighbours: list[tuple[str, float]]) -> ClassGuess:
    """(class, distance) pairs, nearest first -> the majority class (ties go to the nearer class)."""
    votes = Counter(name for name, _ in neighbours)
    nearest = {}
    for name, distance in neighbours:
        nearest.setdefault(name, distance)
    winner = min(votes, key=lambda name: (-votes[name], nearest[name]))
    return ClassGuess(winner, round(1.0 - nearest[winner], 4), votes[winner], len(neighbours))
