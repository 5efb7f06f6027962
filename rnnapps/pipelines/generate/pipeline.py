"""Generation (character level): a recurrent language model trained on fixed-length windows of a text,
sampled one character at a time (temperature, top-k, top-p) from a prompt, scored in nats and bits per
character on the text's last part (the validation split)."""

from __future__ import annotations

import collections
import dataclasses
import logging
import pathlib
import secrets
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnnapps import metrics, serving_examples, training
from rnnapps.errors import UserError
from rnnapps.pipelines import base
from rnnapps.pipelines.generate import abc, abc_bars, data, listening, preprocess, serving, tune_measures, tune_report
from rnnapps.pipelines.generate import model as models
from rnnapps.pipelines.generate import recipe as recipes

log = logging.getLogger(__name__)

_STREAMS = 32  # parallel streams when scoring a long text
TUNES_MEASURED = 100  # tunes a model of tunes samples when it is scored


@dataclasses.dataclass(frozen=True)
class SampleRequest:
    """One sample to draw: its prompt, its number among the prompt's samples (from 1), its position among all
    requests of a call and the call's seed."""

    prompt: str
    sample: int
    index: int
    seed: int


class GeneratePipeline(base.Pipeline):
    """Character-level text generation: `pipeline("ROMEO:") -> {"prompt", "text", "seed", ...}`."""

    task = "generate"
    examples_name = "characters"
    recipe_cls = recipes.GenerateRecipe
    preprocessor_cls = preprocess.GeneratePreprocessor
    held_out_split = "validation"  # the last data.validation_fraction of the text
    demo_inputs = ("",)

    predict_batch_size = 256  # samples decoded together

    def __init__(self, recipe: recipes.GenerateRecipe, model: models.RecurrentLanguageModel,
                 preprocessor: preprocess.GeneratePreprocessor, bundle_path: pathlib.Path | None = None):
        super().__init__(recipe, model, preprocessor, bundle_path)
        self._score_chunk = None

    def make_serving(self) -> serving.TextGeneratorServing:
        return serving.TextGeneratorServing(self.preprocessor, self.model, recipes.MAX_SAMPLE_LENGTH,
                                            stop_at=self.recipe.decoding.stop_at)

    @property
    def makes_tunes(self) -> bool:
        """Whether the model writes tunes in ABC notation (its data was read as tunes, or as musical tokens)."""
        return self.recipe.data.format == "abc" or self.tokenizer.kind == "abc"

    @property
    def tokenizer(self):
        """The tokenizer (the preprocessor's: characters, or musical tokens)."""
        return self.preprocessor.tokenizer

    # ------------------------------------------------------------------ training hooks

    @classmethod
    def read_data(cls, recipe: recipes.GenerateRecipe) -> data.TextSplits:
        corpus = data.read_corpus(recipe.data, recipe.seed)
        log.info("text: %s", corpus.origin)
        return data.TextSplits(corpus)

    @classmethod
    def plan_training(cls, recipe: recipes.GenerateRecipe, preprocessor: preprocess.GeneratePreprocessor,
                      splits: data.TextSplits, run_dir: pathlib.Path) -> base.TrainingPlan:
        """Windows of the training text (contiguous streams when stateful) and of the validation text."""
        window, batch_size = recipe.model.sequence_length, recipe.training.batch_size
        train_ids = preprocessor.encode_text(splits.corpus.train)
        validation_ids = preprocessor.encode_text(splits.corpus.validation)
        needed = (window * batch_size if recipe.model.stateful else window) + 1
        if len(train_ids) < needed:
            raise UserError(f"the training text has {len(train_ids)} tokens, fewer than "
                            f"{'one batch of streams' if recipe.model.stateful else 'one window'} needs "
                            f"({needed}); use more text, shorter windows (model.sequence_length) or, when "
                            "stateful, a smaller training.batch_size")
        validation = None
        if len(validation_ids) >= window + 1:
            validation = preprocessor.batches(validation_ids, recipe.model, batch_size, training=False,
                                              seed=recipe.seed)
        else:  # the trainer then monitors the training loss (see base.Pipeline.train)
            log.info("the validation text is shorter than one window (%d tokens): no windowed validation loss",
                     len(validation_ids))
        train_batches = preprocessor.batches(train_ids, recipe.model, batch_size, training=True, seed=recipe.seed)
        windows = (len(train_ids) - 1) // window
        if recipe.model.stateful:
            steps, callbacks = int(train_batches.cardinality()), [models.ResetStatesEachEpoch()]
        else:
            steps, callbacks = training.steps_for(windows, batch_size), []
        return base.TrainingPlan(
            build_model=lambda: models.build_model(recipe, preprocessor.vocab_size),
            train_data=train_batches, validation_data=validation, examples_per_epoch=windows,
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
            callbacks=callbacks, steps_per_epoch=steps,
            summary={"train_characters": len(splits.corpus.train), "train_tokens": len(train_ids),
                     "validation_characters": len(splits.corpus.validation), "validation_tokens": len(validation_ids)})

    def training_summary(self, result: training.TrainingResult, plan: base.TrainingPlan) -> dict[str, Any]:
        """The trainer's summary with the character counts and the training throughput (characters/s)."""
        characters = plan.summary["train_characters"]
        return training.summary(result, **plan.summary,
                                train_chars_per_second=round(_chars_per_second(result, characters), 1))

    def serving_examples(self, splits: data.TextSplits) -> dict[str, Any]:
        """Prompts: none at all, and the two lines the held-out text repeats most (a play's speaker names) or, for
        tunes, the three headers (meter, unit, rhythm, key) held-out tunes share most; the recipe's sampling
        settings as the form's defaults; "music": "abc" for tunes (the page plays them)."""
        text = serving_examples.held_out(splits, self.held_out_split)[:200_000]
        settings = self.recipe.decoding
        defaults = {"length": settings.length, "temperature": settings.temperature, "top_k": settings.top_k,
                    "top_p": settings.top_p}
        if self.makes_tunes:
            fields = (abc_bars.split_tune(tune)[0] for tune in tune_measures.split_tunes(text))
            headers = collections.Counter(abc.header_text(header) for header in fields if "K" in header)
            return {"inputs": {"prompt": [header for header, _ in headers.most_common(3)]}, "defaults": defaults,
                    "music": "abc"}
        lines = collections.Counter(line.strip() for line in text.splitlines() if 2 <= len(line.strip()) <= 30)
        return {"inputs": {"prompt": ["", *(f"{line}\n" for line, _ in lines.most_common(2))]}, "defaults": defaults}

    def bundle_artifacts(self, splits: data.TextSplits,
                         report: dict[str, Any]) -> dict[str, Callable[[pathlib.Path], Any]]:
        """sample.txt: a sample from the recipe's decoding.prompt, seeded with the recipe's seed."""
        sample = self.predict([self.recipe.decoding.prompt], seed=self.recipe.seed)[0]
        return {"sample.txt": lambda path: path.write_text(sample["text"], encoding="utf-8")}

    # ------------------------------------------------------------------ use

    def predict(self, inputs, **options) -> list[dict[str, Any]]:
        """Sample continuations of prompts (settings default to the recipe's `decoding` section).

        Args:
            inputs: prompt strings ("" starts a fresh line); characters never seen in training are read
                as unknown.
            **options: length (characters to generate per sample), temperature, top_k, top_p (see
                `recipes.SamplingConfig`), seed (the same seed, prompts and settings give the same text; None
                draws one, reported) and num_samples (samples per prompt).

        Returns:
            One {"prompt", "text" (prompt + continuation), "generated", "sample", "seed"} dict per
            prompt and sample, prompts in order.
        """
        return super().predict(inputs, **options)

    def prediction_items(self, inputs: list[str], seed: int | None = None, num_samples: int = 1,
                         **options) -> list[SampleRequest]:
        """One request per prompt and sample, all with the one seed (drawn when None)."""
        if num_samples < 1:
            raise UserError(f"num_samples = {num_samples} must be >= 1")
        for index, prompt in enumerate(inputs):
            if not isinstance(prompt, str):
                raise UserError(f"prompt {index} is a {type(prompt).__name__}, expected a string")
        file_format = listening.resolve_format(options.get("file_format"), options.get("out"))
        if file_format and not self.makes_tunes:
            raise UserError(f"--format {file_format} writes tunes in ABC notation, and this model learnt plain text "
                            "(its recipe's data.format is \"text\"); leave --format and --out out to print the text")
        if self.makes_tunes:  # "K:Dmaj" is read as the "K:D" the model learnt
            inputs = [abc.normalise_prompt(prompt) for prompt in inputs]
        unknown = self.preprocessor.unknown_tokens(inputs)
        if unknown:
            log.warning("the prompt has %s never seen in training (%s); they are read as unknown",
                        self.preprocessor.unit, " ".join(repr(token) for token in unknown[:20]))
        seed = secrets.randbelow(2**31) if seed is None else int(seed)
        requests = [(prompt, sample) for prompt in inputs for sample in range(num_samples)]
        return [SampleRequest(prompt, sample + 1, index, seed) for index, (prompt, sample) in enumerate(requests)]

    def prediction_function(self, length: int | None = None, temperature: float | None = None,
                            top_k: int | None = None, top_p: float | None = None, **options):
        """Samples of a batch of requests with the given settings (None: the recipe's)."""
        settings = self.recipe.decoding
        length = settings.length if length is None else length
        temperature = settings.temperature if temperature is None else temperature
        top_k = settings.top_k if top_k is None else top_k
        top_p = settings.top_p if top_p is None else top_p
        recipes.check_sampling(length, temperature, top_k, top_p)

        def sample(batch: list[SampleRequest]):
            # Each batch gets its own seed (derived from the given one), so long runs stay reproducible.
            return self.serving.generate_batch(
                tf.constant([request.prompt for request in batch], tf.string), tf.constant(length, tf.int32),
                tf.constant(temperature, tf.float32), tf.constant(top_k, tf.int32), tf.constant(top_p, tf.float32),
                tf.constant(batch[0].seed + batch[0].index, tf.int64))

        return sample

    def prediction_result(self, request: SampleRequest, outputs: dict[str, Any]) -> dict[str, Any]:
        generated = outputs["generated"].decode("utf-8")
        return {"prompt": request.prompt, "text": request.prompt + generated, "generated": generated,
                "sample": request.sample, "seed": request.seed}

    def after_prediction(self, items: list[SampleRequest], results: list[dict[str, Any]],
                         file_format: str | None = None, out: str | None = None, **options) -> None:
        """`file_format` "abc", "midi" or "wav" (or `out`'s suffix): write each sample's tune to `out` (see
        `listening`; checked before sampling, in `prediction_items`)."""
        file_format = listening.resolve_format(file_format, out)
        if file_format:
            listening.write_samples(results, file_format, out)

    def score(self, examples: str | np.ndarray, tunes: int | None = None, **options) -> dict[str, Any]:
        """Nats and bits per character and per token of a text (or its token ids), with the state carried
        through it.

        The text is cut into `_STREAMS` contiguous streams read side by side in chunks of
        model.sequence_length, each chunk starting from the state the previous one left, so every
        token is predicted from all the text before it in its stream (as when sampling). Per character is the
        same total over the characters the predicted tokens hold, so models with different tokenizers compare
        (for a character model, a token is a character).

        A model of tunes also samples `tunes` tunes and measures them against the text's tunes
        (`tune_report.measure`: how many parse, fit their meter, copy a training tune; keys, meters, lengths).

        Args:
            examples: the text, or its int token ids [tokens] (see `GeneratePreprocessor.encode_text`).
            tunes: tunes to sample for the music measures (None: `TUNES_MEASURED`; 0: none).

        Returns:
            {"nats_per_char", "bits_per_char", "characters", "nats_per_token", "bits_per_token", "perplexity"
            (per token), "tokens"}, and "tunes" (the music measures) for a model of tunes.

        Raises:
            UserError: the text has fewer than 2 tokens.
        """
        examples_text = examples
        if isinstance(examples, str):
            examples = self.preprocessor.encode_text(examples)
        ids = np.asarray(examples, dtype=np.int32)
        predicted = len(ids) - 1
        if predicted < 1:
            raise UserError("the text to score has fewer than 2 tokens")
        streams = min(_STREAMS, predicted)
        per_stream = predicted // streams
        inputs = ids[:streams * per_stream].reshape(streams, per_stream)
        targets = ids[1:streams * per_stream + 1].reshape(streams, per_stream)
        if self._score_chunk is None:
            self._score_chunk = tf.function(self._chunk_nats, reduce_retracing=True)
        states = self.model.flatten_states(self.model.zero_states(streams))
        total = 0.0
        chunk = self.recipe.model.sequence_length
        for start in range(0, per_stream, chunk):
            nats, states = self._score_chunk(tf.constant(inputs[:, start:start + chunk]),
                                             tf.constant(targets[:, start:start + chunk]), states)
            total += float(nats)
        per_token = metrics.language_model_scores(total, streams * per_stream)
        if isinstance(examples_text, str):  # the characters the predicted tokens hold, unknown ones included
            characters = int(self.preprocessor.token_lengths(examples_text)[1:targets.size + 1].sum())
        else:
            characters = int(self.preprocessor.token_lengths()[targets].sum())
        per_char = metrics.language_model_scores(total, characters)
        report = {"nats_per_char": per_char["nats_per_token"], "bits_per_char": per_char["bits_per_token"],
                  "characters": characters, **per_token}
        tunes = TUNES_MEASURED if tunes is None else tunes
        if self.makes_tunes and tunes > 0 and isinstance(examples_text, str):
            report["tunes"] = tune_report.measure(self, examples_text, tunes)
        return report

    def _chunk_nats(self, inputs, targets, states):
        logits, new_states = self.model.run(inputs, self.model.unflatten_states(states), training=False)
        nats = keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)
        return tf.reduce_sum(nats), self.model.flatten_states(new_states)

    def evaluation_variant(self, tunes: int | None = None, **options) -> str:
        """"tunesN" when `evaluate --tunes N` measures another number of tunes than training did."""
        return "" if tunes is None or tunes == TUNES_MEASURED else f"tunes{tunes}"

    def read_evaluation_data(self, source: str | None) -> str:
        """The text to score: `source` (a text file or folder, read whole) or, for None, the validation part
        (the last data.validation_fraction) of the recipe's own text."""
        if source:
            config = dataclasses.replace(self.recipe.data, source=source, validation_fraction=0.0)
            return data.read_corpus(config, self.recipe.seed).train
        return data.read_corpus(self.recipe.data, self.recipe.seed).validation

    # ------------------------------------------------------------------ presentation

    def summary(self) -> str:
        report = self.metrics.get("validation", {})
        lines = [self.format_report(report)] if report else []
        sample_path = self.bundle_path / "sample.txt" if self.bundle_path else None
        if sample_path is not None and sample_path.is_file():
            lines += ["sample:", sample_path.read_text(encoding="utf-8")[:400]]
        return "\n".join(lines) or f"vocabulary: {self.tokenizer.vocab_size} {self.preprocessor.unit}"

    def format_report(self, report: dict[str, Any]) -> str:
        per_char = f"validation: {report['nats_per_char']:.4f} nats/char   {report['bits_per_char']:.4f} bits/char"
        if self.tokenizer.kind == "char" or "nats_per_token" not in report:
            line = f"{per_char}   perplexity {report['perplexity']:.2f}   ({report['characters']} characters)"
        else:
            line = (f"{per_char}   {report['nats_per_token']:.4f} nats/token   perplexity {report['perplexity']:.2f} "
                    f"per token   ({report['tokens']} tokens, {report['characters']} characters)")
        return f"{line}\n{tune_report.summary_line(report['tunes'])}" if "tunes" in report else line

    def format_prediction(self, result: dict[str, Any]) -> str:
        text = f"----- sample {result['sample']} (seed {result['seed']})\n{result['text']}"
        if result.get("file"):
            seconds = f" ({result['seconds']:g} s)" if "seconds" in result else ""
            return f"{text}\n----- written to {result['file']}{seconds}"
        if "file_error" in result:
            return f"{text}\n----- not written: {result['file_error']}"
        return text

    def serving_usage(self, path: pathlib.Path) -> str:
        return (f"use: tf.saved_model.load('{path}').signatures['serving_default'](prompt=tf.constant(['ROMEO:']), "
                "length=tf.constant(200), temperature=tf.constant(0.8), seed=tf.constant(1, tf.int64))"
                " -> generated, text; 'generate_filtered' adds top_k and top_p")


def _chars_per_second(result: training.TrainingResult, train_characters: int) -> float:
    """Training throughput over the epochs run (validation passes included)."""
    return train_characters * result.epochs_completed / result.train_seconds if result.train_seconds else 0.0
