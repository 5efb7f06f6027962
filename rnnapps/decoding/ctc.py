"""CTC decoding (Graves et al. 2006): frame-wise class scores -> label sequences, greedy (the best class of each
frame, repeats merged, blanks dropped) or by prefix beam search, on any Keras backend (`keras.ops.ctc_decode`).
The blank is the padding id, as in `rnnapps.losses.ctc`."""

from __future__ import annotations

from keras import ops

from rnnapps.special_tokens import PAD_ID


def ctc_decode(logits, frame_counts, beam_size: int = 1):
    """The most likely label sequence of each row.

    Args:
        logits: float [batch, frames, classes] (class PAD_ID is the blank).
        frame_counts: int [batch], the real frames of each row.
        beam_size: 1 = greedy; more = beam search keeping that many prefixes.

    Returns:
        (ids int32 [batch, frames], PAD_ID after each sequence's end; score float32 [batch]: the log probability
        of the best path (greedy) or of the best prefix (beam), so 0 is certain).
    """
    # Log probabilities: the greedy score is then the best path's log probability (Keras sums the inputs).
    logits = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    lengths = ops.cast(frame_counts, "int32")
    if beam_size > 1:
        decoded, scores = ops.ctc_decode(logits, lengths, strategy="beam_search", beam_width=beam_size, top_paths=1,
                                         mask_index=PAD_ID)
    else:
        decoded, scores = ops.ctc_decode(logits, lengths, strategy="greedy", mask_index=PAD_ID)
        scores = -scores  # Keras gives minus the sum
    ids = ops.cast(decoded[0], "int32")
    return ops.where(ops.less(ids, 0), PAD_ID, ids), ops.cast(scores[:, 0], "float32")
