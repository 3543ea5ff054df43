"""Images the app hands to the browser, as PNG files written once each, named by content hash.

Gradio saves a PIL output to its cache again on every update, rewriting a file the browser may still
be fetching (a streamed chat re-sends its images with each delta; the server then logs "Response content
longer than Content-Length"). A file path is instead copied into the cache once and reused. So every image
the UI shows — overlays, reference copies, zoomed crops — is published here first, atomically.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from retrieval.atomic_file import png_bytes, write_bytes


class ImageFolder:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def publish(self, image) -> str:
        """A PIL image -> the path of its PNG here (written only the first time)."""
        data = png_bytes(image)
        path = self.folder / f"{hashlib.sha256(data).hexdigest()[:32]}.png"
        if not path.is_file():
            write_bytes(path, data)
        return str(path)

    def publish_file(self, source: Path, name: str) -> str:
        """A file kept elsewhere (e.g. a reference copy in the data home) -> its copy here, named `name`."""
        path = self.folder / name
        if not path.is_file():
            write_bytes(path, Path(source).read_bytes())
        return str(path)
