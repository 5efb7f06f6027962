"""The decoding contract (`DecodingStart`, `Decodable`) and the decoding strategies as small objects built
from a recipe and validated once: `GreedySearch`, `BeamSearch`, `Sampling`."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from rnnapps import sections
from rnnapps.decoding.loops import Decoded, StepFn, beam_search, length_penalty, sample

# --------------------------------------------------------------------------- the decoding contract


@dataclasses.dataclass
class DecodingStart:
    """Where decoding begins, as a model's `start_decoding` returns it.

    Attributes:
        state: tuple of tensors [batch, ...], the first state of `decoding_step`.
        context: tuple of tensors [batch, ...], per-sequence constants every step reads.
        batch_size: number of sequences (int or scalar tensor).
        start_ids: int32 [batch] first input tokens, or None for START_ID.
        memory_length: positions the attention covers (int or scalar tensor), None for a model without
            attention.
    """

    state: tuple
    context: tuple
    batch_size: Any
    start_ids: Any = None
    memory_length: Any = None


@typing.runtime_checkable
class Decodable(typing.Protocol):
    """A model that decodes itself: what `decode` and the strategies need of it."""

    def start_decoding(self, inputs, training=False) -> DecodingStart:
        """The first state and the constants of decoding from the model's raw-side inputs
        (source ids, images or image features, prompt ids)."""

    def decoding_step(self, token_ids, state: tuple, context: tuple) -> tuple[Any, tuple, Any]:
        """One step: previous tokens int32 [n] -> (logits float32 [n, vocab], new state, attention [n, memory]
        or None)."""


@dataclasses.dataclass(frozen=True)
class GreedySearch:
    """The most likely token at every step; scores are divided by the length penalty (exponent `alpha`)
    so that they compare with beam search's."""

    alpha: float = 0.6

    def __post_init__(self):
        _check_number("alpha", self.alpha, 0, sections.MAX_LENGTH_PENALTY)

    def run(self, step_fn: StepFn, start: DecodingStart, max_length: int, with_attention: bool = False,
            uniforms=None) -> Decoded:
        """Decode from `start` with `step_fn`; returns a `Decoded` for the batch."""
        result = sample(step_fn, start.state, start.context, start.batch_size, max_length, uniforms=None,
                        start_ids=start.start_ids, attention_size=_attention_size(start, with_attention))
        result.scores = result.scores / length_penalty(result.lengths, self.alpha)
        return result


@dataclasses.dataclass(frozen=True)
class BeamSearch:
    """Keep the `beam_size` best hypotheses, ranked by log-probability over the GNMT length penalty."""

    beam_size: int = 4
    alpha: float = 0.6

    def __post_init__(self):
        _check_number("beam_size", self.beam_size, 1, sections.MAX_BEAM_SIZE)
        _check_number("alpha", self.alpha, 0, sections.MAX_LENGTH_PENALTY)

    def run(self, step_fn: StepFn, start: DecodingStart, max_length: int, with_attention: bool = False,
            uniforms=None) -> Decoded:
        """Decode from `start` with `step_fn`; returns a `Decoded` holding each input's best hypothesis."""
        if start.start_ids is not None:
            raise ValueError("beam search starts every hypothesis from START_ID; it cannot take start_ids")
        return beam_search(step_fn, start.state, start.context, start.batch_size, max_length, self.beam_size,
                           self.alpha, attention_size=_attention_size(start, with_attention))


@dataclasses.dataclass(frozen=True)
class Sampling:
    """Draw each token from the model distribution divided by `temperature`, filtered to the `top_k` most
    likely tokens (0 = all) and to the smallest set holding `top_p` of the probability (1 = all).

    A sequence also ends once its last tokens are `stop_ids` (a language model's end of a tune, say: its other
    steps then write padding, and the loop ends when every sequence has ended).

    The values may be tensors (a SavedModel signature's inputs): only Python numbers are checked here."""

    temperature: Any = 1.0
    top_k: Any = 0
    top_p: Any = 1.0
    stop_ids: tuple[int, ...] = ()

    def __post_init__(self):
        _check_number("temperature", self.temperature, 0, None, low_open=True)
        _check_number("top_k", self.top_k, 0, None)
        _check_number("top_p", self.top_p, 0, 1, low_open=True)

    def run(self, step_fn: StepFn, start: DecodingStart, max_length: int, with_attention: bool = False,
            uniforms=None) -> Decoded:
        """Decode from `start`; `uniforms` float [max_length, batch] in [0, 1) drive the draws (see `sample`)."""
        if uniforms is None:
            raise ValueError("Sampling needs uniforms [max_length, batch] (see decoding.uniforms_for)")
        return sample(step_fn, start.state, start.context, start.batch_size, max_length, uniforms=uniforms,
                      temperature=self.temperature, top_k=self.top_k, top_p=self.top_p, start_ids=start.start_ids,
                      attention_size=_attention_size(start, with_attention), stop_ids=self.stop_ids)


Strategy = GreedySearch | BeamSearch | Sampling


def search_strategy(beam_size: int, alpha: float) -> GreedySearch | BeamSearch:
    """Greedy search for beam_size 1, beam search otherwise (the recipe's `[decoding]` section)."""
    return GreedySearch(alpha) if beam_size == 1 else BeamSearch(beam_size, alpha)


def decode(model: Decodable, inputs, strategy: Strategy, max_length: int, with_attention: bool = False,
           uniforms=None) -> Decoded:
    """Decode a batch with a model that decodes itself.

    Args:
        model: a `Decodable` (e.g. `Seq2Seq`, `Captioner`, `RecurrentLanguageModel`).
        inputs: what the model's `start_decoding` takes (source ids, images, prompt ids).
        strategy: `GreedySearch`, `BeamSearch` or `Sampling`.
        max_length: most tokens generated per sequence.
        with_attention: also record the attention weights (`Decoded.attention`).
        uniforms: float [max_length, batch] noise for `Sampling`.

    Returns:
        A `Decoded` for the batch.
    """
    return strategy.run(model.decoding_step, model.start_decoding(inputs, training=False), max_length,
                        with_attention, uniforms)


def _attention_size(start: DecodingStart, with_attention: bool):
    if not with_attention:
        return None
    if start.memory_length is None:
        raise ValueError("this model has no attention to record")
    return start.memory_length


def _check_number(name: str, value, low, high, low_open: bool = False) -> None:
    """ValueError unless a Python number lies in its range (tensors are left to the graph's own checks)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if (value <= low if low_open else value < low) or (high is not None and value > high):
        bounds = f"> {low}" if low_open and high is None else (
            f"in ({low}, {high}]" if low_open else (f">= {low:g}" if high is None else f"between {low:g} and {high:g}"))
        raise ValueError(f"{name} must be {bounds}, got {value!r}")
