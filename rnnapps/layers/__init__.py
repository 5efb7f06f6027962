"""Shared Keras 3 layers (backend-agnostic): recurrent stacks and sequence pooling."""

from rnnapps.layers.pooling import POOLINGS, SequencePooling  # noqa: F401
from rnnapps.layers.recurrent import CELLS, RecurrentStack  # noqa: F401
