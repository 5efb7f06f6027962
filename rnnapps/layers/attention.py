"""Attention of a decoder query over encoder outputs: Bahdanau (additive) and Luong (multiplicative).

Both layers share one call contract, made for step-by-step decoding (one query per call, the hot path of
`decoding.py`) and for teacher forcing (every target step at once):

    context, weights = attention(query, keys, mask=None, processed_keys=None)

- `query`: [batch, query_dim] (one decoder step) or [batch, target_time, query_dim] (all steps).
- `keys`: the encoder outputs [batch, source_time, key_dim]; they are the values too.
- `mask`: optional bool [batch, source_time], True on real source tokens. Pass it explicitly: Keras only
  fills `mask` from an input's attached mask when a layer is called with a single tensor.
- `processed_keys`: optional `attention.precompute_keys(keys)`, computed once per source sentence so that
  each decoding step skips the key projection.

Returns `context` [batch, key_dim] / [batch, target_time, key_dim] and `weights` [batch, source_time] /
[batch, target_time, source_time]. The weights sum to 1 over the real source positions, are exactly 0 on
masked ones, and a row whose source is entirely masked gets all-zero weights and a zero context (no NaN).
"""

from __future__ import annotations

import keras
from keras import ops

from rnnapps import numerics

SCORES = ("dot", "general")


def _attend(scores, keys, mask):
    """Masked softmax over source positions and the weighted sum of the keys.

    Args:
        scores: [batch, target_time, source_time] in the compute dtype.
        keys: [batch, source_time, key_dim], the values.
        mask: None or bool-like [batch, source_time].

    Returns:
        (context [batch, target_time, key_dim], weights [batch, target_time, source_time]).
    """
    if mask is None:
        weights = ops.softmax(scores, axis=-1)
    else:
        real = ops.expand_dims(ops.cast(mask, "bool"), 1)  # [batch, 1, source_time]
        masked = ops.where(real, scores, ops.full_like(scores, numerics.lowest(scores.dtype)))
        # Multiplying by the mask makes masked positions exactly 0, and zeroes a fully masked row
        # (whose softmax over equal lowest scores would otherwise be uniform).
        weights = ops.softmax(masked, axis=-1) * ops.cast(real, scores.dtype)
    context = ops.matmul(weights, ops.cast(keys, weights.dtype))
    return context, weights


def _query_rank_error(shape) -> ValueError:
    return ValueError(f"query must have shape [batch, query_dim] or [batch, target_time, query_dim], "
                      f"got rank {len(shape)}: {tuple(shape)}")


def _as_steps(query):
    """Query as [batch, target_time, query_dim] and whether it was a single step [batch, query_dim]."""
    rank = len(query.shape)
    if rank == 2:
        return ops.expand_dims(query, 1), True
    if rank == 3:
        return query, False
    raise _query_rank_error(query.shape)


def _check_shapes(query_shape, keys_shape):
    if len(query_shape) not in (2, 3):
        raise _query_rank_error(query_shape)
    if len(keys_shape) != 3 or keys_shape[-1] is None:
        raise ValueError(f"keys must have shape [batch, source_time, key_dim] with a known key_dim, "
                         f"got {tuple(keys_shape)}")


class _Attention(keras.layers.Layer):
    """What both scoring functions share: the masked softmax, the weighted sum and the single-step shape."""

    def _attend(self, scores, keys, mask, single: bool):
        context, weights = _attend(scores, keys, mask)
        if single:
            return ops.squeeze(context, 1), ops.squeeze(weights, 1)
        return context, weights

    def compute_mask(self, query, previous_mask=None):
        # The outputs are indexed by target step, the mask by source position: nothing to pass on.
        return None


@keras.saving.register_keras_serializable(package="rnnapps")
class BahdanauAttention(_Attention):
    """Additive attention: score(s, h_j) = v^T tanh(W_q s + W_k h_j + b).

    `W_k h_j + b` does not depend on the decoder step: compute it once per source sentence with
    `precompute_keys(keys)` and pass it as `processed_keys` on every step.

    Args:
        units: width of the hidden scoring layer (the rows of W_q, W_k and the length of v).
        **kwargs: forwarded to `keras.layers.Layer` (name, dtype, ...).

    Call args:
        query: [batch, query_dim] (one decoder step) or [batch, target_time, query_dim].
        keys: encoder outputs [batch, source_time, key_dim], used as the values too.
        mask: optional bool [batch, source_time], True on real source tokens.
        processed_keys: optional `precompute_keys(keys)`, [batch, source_time, units].

    Returns:
        (context, weights): context [batch, key_dim] or [batch, target_time, key_dim]; weights
        [batch, source_time] or [batch, target_time, source_time], summing to 1 over the real source
        positions, exactly 0 on masked ones, all 0 when a row has no real position.

    Example:
        >>> attention = BahdanauAttention(units=8)
        >>> keys = keras.ops.ones((2, 5, 6))
        >>> processed = attention.precompute_keys(keys)
        >>> context, weights = attention(keras.ops.ones((2, 4)), keys, processed_keys=processed)
        >>> tuple(context.shape), tuple(weights.shape)
        ((2, 6), (2, 5))
    """

    def __init__(self, units: int = 64, **kwargs):
        super().__init__(**kwargs)
        if units < 1:
            raise ValueError(f"units must be >= 1, got {units}")
        self.units = units
        self.supports_masking = True
        # The sublayers follow this layer's dtype policy (e.g. mixed_float16), not the global one.
        dense = {"dtype": self.dtype_policy}
        self.query_projection = keras.layers.Dense(units, use_bias=False, name="query_projection", **dense)
        self.key_projection = keras.layers.Dense(units, name="key_projection", **dense)
        self.score_projection = keras.layers.Dense(1, use_bias=False, name="score_projection", **dense)

    def build(self, query_shape, keys_shape, processed_keys_shape=None):
        _check_shapes(query_shape, keys_shape)
        # precompute_keys may already have built the key projection.
        if not self.key_projection.built:
            self.key_projection.build(tuple(keys_shape))
        self.query_projection.build(tuple(query_shape))
        self.score_projection.build((None, None, None, self.units))

    def precompute_keys(self, keys):
        """W_k h_j + b for every source position: call once per source sentence.

        Args:
            keys: encoder outputs [batch, source_time, key_dim].

        Returns:
            [batch, source_time, units], to pass as `processed_keys`.
        """
        return self.key_projection(keys)

    def call(self, query, keys, mask=None, processed_keys=None):
        steps, single = _as_steps(query)
        if processed_keys is None:
            processed_keys = self.key_projection(keys)
        projected_query = self.query_projection(steps)  # [batch, target_time, units]
        hidden = ops.tanh(ops.expand_dims(projected_query, 2) + ops.expand_dims(processed_keys, 1))
        scores = ops.squeeze(self.score_projection(hidden), -1)  # [batch, target_time, source_time]
        return self._attend(scores, keys, mask, single)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="rnnapps")
class LuongAttention(_Attention):
    """Multiplicative attention: "dot" score(s, h_j) = s^T h_j, "general" score(s, h_j) = s^T W h_j.

    "dot" has no weights and needs query_dim == key_dim. "general" learns W [query_dim, key_dim] and
    computes (s^T W) h_j: the query is projected (once per step, cheaper than projecting every key), so
    `precompute_keys` returns the keys unchanged; it exists so that a decoder can treat every attention
    kind alike.

    Args:
        score: "dot" or "general".
        **kwargs: forwarded to `keras.layers.Layer` (name, dtype, ...).

    Call args:
        query: [batch, query_dim] (one decoder step) or [batch, target_time, query_dim].
        keys: encoder outputs [batch, source_time, key_dim], used as the values too.
        mask: optional bool [batch, source_time], True on real source tokens.
        processed_keys: optional `precompute_keys(keys)` (the keys themselves).

    Returns:
        (context, weights): context [batch, key_dim] or [batch, target_time, key_dim]; weights
        [batch, source_time] or [batch, target_time, source_time], summing to 1 over the real source
        positions, exactly 0 on masked ones, all 0 when a row has no real position.

    Raises:
        ValueError: in build, for "dot" with query_dim != key_dim.

    Example:
        >>> attention = LuongAttention("general")
        >>> context, weights = attention(keras.ops.ones((2, 3, 4)), keras.ops.ones((2, 5, 6)))
        >>> tuple(context.shape), tuple(weights.shape)
        ((2, 3, 6), (2, 3, 5))
    """

    def __init__(self, score: str = "general", **kwargs):
        super().__init__(**kwargs)
        if score not in SCORES:
            raise ValueError(f"score must be one of {SCORES}, got {score!r}")
        self.score = score
        self.supports_masking = True

    def build(self, query_shape, keys_shape, processed_keys_shape=None):
        _check_shapes(query_shape, keys_shape)
        query_dim, key_dim = query_shape[-1], keys_shape[-1]
        if self.score == "dot":
            if query_dim != key_dim:
                raise ValueError(f"Luong 'dot' attention needs query_dim == key_dim, got query_dim={query_dim} "
                                 f"and key_dim={key_dim}; use score='general' for different widths")
            return
        if query_dim is None:
            raise ValueError(f"query must have a known last dimension, got {tuple(query_shape)}")
        self.kernel = self.add_weight(shape=(query_dim, key_dim), initializer="glorot_uniform", name="kernel")

    def precompute_keys(self, keys):
        """The keys unchanged (Luong scores need no per-sentence key processing).

        Args:
            keys: encoder outputs [batch, source_time, key_dim].

        Returns:
            `keys`, to pass as `processed_keys`.
        """
        return keys

    def call(self, query, keys, mask=None, processed_keys=None):
        steps, single = _as_steps(query)
        scoring_keys = keys if processed_keys is None else processed_keys
        if self.score == "general":
            steps = ops.matmul(steps, ops.cast(self.kernel, steps.dtype))  # [batch, target_time, key_dim]
        scores = ops.matmul(steps, ops.transpose(scoring_keys, (0, 2, 1)))  # [batch, target_time, source_time]
        return self._attend(scores, keys, mask, single)

    def get_config(self):
        return {**super().get_config(), "score": self.score}


ATTENTIONS = {"bahdanau": BahdanauAttention, "luong_dot": LuongAttention, "luong_general": LuongAttention}


def make_attention(kind: str, units: int, **kwargs) -> keras.layers.Layer:
    """Build the attention layer a recipe names.

    Args:
        kind: "bahdanau", "luong_dot" or "luong_general" (the keys of `ATTENTIONS`).
        units: hidden width of the Bahdanau scorer; the Luong kinds have no such width and ignore it.
        **kwargs: forwarded to the layer (name, dtype, ...).

    Returns:
        A `BahdanauAttention` or `LuongAttention` layer.

    Raises:
        ValueError: for an unknown kind, naming the known ones.

    Example:
        >>> make_attention("luong_dot", units=64).score
        'dot'
    """
    if kind not in ATTENTIONS:
        raise ValueError(f"attention kind must be one of {sorted(ATTENTIONS)}, got {kind!r}")
    if kind == "bahdanau":
        return BahdanauAttention(units, **kwargs)
    return LuongAttention(score=kind.removeprefix("luong_"), **kwargs)
