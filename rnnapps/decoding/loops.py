"""The decoding loops: greedy search, beam search with a length penalty, and sampling (temperature, top-k,
top-p). Batched, pure `keras.ops`, each loop inside one `keras.ops.while_loop`, so it runs as one graph,
exports in a SavedModel and works on every backend. `rnnapps.decoding.strategies` wraps them as objects.

A loop drives a step function

    step_fn(token_ids, state, context) -> (logits, new_state, attention)

    token_ids: int32 [n]               the previous token of each sequence
    state:     tuple of tensors [n, ...]  recurrent state, carried and (beam search) reordered
    context:   tuple of tensors [n, ...]  per-sequence constants (encoder outputs, masks, image grid)
    logits:    float [n, vocab]         scores of the next token
    attention: float [n, source] or None  attention weights of this step (for plots)

where n = batch (greedy, sampling) or batch * beam_size (beam search: the loop tiles state and
context itself). Generation stops at `end_id` or after `max_length` tokens; sampling also stops a sequence once
it has written its `stop_ids` (a language model's end of a tune).
"""


from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import keras
from keras import ops

from rnnapps import numerics
from rnnapps.special_tokens import END_ID, PAD_ID, START_ID

StepFn = Callable[[Any, tuple, tuple], tuple[Any, tuple, Any]]
_NEG = numerics.NEG_INF


@dataclasses.dataclass
class Decoded:
    """The result of a decoding run.

    Attributes:
        ids: int32 [batch, max_length]; the END token is kept, positions after it hold PAD_ID.
        lengths: int32 [batch], tokens generated including END.
        scores: float32 [batch], sum of log-probabilities (beam search: divided by the length penalty).
        attention: float32 [batch, max_length, source] or None.
    """

    ids: Any
    lengths: Any
    scores: Any
    attention: Any = None

    def outputs(self, name: str, texts, with_attention: bool = False) -> dict[str, Any]:
        """What a serving signature of a text-writing task returns: {name: texts [batch], "score": scores
        [batch]} and, with attention, {"ids": ids, "attention": attention}."""
        outputs = {name: texts, "score": self.scores}
        if with_attention:
            outputs.update(ids=self.ids, attention=self.attention)
        return outputs


def next_token_log_probs(logits):
    """Log-softmax in float32 with PAD and START forbidden (a decoder must never emit them)."""
    logits = ops.cast(logits, "float32")
    vocab = ops.shape(logits)[-1]
    forbidden = ops.logical_or(ops.arange(vocab) == PAD_ID, ops.arange(vocab) == START_ID)
    return ops.log_softmax(ops.where(forbidden, _NEG, logits), axis=-1)


def _write(buffer, step, values):
    """buffer[:, step] = values for a buffer [n, time, ...] (one-hot arithmetic: no scatter needed)."""
    time = ops.shape(buffer)[1]
    hot = ops.cast(ops.arange(time) == step, buffer.dtype)  # [time]
    hot = ops.reshape(hot, (1, -1) + (1,) * (len(buffer.shape) - 2))
    return buffer * (1 - hot) + ops.expand_dims(ops.cast(values, buffer.dtype), 1) * hot


def _empty_attention(batch_shape, max_length, attention_size):
    if attention_size is None:
        return ops.zeros((*batch_shape, 1, 1), "float32")
    return ops.zeros((*batch_shape, max_length, attention_size), "float32")


def greedy(step_fn: StepFn, state: tuple, context: tuple, batch_size, max_length: int,
           attention_size=None) -> Decoded:
    """Pick the most likely token at every step.

    Args:
        step_fn: the task's step function (see module docstring).
        state: initial state tuple, each [batch, ...].
        context: constant tuple, each [batch, ...].
        batch_size: number of sequences (int or scalar tensor).
        max_length: most tokens generated per sequence.
        attention_size: source length (int or scalar tensor) of the attention weights to record;
            None = do not record.

    Returns:
        A `Decoded` for the batch.
    """
    return sample(step_fn, state, context, batch_size, max_length, uniforms=None, attention_size=attention_size)


def sample(step_fn: StepFn, state: tuple, context: tuple, batch_size, max_length: int, uniforms=None,
           temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, start_ids=None,
           attention_size=None, stop_ids: tuple[int, ...] = ()) -> Decoded:
    """Draw each token from the (filtered) model distribution; greedy when `uniforms` is None.

    Sampling is inverse-CDF with one uniform number per step and sequence, so the same `uniforms`
    (e.g. from the same seed) give the same text, and the noise costs [max_length, batch], not
    [max_length, batch, vocab].

    Args:
        step_fn, state, context, batch_size, max_length, attention_size: as in `greedy`.
        uniforms: float [max_length, batch] in [0, 1), or None for greedy decoding.
        temperature: divides the logits (> 0; < 1 sharpens, > 1 flattens).
        top_k: keep only the k most likely tokens (0 = all).
        top_p: keep the smallest set of most likely tokens whose probability reaches top_p (1 = all).
        start_ids: int32 [batch] first input tokens (default START_ID); a prompt's last token when
            the state was primed with a prompt.
        stop_ids: a sequence also ends once the last tokens it wrote are these (() = only at END_ID).

    Returns:
        A `Decoded` for the batch.
    """
    tokens = ops.full((batch_size,), START_ID, "int32") if start_ids is None else ops.cast(start_ids, "int32")
    outputs = ops.zeros((batch_size, max_length), "int32")
    finished = ops.zeros((batch_size,), "bool")
    stop = ops.convert_to_tensor(list(stop_ids), "int32") if stop_ids else None  # [k]
    scores = ops.zeros((batch_size,), "float32")
    attention = _empty_attention((batch_size,), max_length, attention_size)

    def cond(step, tokens, state, outputs, finished, scores, attention):
        return ops.logical_and(step < max_length, ops.logical_not(ops.all(finished)))

    def body(step, tokens, state, outputs, finished, scores, attention):
        logits, state, weights = step_fn(tokens, state, context)
        log_probs = next_token_log_probs(logits)
        if uniforms is None:
            chosen = ops.cast(ops.argmax(log_probs, axis=-1), "int32")
        else:
            filtered = filter_logits(log_probs / temperature, top_k, top_p)
            cumulative = ops.cumsum(ops.softmax(filtered, axis=-1), axis=-1)
            draw = ops.take(uniforms, step, axis=0)  # [batch]
            below = ops.sum(ops.cast(cumulative <= ops.expand_dims(draw, -1), "int32"), axis=-1)
            chosen = ops.minimum(below, ops.shape(log_probs)[-1] - 1)
        chosen = ops.where(finished, PAD_ID, chosen)
        picked = ops.take_along_axis(log_probs, ops.expand_dims(chosen, -1), axis=-1)[:, 0]
        scores = scores + ops.where(finished, 0.0, picked)
        outputs = _write(outputs, step, chosen)
        if attention_size is not None:
            attention = _write(attention, step, ops.where(ops.expand_dims(finished, -1), 0.0, weights))
        ended = chosen == END_ID
        if stop is not None:  # traced only for a sampler that has stop tokens: greedy search pays nothing
            ended = ops.logical_or(ended, _ends_with(outputs, step, stop))
        finished = ops.logical_or(finished, ended)
        return step + 1, chosen, state, outputs, finished, scores, attention

    _, _, _, outputs, _, scores, attention = ops.while_loop(
        cond, body, (ops.convert_to_tensor(0, "int32"), tokens, tuple(state), outputs, finished, scores, attention),
        maximum_iterations=max_length)
    return Decoded(outputs, _lengths(outputs), scores, None if attention_size is None else attention)


def _ends_with(outputs, step, stop):
    """bool [batch]: whether the tokens written up to `step` (outputs int32 [batch, max_length]) end with `stop`
    (int32 [k])."""
    count = ops.shape(stop)[0]
    positions = step - count + 1 + ops.arange(count)  # the last k steps; before the first, no match
    written = ops.take(outputs, ops.maximum(positions, 0), axis=1)  # [batch, k]
    return ops.logical_and(step + 1 >= count, ops.all(written == ops.expand_dims(stop, 0), axis=-1))


def filter_logits(logits, top_k, top_p):
    """Set logits outside the top-k set, then outside the nucleus (top-p) of what is left, to a large
    negative value. `top_k` and `top_p` may be Python numbers or scalar tensors (SavedModel inputs).

    Args:
        logits: float [n, vocab].
        top_k: keep the k highest (0 = all).
        top_p: keep the smallest most-likely set whose renormalised probability reaches top_p (1 = all).

    Returns:
        float [n, vocab].
    """
    if isinstance(top_k, int) and not top_k and isinstance(top_p, (int, float)) and top_p >= 1.0:
        return logits
    ordered = ops.flip(ops.sort(logits, axis=-1), axis=-1)  # descending
    vocab = ops.shape(logits)[-1]
    k = ops.cast(top_k, "int32")
    k = ops.where(k > 0, ops.minimum(k, vocab), vocab)
    # The nucleus is taken from the top-k distribution, renormalised (the usual order of the filters).
    in_top_k = ops.expand_dims(ops.arange(vocab), 0) < k
    probabilities = ops.softmax(ops.where(in_top_k, ordered, _NEG), axis=-1)
    # A token is kept while the mass before it is below top_p, so the most likely always is.
    nucleus = ops.sum(ops.cast(ops.cumsum(probabilities, axis=-1) - probabilities < top_p, "int32"), axis=-1)
    kept = ops.where(top_p >= 1.0, k, ops.minimum(k, nucleus))
    threshold = ops.take_along_axis(ordered, ops.expand_dims(kept - 1, -1), axis=-1)
    return ops.where(logits < threshold, _NEG, logits)


def _lengths(ids):
    """Tokens up to and including END (all of them if there is no END)."""
    return ops.sum(ops.cast(ids != PAD_ID, "int32"), axis=-1)


def length_penalty(lengths, alpha: float):
    """GNMT length penalty ((5 + length) / 6) ** alpha; alpha = 0 disables it."""
    return ops.power((5.0 + ops.cast(lengths, "float32")) / 6.0, alpha)


def tile_for_beams(tensors: tuple, beam_size: int) -> tuple:
    """Repeat every tensor [batch, ...] beam_size times along axis 0 -> [batch * beam_size, ...]."""
    return tuple(ops.repeat(tensor, beam_size, axis=0) for tensor in tensors)


def beam_search(step_fn: StepFn, state: tuple, context: tuple, batch_size, max_length: int, beam_size: int = 4,
                alpha: float = 0.6, attention_size=None) -> Decoded:
    """Keep the `beam_size` best partial sequences per input, ranked by length-normalised log-probability.

    A finished hypothesis stays in the beam (extended with PAD at no cost) and competes with the
    unfinished ones through its length-normalised score, so the result is the best complete sequence
    among those seen. beam_size = 1 gives exactly the greedy result.

    Args:
        step_fn, batch_size, max_length, attention_size: as in `greedy`.
        state: initial state tuple, each [batch, ...] (tiled to the beams here).
        context: constant tuple, each [batch, ...] (tiled to the beams here).
        beam_size: hypotheses kept per input.
        alpha: length-penalty exponent (0 = raw log-probability, which favours short outputs).

    Returns:
        A `Decoded` holding the best hypothesis of each input.
    """
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    state = tile_for_beams(tuple(state), beam_size)
    context = tile_for_beams(tuple(context), beam_size)
    flat = batch_size * beam_size
    tokens = ops.full((flat,), START_ID, "int32")
    outputs = ops.zeros((batch_size, beam_size, max_length), "int32")
    finished = ops.zeros((batch_size, beam_size), "bool")
    lengths = ops.zeros((batch_size, beam_size), "int32")
    # Only the first beam is live at the start, otherwise every beam would pick the same token.
    scores = ops.tile(ops.expand_dims(ops.concatenate([ops.zeros((1,)), ops.full((beam_size - 1,), _NEG)]), 0),
                      (batch_size, 1))
    attention = _empty_attention((batch_size, beam_size), max_length, attention_size)
    offsets = ops.expand_dims(ops.arange(batch_size, dtype="int32") * beam_size, -1)  # [batch, 1]

    def cond(step, tokens, state, outputs, finished, lengths, scores, attention):
        return ops.logical_and(step < max_length, ops.logical_not(ops.all(finished)))

    def body(step, tokens, state, outputs, finished, lengths, scores, attention):
        logits, state, weights = step_fn(tokens, state, context)
        log_probs = next_token_log_probs(logits)
        vocab = ops.shape(log_probs)[-1]
        log_probs = ops.reshape(log_probs, (batch_size, beam_size, vocab))
        # A finished hypothesis can only be extended by PAD, at no cost.
        pad_only = ops.where(ops.arange(vocab) == PAD_ID, 0.0, _NEG)
        log_probs = ops.where(ops.expand_dims(finished, -1), pad_only, log_probs)
        totals = ops.expand_dims(scores, -1) + log_probs  # [batch, beam, vocab]
        new_lengths = ops.where(finished, lengths, lengths + 1)
        normalised = totals / ops.expand_dims(length_penalty(new_lengths, alpha), -1)
        best, index = ops.top_k(ops.reshape(normalised, (batch_size, beam_size * vocab)), beam_size)
        parent = ops.cast(index // vocab, "int32")  # [batch, beam]
        chosen = ops.cast(index % vocab, "int32")
        flat_parent = ops.reshape(parent + offsets, (-1,))
        state = tuple(ops.take(s, flat_parent, axis=0) for s in state)
        scores = ops.take_along_axis(ops.reshape(totals, (batch_size, beam_size * vocab)), index, axis=-1)
        lengths = ops.take_along_axis(new_lengths, parent, axis=-1)
        was_finished = ops.take_along_axis(finished, parent, axis=-1)
        outputs = ops.take_along_axis(outputs, ops.expand_dims(parent, -1), axis=1)
        outputs = ops.reshape(_write(ops.reshape(outputs, (flat, max_length)), step, ops.reshape(chosen, (-1,))),
                              (batch_size, beam_size, max_length))
        if attention_size is not None:
            attention = ops.take_along_axis(attention, ops.reshape(parent, (batch_size, beam_size, 1, 1)), axis=1)
            step_weights = ops.take(weights, flat_parent, axis=0)
            step_weights = ops.where(ops.reshape(was_finished, (-1, 1)), 0.0, step_weights)
            # Reshaping back to the loop variable's own shape keeps its static dimensions (a feature grid has a
            # fixed size); a shape built from `attention_size`, a tensor, would lose them and break the loop.
            shape = ops.shape(attention)
            attention = ops.reshape(_write(ops.reshape(attention, (flat, max_length, shape[-1])), step, step_weights),
                                    shape)
        finished = ops.logical_or(was_finished, chosen == END_ID)
        return step + 1, ops.reshape(chosen, (-1,)), state, outputs, finished, lengths, scores, attention

    loop_vars = (ops.convert_to_tensor(0, "int32"), tokens, state, outputs, finished, lengths, scores, attention)
    _, _, _, outputs, _, lengths, scores, attention = ops.while_loop(cond, body, loop_vars,
                                                                     maximum_iterations=max_length)
    normalised = scores / length_penalty(lengths, alpha)
    best = ops.expand_dims(ops.cast(ops.argmax(normalised, axis=-1), "int32"), -1)  # [batch, 1]
    ids = ops.take_along_axis(outputs, ops.expand_dims(best, -1), axis=1)[:, 0]
    best_attention = None
    if attention_size is not None:
        best_attention = ops.take_along_axis(attention, ops.reshape(best, (batch_size, 1, 1, 1)), axis=1)[:, 0]
    return Decoded(ids, _lengths(ids), ops.take_along_axis(normalised, best, axis=-1)[:, 0], best_attention)


def search(step_fn: StepFn, state: tuple, context: tuple, batch_size, max_length: int, beam_size: int = 1,
           alpha: float = 0.6, attention_size=None) -> Decoded:
    """Greedy search when beam_size == 1, beam search otherwise; either way the scores are the
    log-probability divided by the length penalty, so they compare across the two.

    Args:
        step_fn, state, context, batch_size, max_length, attention_size: as in `greedy`.
        beam_size: a Python int >= 1.
        alpha: length-penalty exponent.

    Returns:
        A `Decoded` for the batch.
    """
    if beam_size > 1:
        return beam_search(step_fn, state, context, batch_size, max_length, beam_size, alpha,
                           attention_size=attention_size)
    result = greedy(step_fn, state, context, batch_size, max_length, attention_size=attention_size)
    result.scores = result.scores / length_penalty(result.lengths, alpha)
    return result


def uniforms_for(seed: int | None, max_length: int, batch_size: int):
    """Uniform noise [max_length, batch] for `sample`, reproducible for an integer seed."""
    return keras.random.uniform((max_length, batch_size), seed=seed)
