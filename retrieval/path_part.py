"""Names from outside (dataset class and defect-type folders, JSON fields, uploaded file names) made
safe to use as one part of a path, and the check that a path stays inside the folder it belongs to.

A name that is already safe (letters, digits, `_`, `-`, `.`, not starting with a dot) is kept as is;
any other is rewritten and given a short hash of the original, so two different names never collide
and nothing like `../../x` or `/etc` can climb out of the folder it is joined to.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from retrieval.errors import BadInput

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
MAX_LENGTH = 80


def path_part(name: str) -> str:
    """`name` as one safe path component (never empty, never '.', '..' or hidden)."""
    text = str(name)
    if _UNSAFE.search(text) is None and not text.startswith(".") and 0 < len(text) <= MAX_LENGTH:
        return text
    cleaned = _UNSAFE.sub("_", text).lstrip(".")[:MAX_LENGTH] or "_"
    return f"{cleaned}~{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def inside(folder: Path, path: Path) -> Path:
    """`path` when it lies within `folder` (after resolving), else a BadInput naming both."""
    root, target = Path(folder).resolve(), Path(path).resolve()
    if target != root and root not in target.parents:
        raise BadInput(f"{path} would be written outside {folder}; refusing (a name in the dataset climbs out)")
    return Path(path)
