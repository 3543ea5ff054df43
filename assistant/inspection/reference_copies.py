"""The stored copies of reference images, in folders sharded by hash prefix (`retrieval.features.copies`).

    HOME/references/ab/abcdef….png        copies "original": the file as ingested, under its own format's
                                          extension (.jpg, .tif …)
    HOME/references/ab/abcdef….webp       copies "webp": a lossless WebP of the decoded pixels, when that is
                                          smaller than the file and the image was not decoded reduced
                                          (else the original, as above)
    HOME/references/ab/abcdef…~link.json  copies "link": the original's path, sha256 and size, and
    HOME/references/ab/abcdef…~thumb.jpg  a JPEG thumbnail (<= 256 px) for the gallery (an image of the
                                          home's run log, an accepted inspection, is copied: the
                                          records retention may remove it)
    HOME/references/abcdef….png           a home from before issue 14: a reduced RGB PNG re-encoding, still read

A copy is what recomputes features the cache lost (after an encoder or encoding change, and, under a
coreset, each calibration), and what the model and the UI are shown; it is decoded like any input
(`load_image`) into the same RGB pixels as at ingest, so features recomputed from it equal the ones
computed then. A linked reference is read from its original, which must still hold the ingested bytes:
gone or changed, `load` refuses in one line (a `CorruptState`, exit 2); its gallery picture is the thumbnail.
Every layout is read side by side whatever the setting, so changing it needs no conversion.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from assistant.config import InputConfig
from assistant.inspection.inputs import SUFFIX_FORMATS, LoadedImage, load_image
from retrieval.atomic_file import write_bytes
from retrieval.errors import BadInput, CorruptState

SHOWN_SIDE = 768
THUMB_SIDE, THUMB_QUALITY = 256, 80     # a linked reference's gallery picture (ELPV cell: ~5 kB)
LINK, THUMB = "~link.json", "~thumb.jpg"
BROWSER_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp")   # shown as they are; others as PNG
_SUFFIX = {fmt: suffix for suffix, fmt in reversed(list(SUFFIX_FORMATS.items()))}   # PNG -> .png, JPEG -> .jpg


class ReferenceCopies:
    BROWSER_SUFFIXES = BROWSER_SUFFIXES

    def __init__(self, folder: Path, limits: InputConfig = InputConfig(), kind: str = "original",
                 owned: tuple[Path, ...] = ()):
        self.folder = Path(folder)
        self.limits = limits
        self.kind = kind             # what `save` keeps: "original", "webp" or "link"
        self.owned = tuple(Path(p).resolve() for p in owned)   # the home prunes files there (its run log):
                                                               # never linked, always a full copy

    def shard(self, sha256: str) -> Path:
        return self.folder / sha256[:2]

    def find(self, sha256: str) -> Path | None:
        """The stored picture of a reference: its copy (sharded, else the older flat PNG) or, for a linked
        one, its thumbnail; None when there is neither."""
        shard = self.shard(sha256)
        if shard.is_dir():
            for path in sorted(shard.glob(f"{sha256}.*")):     # write_bytes' temporary files start with "."
                return path
            thumb = shard / f"{sha256}{THUMB}"
            if thumb.is_file():
                return thumb
        flat = self.folder / f"{sha256}.png"
        return flat if flat.is_file() else None

    def save(self, image: LoadedImage) -> Path:
        """Keep an ingested image as `kind` says (a full copy once per sha256; a link never replaces one)
        -> where its picture is."""
        found = self.find(image.sha256)
        if found is not None and found.parent != self.folder and not found.name.endswith(THUMB):
            return found
        data = Path(image.path).read_bytes()
        if hashlib.sha256(data).hexdigest() != image.sha256:
            raise BadInput(f"{image.path} changed while it was being ingested; re-run the ingest")
        if self.kind == "link" and not any(Path(image.path).resolve().is_relative_to(p) for p in self.owned):
            path = self._link(image, data)
        else:
            copy = self._full_copy(image, data)
            path = self.shard(image.sha256) / f"{image.sha256}{_suffix(image) if copy is data else '.webp'}"
            write_bytes(path, copy)
            for stale in (self._link_path(image.sha256), self.shard(image.sha256) / f"{image.sha256}{THUMB}"):
                stale.unlink(missing_ok=True)
        if found is not None and found.parent == self.folder:   # the older reduced copy, now superseded
            found.unlink(missing_ok=True)
        return path

    def _full_copy(self, image: LoadedImage, data: bytes) -> bytes:
        """The bytes of the full copy: the file's, or (kind "webp") a lossless WebP of its pixels when smaller."""
        if self.kind != "webp" or image.source_size is not None:   # decoded reduced: keep the file
            return data
        webp = _encoded(image.image, "WEBP", lossless=True, method=6)
        return webp if len(webp) < len(data) else data

    def _link(self, image: LoadedImage, data: bytes) -> Path:
        record = {"path": str(Path(image.path).resolve()), "sha256": image.sha256, "bytes": len(data)}
        thumb = image.image.copy()
        thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
        path = self.shard(image.sha256) / f"{image.sha256}{THUMB}"
        write_bytes(path, _encoded(thumb, "JPEG", quality=THUMB_QUALITY, optimize=True))
        write_bytes(self._link_path(image.sha256), json.dumps(record).encode())
        return path

    def _link_path(self, sha256: str) -> Path:
        return self.shard(sha256) / f"{sha256}{LINK}"

    def load(self, sha256: str) -> LoadedImage | None:
        """The copy (or a linked reference's original) decoded as an input is; None when it is gone. A damaged
        copy is a BadInput naming it; a linked original gone or changed since ingest is a CorruptState."""
        path = self.find(sha256)
        if path is not None and path.name.endswith(THUMB):
            return self._linked(sha256)
        return None if path is None else load_image(path, self.limits)

    def _linked(self, sha256: str) -> LoadedImage | None:
        try:
            original = Path(json.loads(self._link_path(sha256).read_text())["path"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        what = f"reference {sha256[:12]} is kept as a link to {original} (retrieval.features.copies: link)"
        if not original.is_file():
            raise CorruptState(f"{what}, which is gone; put the file back or re-ingest its class")
        loaded = load_image(original, self.limits)
        if loaded.sha256 != sha256:
            raise CorruptState(f"{what}, which has changed since ingest; put the ingested file back or "
                               "re-ingest its class")
        return loaded

    def picture(self, sha256: str):
        """The copy (a linked reference: its thumbnail) as an RGB PIL image to show (longest side <= 768 px,
        as copies were before issue 14), None when it is gone."""
        path = self.find(sha256)
        if path is None:
            return None
        shown = load_image(path, self.limits).image.copy()
        shown.thumbnail((SHOWN_SIDE, SHOWN_SIDE))
        return shown


def _encoded(image, fmt: str, **options) -> bytes:
    import io

    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _suffix(image: LoadedImage) -> str:
    """The extension of the image's format (.jpg for JPEG, .tif for TIFF …), else the file's own."""
    return _SUFFIX.get(image.source_format) or Path(image.path).suffix.lower() or ".img"
