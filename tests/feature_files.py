"""Stored feature files of a test home (`retrieval/feature_cache.py`), and ways to damage one."""

import struct

import numpy as np


def feature_files(home) -> list:
    """Every stored feature file of the home, sorted (FEATURES/ENCODING/ab/SHA256.nrf)."""
    files = sorted((home / "features").glob("*/*/*.nrf"))
    assert files
    return files


def with_nan(path) -> None:
    """The first value of the file's stored grid mean set to NaN (the file still parses)."""
    data = bytearray(path.read_bytes())
    start = 9 + struct.unpack("<I", data[5:9])[0]
    data[start:start + 4] = np.array([np.nan], np.float32).tobytes()
    path.write_bytes(bytes(data))
