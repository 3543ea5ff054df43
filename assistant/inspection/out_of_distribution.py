"""Wrong product, unknown object: is the query far outside its class?

The query's cosine distance to its nearest reference of the class (retrieval has just found it) is
compared with the class's out-of-distribution limit (`Calibration.ood_limit`: a margin times the
conformal quantile of each normal's distance to its nearest *other* normal — leave-one-out, as the
threshold is). Beyond it the part is not judged as that class at all: the verdict is neither PASS nor
FAIL but status "out_of_distribution", correctness 0 (held).
The global embedding, not the map score, decides: a real defect raises the map score as much as a
wrong product does, but it is local and hardly moves the mean of the patch features.
The nearest known class is the majority class among the nearest references of the *other* classes
(`class_guess`), named only when the query is also within that class's own limit; otherwise "none".
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.inspection.class_guess import ClassGuess, guess_other_class
from retrieval.errors import NormalcyError


@dataclass(frozen=True)
class OutOfDistribution:
    class_name: str
    distance: float               # cosine distance of the query to its nearest reference of the class
    limit: float                  # the class's out-of-distribution limit on that distance
    normals: int                  # how many leave-one-out normals the limit rests on
    nearest_class: str | None     # the known class it does look like, or None

    @property
    def headline(self) -> str:
        return f"This does not look like {self.class_name}; nearest known class: {self.nearest_class or 'none'}."

    @property
    def details(self) -> str:
        return (f"Its embedding distance to the nearest {self.class_name} reference is {self.distance:.3f}, beyond "
                f"the class's out-of-distribution limit {self.limit:.3f} (set from the leave-one-out distances of "
                f"its {self.normals} normals), so it is neither passed nor failed: it is held.")

    @property
    def advice(self) -> str:
        other = f"inspect it as {self.nearest_class} (--class {self.nearest_class}), or, " if self.nearest_class else ""
        return f"Check that this is the right product: {other}if it is a normal {self.class_name} part, add it as a reference."

    def to_dict(self) -> dict:
        return {"distance": self.distance, "limit": self.limit, "normals": self.normals,
                "nearest_class": self.nearest_class}


def check(workspace, thresholds, class_name: str, embedding, references, calibration) -> OutOfDistribution | None:
    """The query's OOD finding, or None when it is within its class (or the class has no limit).
    embedding: (D,) of the query; references: its nearest references of the class, nearest first."""
    limit = calibration.ood_limit
    if limit is None or not references or references[0].distance is None or references[0].distance <= limit:
        return None
    guess = guess_other_class(workspace.references, embedding, class_name)
    nearest = guess.class_name if guess is not None and _within_own_limit(thresholds, guess) else None
    return OutOfDistribution(class_name, round(references[0].distance, 4), limit, calibration.ood_normals, nearest)


def _within_own_limit(thresholds, guess: ClassGuess) -> bool:
    """Whether the guessed class would itself accept the query (its calibration computed if need be)."""
    try:
        limit = thresholds.current(guess.class_name).ood_limit
    except NormalcyError:                  # e.g. a class of one reference: it cannot vouch for the query
        return False
    return limit is None or 1.0 - guess.similarity <= limit
