"""Typed errors. Each says what is wrong and what to do next, in one line.

`NormalcyError` and its subclasses are operator errors (bad input, missing setup): front ends print the
message and exit with code 2. Anything else is an internal error (exit code 1).
"""


class NormalcyError(Exception):
    """An error the operator can fix; the message says how."""

    exit_code = 2


class BadInput(NormalcyError):
    """A file or value given by the operator cannot be used (corrupt, wrong format, too large)."""


class UnknownClass(NormalcyError):
    """The product class has no references in the store."""


class EmptyStore(NormalcyError):
    """The reference store holds nothing yet."""


class EncoderMismatch(NormalcyError):
    """The store was built with another encoder than the one configured."""


class MissingWeights(NormalcyError):
    """A configured local weights path does not exist or is incomplete."""


class ConfigError(NormalcyError):
    """A configuration file or option is invalid."""


class CorruptState(NormalcyError):
    """Something Normalcy persisted (store, cached features, calibration) is damaged; the message names it
    and points at `normalcy doctor`, which repairs what can be rebuilt."""


class DamagedIndex(CorruptState):
    """The reference store's database reads, but its vector index (Chroma's HNSW files) does not."""


DOCTOR_HINT = "run `normalcy doctor --repair` to check the home and rebuild what can be rebuilt"
