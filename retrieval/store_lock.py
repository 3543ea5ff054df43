"""One data home, many processes: a lock around every use of the store, and a generation that says
when another process changed it.

`normalcy serve` keeps its Chroma client open for hours while `normalcy ingest` or `normalcy rules add`
run beside it on the same home. Chroma's embedded client holds its index in memory, so a client that
outlived another process's write answers from a stale index ("Error finding id"). The protocol:

- every use of the store holds `StoreLock.held()`: a thread lock in this process and an exclusive
  `flock` on HOME/store.lock across processes, re-entrant within one thread;
- a use that changed the store calls `changed()`; on release the generation (HOME/store.generation,
  a random token written atomically) is replaced, so every other process sees the change;
- on acquiring, a holder compares the generation with the one its client was opened at and reopens
  the client when they differ (`chroma_client.SharedClients`).
Reads never wait for a model: the lock is held for store work only, never while a model generates.
"""

from __future__ import annotations

import fcntl
import os
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

from retrieval.atomic_file import write_text

_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


class StoreLock:
    def __init__(self, home_root: Path):
        self.root = Path(home_root)
        self.lock_path = self.root / "store.lock"
        self.generation_path = self.root / "store.generation"
        with _LOCKS_GUARD:
            self._thread_lock = _LOCKS.setdefault(str(self.root.resolve()), threading.RLock())
        self._local = threading.local()

    def generation(self) -> str:
        """The current generation token ("" before the first change)."""
        try:
            return self.generation_path.read_text(encoding="utf-8").strip()
        except (FileNotFoundError, NotADirectoryError):
            return ""

    @property
    def depth(self) -> int:
        return getattr(self._local, "depth", 0)

    @contextmanager
    def held(self):
        """Hold the store (re-entrant in one thread); yields True at the outermost level."""
        with self._thread_lock:
            outer = self.depth == 0
            fd = self._flock() if outer else None
            self._local.depth = self.depth + 1
            try:
                yield outer
            finally:
                self._local.depth -= 1
                if outer:
                    self._release(fd)

    def changed(self) -> str:
        """Mark the store changed: a new generation, written now (the lock is held) -> the token."""
        token = uuid.uuid4().hex
        write_text(self.generation_path, token + "\n")
        return token

    def _flock(self) -> int | None:
        """An exclusive flock on HOME/store.lock; None where the home cannot hold one (read-only)."""
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            try:
                fd = os.open(self.lock_path, os.O_RDONLY)
            except OSError:
                return None
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd

    @staticmethod
    def _release(fd: int | None) -> None:
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
