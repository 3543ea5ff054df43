"""How many bytes an object holds, everything it reaches included: Python objects (`sys.getsizeof`), the
pixels of PIL images and the storage of torch tensors (both outside Python's heap, so `getsizeof` misses
them). Used to measure what a session's state keeps (tests/ui/test_ui_session_memory.py, the memory probe).

Modules, classes and functions are not counted (nor what is reached through them): they are shared by the
whole process, not held by the object. Each object is counted once, however many paths reach it.
"""

from __future__ import annotations

import gc
import sys
import types

SHARED = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType, types.MethodType,
          types.CodeType, types.FrameType)


def _native_bytes(obj) -> int:
    """Bytes an object keeps outside Python's heap (PIL pixels, torch storage); 0 for others."""
    kind = type(obj)
    module = kind.__module__ or ""
    if module.startswith("PIL.") and hasattr(obj, "size") and hasattr(obj, "getbands") and obj.size:
        return obj.size[0] * obj.size[1] * max(1, len(obj.getbands())) * (4 if obj.mode in ("I", "F") else 1)
    if module.startswith("torch") and hasattr(obj, "untyped_storage"):
        return obj.untyped_storage().nbytes()
    return 0


def held_bytes(obj, shared=()) -> int:
    """The bytes `obj` holds: itself and everything it refers to, each object counted once; the objects in
    `shared` (e.g. the app and its components, which every session refers to) are neither counted nor walked."""
    seen, stack, total = {id(item) for item in shared}, [obj], 0
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, SHARED):
            continue
        seen.add(id(item))
        total += sys.getsizeof(item, 0) + _native_bytes(item)
        stack.extend(gc.get_referents(item))
    return total
