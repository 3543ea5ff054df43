"""The stored copies of reference images: the original file's bytes, in folders sharded by hash prefix.

    HOME/references/ab/abcdef….png     the file as ingested, under its own format's extension (.jpg, .tif …)
    HOME/references/abcdef….png        a home from before issue 14: a reduced RGB PNG re-encoding, still read

`find` looks a reference up by sha256 whatever its extension, the sharded layout first, so both layouts
are read side by side and nothing needs converting. A copy is what recomputes features the cache lost and
what the model and the UI are shown; it is decoded like any input (`load_image`), so features recomputed
from it equal the ones computed at ingest.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from assistant.config import InputConfig
from assistant.inspection.inputs import SUFFIX_FORMATS, LoadedImage, load_image
from retrieval.atomic_file import write_bytes
from retrieval.errors import BadInput

SHOWN_SIDE = 768
BROWSER_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp")   # shown as they are; others as PNG
_SUFFIX = {fmt: suffix for suffix, fmt in reversed(list(SUFFIX_FORMATS.items()))}   # PNG -> .png, JPEG -> .jpg


class ReferenceCopies:
    BROWSER_SUFFIXES = BROWSER_SUFFIXES

    def __init__(self, folder: Path, limits: InputConfig = InputConfig()):
        self.folder = Path(folder)
        self.limits = limits

    def shard(self, sha256: str) -> Path:
        return self.folder / sha256[:2]

    def find(self, sha256: str) -> Path | None:
        """The stored copy of a reference (sharded original, else the older flat PNG); None when gone."""
        shard = self.shard(sha256)
        if shard.is_dir():
            for path in sorted(shard.glob(f"{sha256}.*")):     # write_bytes' temporary files start with "."
                return path
        flat = self.folder / f"{sha256}.png"
        return flat if flat.is_file() else None

    def save(self, image: LoadedImage) -> Path:
        """Keep the original file of an ingested image (once per sha256) -> where it is."""
        found = self.find(image.sha256)
        if found is not None and found.parent != self.folder:
            return found
        data = Path(image.path).read_bytes()
        if hashlib.sha256(data).hexdigest() != image.sha256:
            raise BadInput(f"{image.path} changed while it was being ingested; re-run the ingest")
        path = self.shard(image.sha256) / f"{image.sha256}{_suffix(image)}"
        write_bytes(path, data)
        if found is not None:                     # the older reduced copy, now superseded by the original
            found.unlink(missing_ok=True)
        return path

    def load(self, sha256: str) -> LoadedImage | None:
        """The copy decoded as an input is (None when it is gone); a damaged copy is a BadInput naming it."""
        path = self.find(sha256)
        return None if path is None else load_image(path, self.limits)

    def picture(self, sha256: str):
        """The copy as an RGB PIL image to show (longest side <= 768 px, as copies were before issue 14),
        None when it is gone."""
        loaded = self.load(sha256)
        if loaded is None:
            return None
        shown = loaded.image.copy()
        shown.thumbnail((SHOWN_SIDE, SHOWN_SIDE))
        return shown


def _suffix(image: LoadedImage) -> str:
    """The extension of the image's format (.jpg for JPEG, .tif for TIFF …), else the file's own."""
    return _SUFFIX.get(image.source_format) or Path(image.path).suffix.lower() or ".img"
