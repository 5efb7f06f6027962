"""A character language model trained by the `generate` task, as the `PrefixScorer` that CTC prefix beam search
fuses in (`rnnapps.decoding.ctc_fusion`): it reads a transcript from the start of a line, one recogniser class at
a time, and scores every next character of the recogniser's alphabet and the end of the line.

Train it on text normalised as the speech recipe normalises transcripts (`data.language_model_text` writes such
text), one transcript per line: then every character of the alphabet is in its vocabulary and a line break is
where a transcript ends.
"""

from __future__ import annotations

import logging
import pathlib

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from rnnapps.decoding import ctc_fusion
from rnnapps.errors import UserError
from rnnapps.special_tokens import PAD_ID, RESERVED_TOKENS, UNK_ID

log = logging.getLogger(__name__)

LINE_END = "\n"
MISSING_LOG_PROB = float(np.log(1e-4))  # a character the language model has never seen


class CharacterLanguageModel:
    """A `generate` bundle's language model over a recogniser's classes.

    Args:
        bundle: the generate bundle (or its run directory).
        classes: the recogniser's vocabulary, one token per class id (reserved tokens first; class 0 the blank).

    Raises:
        UserError: the bundle is not a character-level `generate` bundle.
    """

    def __init__(self, bundle: str | pathlib.Path, classes: list[str]):
        from rnnapps import registry  # the generate task, through the registry: tasks do not import each other

        self.path = pathlib.Path(bundle)
        pipeline = registry.get("generate").pipeline_class().from_bundle(self.path)
        tokenizer = pipeline.preprocessor.tokenizer
        if tokenizer.kind != "char":
            raise UserError(f"{bundle}: a {tokenizer.kind} language model; fusion needs a character-level one "
                            "(a generate recipe with tokenizer.kind = \"char\")")
        self.model = pipeline.model
        ids = {token: index for index, token in enumerate(tokenizer.tokens())}
        alphabet = classes[len(RESERVED_TOKENS):]
        missing = [char for char in alphabet if char not in ids]
        if missing:
            log.warning("the language model %s never saw %s: they score as very unlikely; train it on text "
                        "normalised like the transcripts", bundle, ", ".join(repr(char) for char in missing))
        # columns[c]: the language model's id of class c (-1: a reserved class, or a character it lacks)
        self.columns = np.array([-1] * len(RESERVED_TOKENS) + [ids.get(char, -1) for char in alphabet], np.int64)
        self.end_column = ids.get(LINE_END, -1)
        self.inputs = np.where(self.columns >= 0, self.columns, UNK_ID).astype(np.int32)
        self.first_input = ids[LINE_END] if LINE_END in ids else UNK_ID
        self._scored = np.concatenate([self.columns, [self.end_column]])  # the columns of `_read`'s scores
        self._step = tf.function(self.model.decoding_step, reduce_retracing=True)

    def start(self, count: int) -> tuple[list, np.ndarray]:
        """`count` states that have read a line break (the start of a transcript) and their next-class scores."""
        states = self.model.zero_states(count)
        flat = self.model.flatten_states(states)
        return self._read(tuple(ops.convert_to_numpy(state) for state in flat),
                          np.full((count,), self.first_input, np.int32))

    def advance(self, states: list, class_ids: np.ndarray) -> tuple[list, np.ndarray]:
        """Read one class into each state: (states, log P(next class) float [rows, classes + 1], end last)."""
        stacked = tuple(np.stack(parts) for parts in zip(*states))
        return self._read(stacked, self.inputs[class_ids])

    def _read(self, stacked: tuple, token_ids: np.ndarray) -> tuple[list, np.ndarray]:
        logits, new_states, _ = self._step(tf.constant(token_ids), tuple(tf.constant(s) for s in stacked))
        logits = np.asarray(logits, np.float64)
        new_states = [np.asarray(state) for state in new_states]
        chosen = self._scored
        picked = np.where(chosen >= 0, logits[:, np.maximum(chosen, 0)], -np.inf)
        # Renormalised over what the recogniser can write: the rest of the language model's vocabulary (other
        # cases, punctuation) is not a transcript's.
        normaliser = np.logaddexp.reduce(picked, axis=1, keepdims=True)
        scores = np.where(chosen >= 0, picked - normaliser, MISSING_LOG_PROB)
        if self.end_column < 0:
            scores[:, -1] = 0.0  # a model without line breaks does not know where transcripts end
        rows = [tuple(state[row] for state in new_states) for row in range(len(token_ids))]
        return rows, scores.astype(np.float32)


class FusedTranscriber:
    """Transcription with a language model fused in: the recogniser's CTC log probabilities from the graph, then
    prefix beam search on the host.

    Args:
        serving: the task's `SpeechRecognizerServing` (its `frame_scores_function`).
        scorer: the `CharacterLanguageModel`.
        beam_size: prefixes kept per frame.
        fusion: the language model's weight and the bonus per character.

    Call args:
        samples: float32 [batch, samples] at the model's rate, right-padded; lengths: int32 [batch].

    Returns:
        {"text": string [batch], "score": float32 [batch] (the fused score), "seconds": float32 [batch]}.
    """

    def __init__(self, serving, scorer: CharacterLanguageModel, beam_size: int, fusion: ctc_fusion.Fusion):
        self.serving = serving
        self.frame_scores = serving.frame_scores_function()
        self.scorer = scorer
        self.beam_size = beam_size
        self.fusion = fusion

    def __call__(self, samples: tf.Tensor, lengths: tf.Tensor) -> dict[str, tf.Tensor]:
        log_probs, steps = (value.numpy() for value in self.frame_scores(samples, lengths))
        found = ctc_fusion.prefix_beam_search([rows[:count] for rows, count in zip(log_probs, steps)],
                                              self.beam_size, self.scorer, self.fusion)
        ids = keras.utils.pad_sequences([prefix for prefix, _ in found], maxlen=max([1, *(len(p) for p, _ in found)]),
                                        dtype="int32", padding="post", value=PAD_ID)
        return {"text": self.serving.preprocessor.texts(ids),
                "score": tf.constant([score for _, score in found], tf.float32),
                "seconds": tf.cast(lengths, tf.float32) / float(self.serving.preprocessor.sample_rate)}
