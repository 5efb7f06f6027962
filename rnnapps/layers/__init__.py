"""Shared Keras 3 layers (backend-agnostic): recurrent stacks, sequence pooling and attention."""

from rnnapps.layers.attention import (  # noqa: F401
    ATTENTIONS,
    BahdanauAttention,
    LuongAttention,
    make_attention,
)
from rnnapps.layers.pooling import POOLINGS, SequencePooling  # noqa: F401
from rnnapps.layers.recurrent import CELLS, RecurrentStack  # noqa: F401
