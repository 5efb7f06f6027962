"""Helpers the task serving modules share (the `tf.Module`s that predict() calls and export.py saves)."""

from __future__ import annotations

import tensorflow as tf

from rnnapps import decoding
from rnnapps.tokenizers import Tokenizer


def decoded_outputs(name: str, tokenizer: Tokenizer, step, states: tuple, context: tuple, batch_size, max_length: int,
                    beam_size: int, alpha: float, attention_size=None) -> dict[str, tf.Tensor]:
    """Run the shared search (`rnnapps.decoding.search`) and detokenize: the outputs of every serving
    signature that writes text token by token until an end token.

    Args:
        name: key of the output strings ("translation", "caption").
        tokenizer: detokenizes the generated ids.
        step, states, context, batch_size, max_length, beam_size, alpha: as in `decoding.search`.
        attention_size: memory positions attended over, to also return the attention; None = do not.

    Returns:
        {name: string [batch], "score": float32 [batch] (log-probability / length penalty)} and, with
        attention, {"ids": int32 [batch, max_length], "attention": float32 [batch, max_length, memory]}.
    """
    result = decoding.search(step, states, context, batch_size, max_length, beam_size, alpha,
                             attention_size=attention_size)
    outputs = {name: tokenizer.detokenize(result.ids), "score": result.scores}
    if attention_size is not None:
        outputs.update(ids=result.ids, attention=result.attention)
    return outputs
