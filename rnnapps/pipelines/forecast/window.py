"""The forecast window: the recipe's `[window]` section, the one home of the look-back L and the horizon H, and the
check that a window, a segment length and a head fit together.

Every object that needs L or H takes a `WindowConfig` (the recipe's at training time, the bundle's recipe's when
a bundle is loaded) and reads it there, so no two of them can disagree. Pure Python, without TensorFlow or the
series readers, so that the model module can import it.
"""

from __future__ import annotations

import dataclasses

from rnnapps import sections

HEADS = ("direct", "recurrent", "parallel")
NORMALIZATIONS = ("none", "last_value", "instance")


@dataclasses.dataclass(frozen=True)
class WindowConfig(sections.Section):
    """The windows a model reads and forecasts (the `[window]` section).

    Attributes:
        lookback: L, rows of history the model reads.
        horizon: H, rows it forecasts.
        train_stride: rows between the starts of consecutive training windows (evaluation always uses every
            window, stride 1).
    """

    lookback: int = 96
    horizon: int = 24
    train_stride: int = 1

    def validate(self, name: str) -> None:
        """Raise `UserError` unless L, H and the training stride are each at least 1."""
        for key in ("lookback", "horizon", "train_stride"):
            sections.check_range(sections.WHERE, f"{name}.{key}", getattr(self, key), 1)


def check_shape(lookback: int, horizon: int, segment_length: int, head: str, normalization: str,
                bidirectional: bool) -> None:
    """Check that a window (L, H), a segment length, a head, a normalisation and the encoder's direction fit.

    Takes plain values rather than a recipe because the model checks its own constructor arguments with it too
    (a model rebuilt from its Keras config has no recipe).

    Raises:
        ValueError: the first misfit, naming the recipe fields (the recipe turns it into a `UserError`).
    """
    if head not in HEADS:
        raise ValueError(f"model.head = {head!r} is not one of {', '.join(HEADS)}")
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"model.normalization = {normalization!r} is not one of {', '.join(NORMALIZATIONS)}")
    if segment_length and (lookback % segment_length or horizon % segment_length):
        raise ValueError(f"model.segment_length = {segment_length} must divide window.lookback ({lookback}) and "
                         f"window.horizon ({horizon})")
    if head != "direct" and bidirectional:
        raise ValueError(f"model.head = {head!r} decodes from a one-way encoder's state; set encoder.bidirectional "
                         "= false or use the direct head")
