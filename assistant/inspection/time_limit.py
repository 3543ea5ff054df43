"""The time one inspection may take (`inputs.max_seconds`), checked between its stages.

A stage already running is not interrupted (decoding and the encoder run in C); the check after it turns
a slow input into one line that says which limit to change, instead of a verdict minutes late.
"""

from __future__ import annotations

import time

from retrieval.errors import BadInput


class TimeLimit:
    def __init__(self, seconds: float, what: str):
        self.seconds = seconds
        self.what = what
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def check(self, stage: str) -> None:
        """Raise BadInput when the inspection has run past its limit (`stage`: what just finished)."""
        if self.elapsed() > self.seconds:
            raise BadInput(f"inspecting {self.what} took {self.elapsed():.1f} s by the end of {stage}, over "
                           f"inputs.max_seconds = {self.seconds:g}; downscale the image or raise inputs.max_seconds")
