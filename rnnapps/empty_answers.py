"""The obvious empty answer for an empty input, in a text-writing SavedModel's graph."""

from __future__ import annotations

import tensorflow as tf


def empty_answers(outputs: dict[str, tf.Tensor], nothing: tf.Tensor, text_key: str) -> dict[str, tf.Tensor]:
    """Give inputs with nothing in them the obvious empty answer, in graph: "" for `text_key` and score 0,
    instead of what a decoder would invent from an empty context.

    Args:
        outputs: a text-writing signature's outputs: {text_key: string [batch], "score": float32 [batch], ...}.
        nothing: bool [batch], true where the input was empty.
        text_key: the output that holds the written text (the signature's text output name).

    Returns:
        `outputs` with those two entries replaced; the rest (ids, attention) as they were.
    """
    return {**outputs, text_key: tf.where(nothing, "", outputs[text_key]),
            "score": tf.where(nothing, tf.zeros_like(outputs["score"]), outputs["score"])}
