"""Numeric constants shared by the model code and the decoding loop (pure Python: no backend import)."""

from __future__ import annotations

# A finite "minus infinity" for masked scores: -inf would make inf - inf = NaN in score arithmetic.
NEG_INF = -1.0e9


def lowest(dtype) -> float:
    """A large negative score that is finite in `dtype` (float16's range ends near -6.5e4)."""
    return -6.0e4 if "float16" in str(dtype) else NEG_INF
