"""Generation (character level): a recurrent language model trained on fixed-length windows of a text,
sampled one character at a time (temperature, top-k, top-p) from a prompt, scored in nats and bits per
character on the text's last part."""

from __future__ import annotations

import dataclasses
import logging
import math
import pathlib
import secrets
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnnapps import bundle as bundles
from rnnapps import config as recipes
from rnnapps import export, metrics, tokenizers, training
from rnnapps.datasets import batching, text_corpus
from rnnapps.errors import UserError
from rnnapps.layers.language_model import RecurrentLanguageModel, ResetStatesEachEpoch
from rnnapps.pipelines import base

log = logging.getLogger(__name__)

MAX_SAMPLE_LENGTH = 100_000  # characters per call; a guard against requests that would run for hours
MAX_PROMPT_LENGTH = 20_000  # prompt characters read (the end of a longer prompt)
MAX_BATCH = 256  # samples decoded together
_ENCODE_PIECE = 4096  # characters tokenized per piece: string ops on one huge string are slow
_STREAMS = 32  # parallel streams when scoring a long text


@dataclasses.dataclass(frozen=True)
class LanguageModelConfig:
    """How the text is cut for training.

    Attributes:
        sequence_length: characters per training window (backpropagation reaches this far back; at
            sampling time the state carries context indefinitely).
        stateful: carry the state from one batch to the next: the training text is read as batch_size
            contiguous streams, window after window, and each window starts from the state the previous
            one left (truncated backpropagation through time; reset every epoch). False: windows are cut
            at random offsets, shuffled, and each starts from a zero state.
    """

    sequence_length: int = 128
    stateful: bool = False


@dataclasses.dataclass(frozen=True)
class SamplingConfig:
    """Defaults of `sample` (each can be overridden per call).

    Attributes:
        length: characters generated.
        temperature: > 0; below 1 is more conservative, above 1 more surprising.
        top_k: sample only among the k most likely characters (0 = all).
        top_p: sample only from the smallest set of characters holding this probability (1 = all).
        prompt: text the demo and `summary` samples start from ("" starts a fresh line).
    """

    length: int = 400
    temperature: float = 0.8
    top_k: int = 0
    top_p: float = 1.0
    prompt: str = ""


def _default_rnn() -> recipes.RecurrentConfig:
    return recipes.RecurrentConfig(cell="lstm", units=256, num_layers=2, bidirectional=False, dropout_rate=0.2)


@dataclasses.dataclass(frozen=True)
class GenerateRecipe:
    """A generation recipe: data, tokenizer (characters), embedding, recurrent stack, windows, sampling,
    training."""

    task: str = "generate"
    seed: int = 42
    data: text_corpus.TextCorpusConfig = dataclasses.field(default_factory=text_corpus.TextCorpusConfig)
    tokenizer: recipes.TokenizerConfig = dataclasses.field(
        default_factory=lambda: recipes.TokenizerConfig(kind="char", vocab_size=1000, lowercase=False))
    embedding: recipes.EmbeddingConfig = dataclasses.field(
        default_factory=lambda: recipes.EmbeddingConfig(dim=64))
    rnn: recipes.RecurrentConfig = dataclasses.field(default_factory=_default_rnn)
    model: LanguageModelConfig = dataclasses.field(default_factory=LanguageModelConfig)
    sample: SamplingConfig = dataclasses.field(default_factory=SamplingConfig)
    training: recipes.TrainingConfig = dataclasses.field(
        default_factory=lambda: recipes.TrainingConfig(epochs=20, batch_size=64, learning_rate=0.002,
                                                       bucketing=False, early_stopping_patience=3))

    def validate(self) -> None:
        """Raise `UserError` for values out of range or options a language model cannot use."""
        where = "recipe"
        if self.tokenizer.kind != "char":
            raise UserError(f"{where}: tokenizer.kind = {self.tokenizer.kind!r}, but generation is character "
                            "level; use kind = \"char\"")
        if self.rnn.bidirectional:
            raise UserError(f"{where}: rnn.bidirectional = true cannot generate text (a language model may "
                            "only read what comes before); set it to false")
        if self.embedding.pretrained_path:
            raise UserError(f"{where}: embedding.pretrained_path is for word vectors; a character model "
                            "learns its embedding, leave it empty")
        recipes.check_range(where, "tokenizer.vocab_size", self.tokenizer.vocab_size, 5)
        recipes.check_range(where, "embedding.dim", self.embedding.dim, 1)
        recipes.check_range(where, "rnn.units", self.rnn.units, 1)
        recipes.check_range(where, "rnn.num_layers", self.rnn.num_layers, 1, 16)
        for key, value in (("embedding.dropout_rate", self.embedding.dropout_rate),
                           ("rnn.dropout_rate", self.rnn.dropout_rate),
                           ("rnn.recurrent_dropout_rate", self.rnn.recurrent_dropout_rate)):
            recipes.check_range(where, key, value, 0, 0.95)
        recipes.check_range(where, "model.sequence_length", self.model.sequence_length, 2, 100_000)
        check_sampling(self.sample.length, self.sample.temperature, self.sample.top_k, self.sample.top_p,
                       where=f"{where}: sample.")
        recipes.check_range(where, "training.epochs", self.training.epochs, 1)
        recipes.check_range(where, "training.batch_size", self.training.batch_size, 1)
        recipes.check_range(where, "training.learning_rate", self.training.learning_rate, 1e-8, 10)


def check_sampling(length: int, temperature: float, top_k: int, top_p: float, where: str = "") -> None:
    """Raise `UserError` for sampling settings out of range; `where` prefixes the setting's name."""
    if not 0 <= length <= MAX_SAMPLE_LENGTH:
        raise UserError(f"{where}length = {length} must be between 0 and {MAX_SAMPLE_LENGTH} characters")
    if not (temperature > 0 and math.isfinite(temperature)):
        raise UserError(f"{where}temperature = {temperature} must be > 0 (try 0.5 to 1.2; lower is more "
                        "conservative)")
    if top_k < 0:
        raise UserError(f"{where}top_k = {top_k} must be >= 0 (0 = no top-k filter)")
    if not 0 < top_p <= 1:
        raise UserError(f"{where}top_p = {top_p} must be in (0, 1] (1 = no nucleus filter)")


def build_model(recipe: GenerateRecipe, vocab_size: int) -> RecurrentLanguageModel:
    """The language model: ids [batch, time] int32 -> next-character logits [batch, time, vocab] float32."""
    rnn = recipe.rnn
    return RecurrentLanguageModel(vocab_size, recipe.embedding.dim, rnn.cell, rnn.units, rnn.num_layers,
                                  dropout_rate=rnn.dropout_rate, embedding_dropout_rate=recipe.embedding.dropout_rate,
                                  recurrent_dropout_rate=rnn.recurrent_dropout_rate,
                                  stateful_batch_size=recipe.training.batch_size if recipe.model.stateful else 0,
                                  name="language_model")


def encode_text(tokenizer: tokenizers.Tokenizer, text: str) -> np.ndarray:
    """Token ids of a whole text as one int32 array [tokens] (tokenized in pieces; characters do not
    depend on their neighbours, so the pieces join exactly)."""
    pieces = [text[start:start + _ENCODE_PIECE] for start in range(0, len(text), _ENCODE_PIECE)]
    if not pieces:
        return np.zeros((0,), np.int32)
    return tokenizer.tokenize(tf.constant(pieces)).flat_values.numpy().astype(np.int32)


def _empty_prompt(tokenizer: tokenizers.Tokenizer) -> str:
    """What an empty prompt is read as: a line break if the text has them (a fresh line), otherwise its most
    common character."""
    vocabulary = tokenizer.id_to_token(range(tokenizer.vocab_size))
    if "\n" in vocabulary:
        return "\n"
    return vocabulary[len(tokenizers.RESERVED_TOKENS)] if tokenizer.vocab_size > len(tokenizers.RESERVED_TOKENS) \
        else " "


class GeneratePipeline(base.Pipeline):
    """Character-level text generation: `pipeline("ROMEO:") -> {"prompt", "text", "seed", ...}`."""

    task = "generate"
    recipe_cls = GenerateRecipe
    demo_inputs = ("",)

    def __init__(self, recipe: GenerateRecipe, model: RecurrentLanguageModel, tokenizer: tokenizers.Tokenizer,
                 bundle_path: pathlib.Path | None = None):
        super().__init__(recipe, bundle_path)
        self.model = model
        self.tokenizer = tokenizer
        self.serving = export.TextGeneratorServing(tokenizer, model, _empty_prompt(tokenizer), MAX_PROMPT_LENGTH,
                                                   MAX_SAMPLE_LENGTH)
        self._score_chunk = None

    # ------------------------------------------------------------------ training

    @classmethod
    def train(cls, recipe: GenerateRecipe, run_dir: str | pathlib.Path) -> GeneratePipeline:
        """Read the text, fit (or reuse) the character vocabulary, train on windows, score the validation
        part, write the bundle.

        Returns:
            The trained pipeline; `pipeline.bundle_path` is `run_dir/bundle`.
        """
        run_dir = cls.start_run(recipe, run_dir)
        training.set_seed(recipe.seed)  # first: it would invalidate tokenizers created before it
        corpus = text_corpus.read_corpus(recipe.data)
        log.info("data: %s; %d training and %d validation characters", corpus.origin, len(corpus.train),
                 len(corpus.validation))
        tokenizer = base.fitted_tokenizer(recipe.tokenizer, [corpus.train], run_dir / "tokenizer")
        log.info("vocabulary: %d characters (reserved ids included)", tokenizer.vocab_size)
        window, batch_size = recipe.model.sequence_length, recipe.training.batch_size
        train_ids = encode_text(tokenizer, corpus.train)
        validation_ids = encode_text(tokenizer, corpus.validation)
        needed = (window * batch_size if recipe.model.stateful else window) + 1
        if len(train_ids) < needed:
            raise UserError(f"the training text has {len(train_ids)} characters, fewer than "
                            f"{'one batch of streams' if recipe.model.stateful else 'one window'} needs "
                            f"({needed}); use more text, shorter windows (model.sequence_length) or, when "
                            "stateful, a smaller training.batch_size")
        config = recipe.training
        validation = None
        if len(validation_ids) >= window + 1:
            validation = batching.language_model_windows(validation_ids, window, batch_size, shuffle=False,
                                                         seed=recipe.seed)
        elif config.monitor.startswith("val_"):
            log.warning("the validation text is shorter than one window (%d characters): monitoring the "
                        "training loss instead", len(validation_ids))
            config = dataclasses.replace(config, monitor=config.monitor.removeprefix("val_"))
        if recipe.model.stateful:
            train_batches = batching.contiguous_streams(train_ids, window, batch_size)
            steps, callbacks = int(train_batches.cardinality()), [ResetStatesEachEpoch()]
        else:
            train_batches = batching.language_model_windows(train_ids, window, batch_size, shuffle=True,
                                                            seed=recipe.seed)
            steps, callbacks = -(-((len(train_ids) - 1) // window) // batch_size), []
        result = training.train(
            lambda: build_model(recipe, tokenizer.vocab_size),
            train_batches,
            validation,
            config,
            run_dir,
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
            seed=None,
            steps_per_epoch=steps,
            callbacks=callbacks,
        )
        pipeline = cls(recipe, result.model, tokenizer)
        report = pipeline.score(validation_ids) if len(validation_ids) >= 2 else {}
        if report:
            log.info("validation: %.4f nats/char, %.4f bits/char, perplexity %.2f over %d characters",
                     report["nats_per_char"], report["bits_per_char"], report["perplexity"], report["characters"])
        summary = {"validation": report, "training": training.summary(
            result, train_characters=len(train_ids), validation_characters=len(validation_ids),
            train_chars_per_second=round(_chars_per_second(result, len(train_ids)), 1))}
        artifacts = training.history_artifacts(result, run_dir)
        sample = pipeline.predict([recipe.sample.prompt], seed=recipe.seed)[0]
        artifacts["sample.txt"] = lambda path: path.write_text(sample["text"], encoding="utf-8")
        pipeline.bundle_path = bundles.save(
            run_dir / bundles.BUNDLE_DIR, task=cls.task, model=result.model, tokenizers_by_name={"text": tokenizer},
            recipe=recipe, metrics=summary, artifacts=artifacts)
        return pipeline

    @classmethod
    def from_bundle(cls, path: str | pathlib.Path) -> GeneratePipeline:
        loaded = bundles.load(path, cls.task)
        return cls(cls.recipe_from_bundle(loaded), loaded.model, loaded.tokenizers["text"], loaded.path)

    # ------------------------------------------------------------------ use

    def predict(self, inputs: list[str], length: int | None = None, temperature: float | None = None,
                top_k: int | None = None, top_p: float | None = None, seed: int | None = None,
                num_samples: int = 1, **options) -> list[dict[str, Any]]:
        """Sample continuations of prompts (settings default to the recipe's `sample` section).

        Args:
            inputs: prompt strings ("" starts a fresh line); characters never seen in training are read
                as unknown.
            length: characters to generate per sample.
            temperature, top_k, top_p: sampling settings (see `SamplingConfig`).
            seed: the same seed, prompts and settings give the same text; None draws one (reported).
            num_samples: samples per prompt.

        Returns:
            One {"prompt", "text" (prompt + continuation), "generated", "sample", "seed"} dict per
            prompt and sample, prompts in order.
        """
        settings = self.recipe.sample
        length = settings.length if length is None else length
        temperature = settings.temperature if temperature is None else temperature
        top_k = settings.top_k if top_k is None else top_k
        top_p = settings.top_p if top_p is None else top_p
        check_sampling(length, temperature, top_k, top_p)
        if num_samples < 1:
            raise UserError(f"num_samples = {num_samples} must be >= 1")
        for index, prompt in enumerate(inputs):
            if not isinstance(prompt, str):
                raise UserError(f"prompt {index} is a {type(prompt).__name__}, expected a string")
        self._warn_unknown_characters(inputs)
        seed = secrets.randbelow(2**31) if seed is None else int(seed)
        requests = [(prompt, sample) for prompt in inputs for sample in range(num_samples)]
        results = []
        for start in range(0, len(requests), MAX_BATCH):
            chunk = requests[start:start + MAX_BATCH]
            # Each chunk gets its own seed (derived from the given one), so long runs stay reproducible.
            out = self.serving.generate_batch(
                tf.constant([prompt for prompt, _ in chunk], tf.string), tf.constant(length, tf.int32),
                tf.constant(temperature, tf.float32), tf.constant(top_k, tf.int32), tf.constant(top_p, tf.float32),
                tf.constant(seed + start, tf.int64))
            for (prompt, sample), generated in zip(chunk, out["generated"].numpy()):
                generated = generated.decode("utf-8")
                results.append({"prompt": prompt, "text": prompt + generated, "generated": generated,
                                "sample": sample + 1, "seed": seed})
        return results

    def _warn_unknown_characters(self, prompts: list[str]) -> None:
        known = set(self.tokenizer.id_to_token(range(self.tokenizer.vocab_size)))
        unknown = sorted({char for prompt in prompts for char in prompt} - known)
        if unknown:
            log.warning("the prompt has characters never seen in training (%s); they are read as unknown",
                        "".join(unknown[:20]))

    def score(self, ids: np.ndarray) -> dict[str, Any]:
        """Nats and bits per character of a token stream, with the state carried through the whole text.

        The text is cut into `_STREAMS` contiguous streams read side by side in chunks of
        model.sequence_length, each chunk starting from the state the previous one left, so every
        character is predicted from all the text before it in its stream (as when sampling).

        Args:
            ids: int array [tokens].

        Returns:
            {"nats_per_char", "bits_per_char", "perplexity", "characters"}.
        """
        ids = np.asarray(ids, dtype=np.int32)
        predicted = len(ids) - 1
        if predicted < 1:
            raise UserError("the text to score has fewer than 2 characters")
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
        scores = metrics.language_model_scores(total, streams * per_stream)
        return {"nats_per_char": scores["nats_per_token"], "bits_per_char": scores["bits_per_token"],
                "perplexity": scores["perplexity"], "characters": scores["tokens"]}

    def _chunk_nats(self, inputs, targets, states):
        logits, new_states = self.model.run(inputs, self.model.unflatten_states(states), training=False)
        nats = keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)
        return tf.reduce_sum(nats), self.model.flatten_states(new_states)

    def evaluate(self, source: str | None = None, **options) -> dict[str, Any]:
        """Nats/bits per character and perplexity on held-out text.

        Args:
            source: a text file or folder to score whole; None = the validation part (the last
                data.validation_fraction) of the recipe's own text.

        The report is stored in the bundle's metrics.json: under "validation" for the recipe's own
        text, under "data:SOURCE" for other text.

        Returns:
            {"nats_per_char", "bits_per_char", "perplexity", "characters"}.
        """
        if source:
            config = dataclasses.replace(self.recipe.data, source=source, validation_fraction=0.0)
            text = text_corpus.read_corpus(config).train
        else:
            text = text_corpus.read_corpus(self.recipe.data).validation
        report = self.score(encode_text(self.tokenizer, text))
        self.store_evaluation(report, source, split="validation")
        return report

    def summary(self) -> str:
        report = self.metrics.get("validation", {})
        lines = [self.format_report(report)] if report else []
        sample_path = self.bundle_path / "sample.txt" if self.bundle_path else None
        if sample_path is not None and sample_path.is_file():
            lines += ["sample:", sample_path.read_text(encoding="utf-8")[:400]]
        return "\n".join(lines) or f"vocabulary: {self.tokenizer.vocab_size} characters"

    def format_report(self, report: dict[str, Any]) -> str:
        return (f"validation: {report['nats_per_char']:.4f} nats/char   {report['bits_per_char']:.4f} bits/char   "
                f"perplexity {report['perplexity']:.2f}   ({report['characters']} characters)")

    def format_prediction(self, result: dict[str, Any]) -> str:
        return f"----- sample {result['sample']} (seed {result['seed']})\n{result['text']}"

    def serving_usage(self, path: pathlib.Path) -> str:
        return (f"use: tf.saved_model.load('{path}').signatures['serving_default'](prompt=tf.constant(['ROMEO:']), "
                "length=tf.constant(200), temperature=tf.constant(0.8), seed=tf.constant(1, tf.int64))"
                " -> generated, text; 'generate_filtered' adds top_k and top_p")

    def export(self, path: str | pathlib.Path) -> pathlib.Path:
        """SavedModel with signatures `serving_default(prompt, length, temperature, seed)` and
        `generate_filtered(prompt, length, temperature, top_k, top_p, seed)` -> generated, text."""
        return export.save(self.serving, path, {"serving_default": self.serving.generate,
                                                "generate_filtered": self.serving.generate_filtered})


def _chars_per_second(result: training.TrainingResult, train_characters: int) -> float:
    """Training throughput over the epochs run (validation passes included)."""
    return train_characters * result.epochs_completed / result.train_seconds if result.train_seconds else 0.0
