"""Images the app hands to the browser, as PNG files written once each, named by content hash.

Gradio saves a PIL output to its cache again on every update, rewriting a file the browser may still
be fetching (a streamed chat re-sends its images with each delta; the server then logs "Response content
longer than Content-Length"). A file path is instead copied into the cache once and reused. So every image
the UI shows — overlays, reference copies, zoomed crops — is published here first, atomically.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from pathlib import Path


class ImageFolder:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def publish(self, image) -> str:
        """A PIL image -> the path of its PNG here (written only the first time)."""
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        data = buffer.getvalue()
        path = self.folder / f"{hashlib.sha256(data).hexdigest()[:32]}.png"
        if not path.is_file():
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{id(data)}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        return str(path)

    def publish_file(self, source: Path, name: str) -> str:
        """A file kept elsewhere (e.g. a reference copy in the data home) -> its copy here, named `name`."""
        path = self.folder / name
        if not path.is_file():
            tmp = path.with_name(f".{name}.{os.getpid()}.tmp")
            shutil.copyfile(source, tmp)
            tmp.replace(path)
        return str(path)
