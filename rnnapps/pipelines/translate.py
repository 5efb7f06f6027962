"""Translation (many-to-many): an encoder-decoder with attention, trained with teacher forcing, decoded
greedily or with beam search by the shared `rnnapps.decoding` loop."""

from __future__ import annotations

import dataclasses
import logging
import pathlib
from typing import Any, Literal

import tensorflow as tf

from rnnapps import bundle as bundles
from rnnapps import config as recipes
from rnnapps import export, losses, metrics, plots, tokenizers, training
from rnnapps.datasets import batching, parallel
from rnnapps.errors import UserError
from rnnapps.layers.seq2seq import Seq2Seq
from rnnapps.pipelines import base

log = logging.getLogger(__name__)

PREDICT_BATCH = 64


@dataclasses.dataclass(frozen=True)
class Seq2SeqConfig:
    """The encoder-decoder.

    Attributes:
        embedding_dim: source and target embedding width.
        encoder: the encoder's recurrent stack (bidirectional is usual).
        decoder_cell: "simple_rnn", "lstm" or "gru".
        decoder_units: decoder units (also the attention query width).
        decoder_layers: stacked decoder layers.
        attention: "bahdanau" (additive), "luong_dot" or "luong_general" (multiplicative).
        dropout_rate: dropout in encoder and decoder.
        tie_embeddings: share the target embedding with the output projection (embedding_dim must
            equal decoder_units).
        input_feeding: feed each step's attentional vector into the next step (Luong et al., 2015); the
            decoder then trains one step at a time, which is slower.
        label_smoothing: spread this much probability mass over the vocabulary in the loss.
    """

    embedding_dim: int = 128
    encoder: recipes.RecurrentConfig = dataclasses.field(
        default_factory=lambda: recipes.RecurrentConfig(units=128, bidirectional=True))
    decoder_cell: Literal["simple_rnn", "lstm", "gru"] = "gru"
    decoder_units: int = 256
    decoder_layers: int = 1
    attention: Literal["bahdanau", "luong_dot", "luong_general"] = "luong_general"
    dropout_rate: float = 0.1
    tie_embeddings: bool = False
    input_feeding: bool = False
    label_smoothing: float = 0.0


@dataclasses.dataclass(frozen=True)
class TranslateRecipe:
    """A translation recipe: data, one tokenizer per side (or one shared), model, decoding and training.

    Attributes:
        shared_tokenizer: fit ONE tokenizer, with the source_tokenizer settings, on the training text of
            both sides and use it for both (a joint SentencePiece vocabulary, useful for related languages
            that share words and names); target_tokenizer must then be left out or equal source_tokenizer.
    """

    task: str = "translate"
    seed: int = 42
    shared_tokenizer: bool = False
    data: parallel.ParallelDataConfig = dataclasses.field(
        default_factory=lambda: parallel.ParallelDataConfig(source="demo:translation", max_length=50))
    source_tokenizer: recipes.TokenizerConfig = dataclasses.field(
        default_factory=lambda: recipes.TokenizerConfig(kind="subword", vocab_size=4000))
    target_tokenizer: recipes.TokenizerConfig = dataclasses.field(
        default_factory=lambda: recipes.TokenizerConfig(kind="subword", vocab_size=4000))
    model: Seq2SeqConfig = dataclasses.field(default_factory=Seq2SeqConfig)
    decode: recipes.DecodeConfig = dataclasses.field(default_factory=recipes.DecodeConfig)
    training: recipes.TrainingConfig = dataclasses.field(default_factory=recipes.TrainingConfig)

    @property
    def max_output_length(self) -> int:
        """Most tokens a translation may have."""
        return self.decode.max_output_length or (self.data.max_length or 50) + 10

    def validate(self) -> None:
        """Raise `UserError` for values out of range."""
        where = "recipe"
        recipes.check_range(where, "data.max_length", self.data.max_length, 1)
        recipes.check_range(where, "decode.beam_size", self.decode.beam_size, 1, 64)
        recipes.check_range(where, "decode.alpha", self.decode.alpha, 0, 5)
        recipes.check_range(where, "model.label_smoothing", self.model.label_smoothing, 0, 0.5)
        recipes.check_range(where, "model.dropout_rate", self.model.dropout_rate, 0, 0.9)
        if self.shared_tokenizer and self.target_tokenizer not in (self.source_tokenizer,
                                                                   TranslateRecipe().target_tokenizer):
            raise UserError(f"{where}: shared_tokenizer = true uses the [source_tokenizer] settings for both "
                            "sides; remove [target_tokenizer] or make it equal")
        if self.model.tie_embeddings and self.model.embedding_dim != self.model.decoder_units:
            raise UserError(f"{where}: model.tie_embeddings needs model.embedding_dim "
                            f"({self.model.embedding_dim}) == model.decoder_units ({self.model.decoder_units})")


def build_model(recipe: TranslateRecipe, source_vocab_size: int, target_vocab_size: int) -> Seq2Seq:
    """The encoder-decoder for a recipe: (source ids, target input ids) -> logits [batch, time, vocab]."""
    config = recipe.model
    return Seq2Seq(source_vocab_size, target_vocab_size, config.embedding_dim, config.encoder.cell,
                   config.encoder.units, config.encoder.num_layers, config.encoder.bidirectional,
                   config.decoder_cell, config.decoder_units, config.decoder_layers, config.attention,
                   config.dropout_rate, config.tie_embeddings, config.input_feeding, name="translator")


def _encode_pairs(pairs: parallel.SentencePairs, source_tokenizer, target_tokenizer, max_length: int):
    """Token ids for training: (source, START + target, target + END), dropping pairs that are too long
    or empty. Returns the three ragged tensors and the number of pairs dropped."""
    source = source_tokenizer.tokenize(tf.constant(pairs.sources, tf.string))
    target = target_tokenizer.tokenize(tf.constant(pairs.targets, tf.string))
    source_lengths, target_lengths = source.row_lengths(), target.row_lengths()
    keep = (source_lengths > 0) & (source_lengths <= max_length) & (target_lengths > 0) & (target_lengths < max_length)
    source, target = tf.ragged.boolean_mask(source, keep), tf.ragged.boolean_mask(target, keep)
    rows = target.nrows()
    start = tf.RaggedTensor.from_tensor(tf.fill([rows, 1], tokenizers.START_ID))
    end = tf.RaggedTensor.from_tensor(tf.fill([rows, 1], tokenizers.END_ID))
    dropped = len(pairs) - int(tf.reduce_sum(tf.cast(keep, tf.int32)))
    return source, tf.concat([start, target], axis=1), tf.concat([target, end], axis=1), dropped


class TranslatePipeline(base.Pipeline):
    """`pipeline("¿Dónde está la estación?") -> {"translation": "where is the station ?", "score": ...}`."""

    task = "translate"
    recipe_cls = TranslateRecipe
    # Sentences of the toy grammar that the demo corpus does not contain.
    demo_inputs = ("the girl will carry a white cup .", "i will eat my small green bird .",
                   "a white girl will want the friend .")

    def __init__(self, recipe: TranslateRecipe, model: Seq2Seq, source_tokenizer: tokenizers.Tokenizer,
                 target_tokenizer: tokenizers.Tokenizer, bundle_path: pathlib.Path | None = None):
        super().__init__(recipe, bundle_path)
        self.model = model
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.serving = export.TranslatorServing(source_tokenizer, target_tokenizer, model, recipe.data.max_length,
                                                recipe.max_output_length, recipe.decode.beam_size,
                                                recipe.decode.alpha)

    # ------------------------------------------------------------------ training

    @classmethod
    def train(cls, recipe: TranslateRecipe, run_dir: str | pathlib.Path) -> TranslatePipeline:
        """Read pairs, fit (or reuse) both tokenizers, train, score BLEU/chrF on the test split, write the bundle."""
        run_dir = cls.start_run(recipe, run_dir)
        training.set_seed(recipe.seed)  # first: it would invalidate tokenizers created before it
        data = parallel.read_splits(recipe.data, recipe.seed)
        log.info("data: %d train, %d validation, %d test pairs", len(data.train), len(data.validation),
                 len(data.test))
        if recipe.shared_tokenizer:
            source_tokenizer = target_tokenizer = base.fitted_tokenizer(
                recipe.source_tokenizer, data.train.sources + data.train.targets, run_dir / "tokenizers" / "shared")
        else:
            source_tokenizer = base.fitted_tokenizer(recipe.source_tokenizer, data.train.sources,
                                                     run_dir / "tokenizers" / "source")
            target_tokenizer = base.fitted_tokenizer(recipe.target_tokenizer, data.train.targets,
                                                     run_dir / "tokenizers" / "target")
        max_length = recipe.data.max_length

        def batches(pairs: parallel.SentencePairs, shuffle: bool, split: str):
            source, target_in, target_out, dropped = _encode_pairs(pairs, source_tokenizer, target_tokenizer,
                                                                   max_length)
            if dropped:
                log.info("%s: dropped %d of %d pairs longer than data.max_length = %d tokens (or empty)", split,
                         dropped, len(pairs), max_length)
            if int(source.nrows()) == 0:
                raise UserError(f"no {split} pairs are left after tokenizing; raise data.max_length "
                                f"(now {max_length}) or check the data")
            dataset = batching.padded_batches(
                (source, target_in), target_out, recipe.training.batch_size, shuffle=shuffle, seed=recipe.seed,
                bucketing=recipe.training.bucketing, num_buckets=recipe.training.num_buckets,
                shuffle_buffer=recipe.training.shuffle_buffer)
            return dataset, int(source.nrows())

        train_data, train_count = batches(data.train, True, "train")
        validation_data, _ = batches(data.validation, False, "validation")
        result = training.train(
            lambda: build_model(recipe, source_tokenizer.vocab_size, target_tokenizer.vocab_size),
            train_data, validation_data, recipe.training, run_dir,
            loss=losses.sequence_loss(recipe.model.label_smoothing), metrics=[losses.TokenAccuracy()], seed=None,
            steps_per_epoch=-(-train_count // recipe.training.batch_size))
        pipeline = cls(recipe, result.model, source_tokenizer, target_tokenizer)
        scores = pipeline.score(data.test) if len(data.test) else {}
        if scores:
            log.info("test BLEU %.2f, chrF %.2f on %d sentences", scores["bleu"], scores["chrf"], scores["sentences"])
        summary = {"test": scores, "training": training.summary(result, train_examples=train_count)}
        pipeline.bundle_path = bundles.save(
            run_dir / bundles.BUNDLE_DIR, task=cls.task, model=result.model,
            tokenizers_by_name={"source": source_tokenizer, "target": target_tokenizer}, recipe=recipe,
            metrics=summary, artifacts=training.history_artifacts(result, run_dir))
        return pipeline

    @classmethod
    def from_bundle(cls, path: str | pathlib.Path) -> TranslatePipeline:
        loaded = bundles.load(path, cls.task)
        return cls(cls.recipe_from_bundle(loaded), loaded.model, loaded.tokenizers["source"],
                   loaded.tokenizers["target"], loaded.path)

    # ------------------------------------------------------------------ use

    def predict(self, inputs: list[str], beam_size: int | None = None, plot_attention: str | None = None,
                **options) -> list[dict[str, Any]]:
        """Translate sentences.

        Args:
            inputs: source sentences (raw strings; long ones are truncated to data.max_length tokens).
            beam_size: beam width (default: the recipe's decode.beam_size; 1 = greedy).
            plot_attention: write the attention heatmap of the first sentence to this PNG path.

        Returns:
            One {"source", "translation", "score"} dict per input.
        """
        for index, text in enumerate(inputs):
            if not isinstance(text, str):
                raise UserError(f"input {index} is a {type(text).__name__}, expected a string")
        beam_size = self.recipe.decode.beam_size if beam_size is None else beam_size
        if not 1 <= beam_size <= 64:
            raise UserError(f"the beam size (--beam) must be between 1 and 64, got {beam_size}")
        results: list[dict[str, Any]] = [{} for _ in inputs]
        translate = self.serving.translate_function(beam_size)
        # Sentences of similar length share a batch, so little padding is decoded; results go back in order.
        order = sorted(range(len(inputs)), key=lambda index: len(inputs[index]))
        for start in range(0, len(order), PREDICT_BATCH):
            chunk = order[start:start + PREDICT_BATCH]
            out = translate(tf.constant([inputs[index] for index in chunk], tf.string))
            for index, translation, score in zip(chunk, out["translation"].numpy(), out["score"].numpy()):
                results[index] = {"source": inputs[index], "translation": translation.decode("utf-8"),
                                  "score": float(score)}
        if plot_attention and inputs:
            self.plot_attention(inputs[0], plot_attention, beam_size)
        return results

    def plot_attention(self, text: str, path: str | pathlib.Path, beam_size: int | None = None) -> pathlib.Path:
        """Draw the attention heatmap (source tokens x output tokens) of one translation, decoded like
        `predict` does (default beam: the recipe's decode.beam_size)."""
        beam_size = self.recipe.decode.beam_size if beam_size is None else beam_size
        out = self.serving.translate_function(beam_size, with_attention=True)(tf.constant([text]))
        source_ids = self.source_tokenizer.tokenize_python(text)[0][: self.recipe.data.max_length]
        output_ids = [i for i in out["ids"].numpy()[0].tolist() if i != tokenizers.PAD_ID]
        return plots.plot_attention(out["attention"].numpy()[0], self.source_tokenizer.id_to_token(source_ids),
                                    self.target_tokenizer.id_to_token(output_ids), path,
                                    title=out["translation"].numpy()[0].decode("utf-8"))

    def score(self, pairs: parallel.SentencePairs, beam_size: int | None = None) -> dict[str, Any]:
        """sacreBLEU and chrF of this model's translations against every reference of each source."""
        sources, references = pairs.grouped()
        hypotheses = [r["translation"] for r in self.predict(sources, beam_size=beam_size)]
        return {**metrics.translation_scores(hypotheses, references),
                "beam_size": beam_size or self.recipe.decode.beam_size}

    def evaluate(self, source: str | None = None, beam_size: int | None = None, **options) -> dict[str, Any]:
        """BLEU/chrF on the recipe's test split (or on `source`, a parallel file in the recipe's format)."""
        config = self.recipe.data
        if source:
            config = dataclasses.replace(config, source=source, target_source="", validation_fraction=0.0,
                                         test_fraction=0.0)
            data = parallel.read_splits(config, self.recipe.seed)
            pairs = data.test if len(data.test) else data.train
        else:
            pairs = parallel.read_splits(config, self.recipe.seed).test
        if not len(pairs):
            raise UserError("there are no test pairs to evaluate on; pass --data FILE")
        report = self.score(pairs, beam_size)
        self.store_evaluation(report, source, variant=f"beam{beam_size}"
                              if beam_size not in (None, self.recipe.decode.beam_size) else "")
        return report

    def export(self, path: str | pathlib.Path) -> pathlib.Path:
        """SavedModel with `serving_default` (beam search) and `translate_greedy`: text [batch] -> translation."""
        return export.save(self.serving, path, {"serving_default": self.serving.translate,
                                                "translate_greedy": self.serving.translate_greedy})

    # ------------------------------------------------------------------ presentation

    def summary(self) -> str:
        report = self.metrics.get("test", {})
        return self.format_report(report) if report else "no test scores"

    def format_report(self, report: dict[str, Any]) -> str:
        return (f"BLEU {report['bleu']:.2f}   chrF {report['chrf']:.2f}   ({report['sentences']} sentences, "
                f"beam {report['beam_size']})\n  {report['bleu_signature']}\n  {report['chrf_signature']}")

    def format_prediction(self, result: dict[str, Any]) -> str:
        return result["translation"]

    def serving_usage(self, path: pathlib.Path) -> str:
        return (f"use: tf.saved_model.load('{path}').signatures['serving_default'](text=tf.constant(['...']))"
                " -> translation, score   (also 'translate_greedy'; needs `import tensorflow_text` for subword"
                " tokenizers)")
