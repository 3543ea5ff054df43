"""The contract of a modality and the registry that picks one by file extension (or by name).

A modality reads its files (`read`, one clear `BadInput` for each way a file can be bad), builds a class
profile from the raw data of the class's normal references (`profile`: JSON-ready, fixed per class, so
references and queries are rendered alike) and renders one file against that profile (`render`). The
render is an RGB image the image pipeline (retrieval, maps, calibration) takes as it is; `location`
maps a box on the render back to the modality's own coordinates for the verdict; `views` (optional) draws
a sheet of the file from other sides with that box's region outlined, for the model and the chat.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from retrieval.errors import BadInput

IMAGE = "image"


@dataclass(frozen=True)
class Rendered:
    image: object                           # PIL.Image.Image, RGB: what retrieval and the map see
    modality: str                           # "point_cloud" | "time_series" | "video"
    location: Callable[[list[int] | None], dict | None]  # box on the render -> modality location (JSON-ready)
    scores: dict = field(default_factory=dict)   # modality's own numeric scores (e.g. distance to a normal band)
    notes: list[str] = field(default_factory=list)  # what the operator should know (e.g. "frames capped at 64")
    deviation: dict | None = None           # where the modality's own score finds the file leaves its normal
                                            # (a location in the file's terms, e.g. a series out of its band)
    views: Callable[[list[int] | None], object] | None = None   # box on the render -> a sheet of the file
                                            # from other sides with that region outlined (PIL RGB; a point cloud)


class Modality(Protocol):
    name: str
    suffixes: tuple[str, ...]               # lower-case, with the dot

    def read(self, path: Path) -> object:
        """The file's raw data; a BadInput (one line: what is wrong, what to do) for a bad file."""
        ...

    def profile(self, raws: list[object]) -> dict:
        """The class profile (view / axes / normal band) from the raw data of its normal references."""
        ...

    def render(self, raw: object, profile: dict) -> Rendered:
        """One file's raw data rendered against the class profile."""
        ...


_REGISTRY: dict[str, Modality] = {}


def register(modality: Modality) -> Modality:
    for other in _REGISTRY.values():
        clash = set(other.suffixes) & set(modality.suffixes)
        if clash and other.name != modality.name:
            raise ValueError(f"{modality.name} and {other.name} both claim {sorted(clash)}")
    _REGISTRY[modality.name] = modality
    return modality


def names() -> list[str]:
    return [IMAGE, *sorted(_REGISTRY)]


def modality_for(path: str | Path, name: str | None = None) -> Modality | None:
    """The modality of `path` by name (`--modality`) or by extension; None for a still image."""
    if name is not None:
        if name == IMAGE:
            return None
        if name not in _REGISTRY:
            raise BadInput(f"unknown modality {name!r}; use one of: {', '.join(names())}")
        return _REGISTRY[name]
    suffix = Path(path).suffix.lower()
    return next((m for m in _REGISTRY.values() if suffix in m.suffixes), None)
