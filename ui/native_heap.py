"""The server process's native (C) heap under glibc: fewer malloc arenas, and freed memory handed back.

glibc gives each thread that allocates its own malloc arena (up to 8 per core), and the server's worker
threads (Gradio's pool, torch, Pillow, Chroma) then keep freed memory in all of them; glibc also keeps
freed pages inside an arena until its top is free. Python's own heap stayed flat under load (the memory
probe, ui/memory_probe.py: +0.2 MB traced, no object type growing), so the server's growth was memory
freed but kept: `limit_malloc_arenas` caps the arenas, `HeapTrimmer` calls `malloc_trim(0)` every
minute to return free pages to the system. Both do nothing where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

M_ARENA_MAX = -8  # glibc <malloc.h>
TRIM_EVERY_S = 60.0


def _glibc():
    name = ctypes.util.find_library("c")
    library = ctypes.CDLL(name) if name else None
    return library if library is not None and hasattr(library, "malloc_trim") else None


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas (set before the first worker thread). True when glibc took the limit."""
    libc = _glibc()
    return bool(libc is not None and libc.mallopt(M_ARENA_MAX, arenas))


def trim_heap() -> bool:
    """Return the heap's free pages to the system now. True when glibc released some."""
    libc = _glibc()
    return bool(libc is not None and libc.malloc_trim(0))


class HeapTrimmer:
    """A daemon thread that trims the heap every `every_s` seconds until `stop()`."""

    def __init__(self, every_s: float = TRIM_EVERY_S):
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="heap-trimmer")

    def start(self) -> HeapTrimmer:
        if _glibc() is not None:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            trim_heap()
