"""Translation (many-to-many): an encoder-decoder with attention, trained with teacher forcing, decoded
greedily or with beam search by the shared `rnnapps.decoding` loop. The hooks of `base.Pipeline`; training
and evaluation themselves are written once, in base."""

from __future__ import annotations

import dataclasses
import logging
import pathlib
from typing import Any

import tensorflow as tf

from rnnapps import losses, metrics, plots, serving_examples
from rnnapps.datasets import batching
from rnnapps.errors import UserError
from rnnapps.pipelines import base, search
from rnnapps.pipelines.translate import data, preprocess, serving
from rnnapps.pipelines.translate import model as models
from rnnapps.pipelines.translate import recipe as recipes

log = logging.getLogger(__name__)


class TranslatePipeline(search.SearchDecodingPipeline):
    """`pipeline("¿Dónde está la estación?") -> {"translation": "where is the station ?", "score": ...}`."""

    task = "translate"
    examples_name = "pairs"
    recipe_cls = recipes.TranslateRecipe
    preprocessor_cls = preprocess.TranslatePreprocessor
    evaluation_data_options = ("target_data",)
    # Sentences of the toy grammar that the demo corpus does not contain.
    demo_inputs = ("the girl will carry a white cup .", "i will eat my small green bird .",
                   "a white girl will want the friend .")

    def make_serving(self) -> serving.TranslatorServing:
        decoding = self.recipe.decoding
        return serving.TranslatorServing(self.preprocessor, self.model, self.recipe.max_output_length,
                                         decoding.beam_size, decoding.alpha)

    @property
    def source_tokenizer(self):
        """The source side's tokenizer."""
        return self.preprocessor.source_tokenizer

    @property
    def target_tokenizer(self):
        """The target side's tokenizer (the source's own with shared_tokenizer)."""
        return self.preprocessor.target_tokenizer

    # ------------------------------------------------------------------ training hooks

    @classmethod
    def read_data(cls, recipe: recipes.TranslateRecipe) -> data.TranslationSplits:
        return data.read_splits(recipe.data, recipe.seed)

    @classmethod
    def plan_training(cls, recipe: recipes.TranslateRecipe, preprocessor: preprocess.TranslatePreprocessor,
                      splits: data.TranslationSplits, run_dir: pathlib.Path) -> base.TrainingPlan:
        """Teacher-forcing batches of the training and validation pairs kept by data.max_pair_length."""
        field, longest = recipe.pair_length_field  # messages name the field in force, for the user to raise

        def batches(pairs: data.SentencePairs, shuffle: bool, split: str):
            source, target_in, target_out, dropped = preprocessor.training_examples(pairs)
            if dropped:
                log.info("%s: dropped %d of %d pairs longer than %s = %d tokens (or empty)", split, dropped,
                         len(pairs), field, longest)
            if int(source.nrows()) == 0:
                raise UserError(f"no {split} pairs are left after tokenizing; raise {field} (now {longest}) "
                                "or check the data")
            dataset = batching.recipe_batches((source, target_in), target_out, recipe.training, shuffle=shuffle,
                                              seed=recipe.seed)
            return dataset, int(source.nrows())

        train_data, train_count = batches(splits.train, True, "train")
        validation_data, _ = batches(splits.validation, False, "validation")
        source_vocab, target_vocab = preprocessor.source_tokenizer.vocab_size, preprocessor.target_tokenizer.vocab_size
        return base.TrainingPlan(
            build_model=lambda: models.build_model(recipe, source_vocab_size=source_vocab,
                                                   target_vocab_size=target_vocab),
            train_data=train_data, validation_data=validation_data, examples_per_epoch=train_count,
            loss=losses.sequence_loss(recipe.model.label_smoothing), metrics=[losses.TokenAccuracy()],
            summary={"train_examples": train_count})

    # ------------------------------------------------------------------ use

    def prediction_function(self, beam_size: int | None = None, **options):
        """Translation of a batch of source sentences (raw strings; long ones are truncated to data.max_length
        tokens) with beam width `beam_size` (default: the recipe's decoding.beam_size; 1 = greedy)."""
        translate = self.serving.translate_function(self.beam_size(beam_size))
        return lambda batch: translate(tf.constant(batch, tf.string))

    def prediction_order(self, items: list[str]) -> list[int]:
        # Sentences of similar length share a batch, so little padding is decoded.
        return sorted(range(len(items)), key=lambda index: len(items[index]))

    def prediction_result(self, text: str, outputs: dict[str, Any]) -> dict[str, Any]:
        """{"source", "translation", "score"} of one sentence."""
        return {"source": text, "translation": outputs["translation"].decode("utf-8"), "score": float(outputs["score"])}

    def after_prediction(self, items: list[str], results: list[Any], beam_size: int | None = None,
                         plot_attention: str | None = None, **options) -> None:
        """`plot_attention`: write the attention heatmap of the first sentence to this PNG path."""
        if plot_attention and items:
            self.plot_attention(items[0], plot_attention, beam_size)

    def plot_attention(self, text: str, path: str | pathlib.Path, beam_size: int | None = None) -> pathlib.Path:
        """Draw the attention heatmap (source tokens x output tokens) of one translation, decoded like
        `predict` does (default beam: the recipe's decoding.beam_size)."""
        beam_size = self.beam_size(beam_size)
        out = self.serving.translate_function(beam_size, with_attention=True)(tf.constant([text]))
        return plots.plot_attention(out["attention"].numpy()[0], self.preprocessor.source_tokens(text),
                                    self.preprocessor.target_tokens(out["ids"].numpy()[0].tolist()), path,
                                    title=out["translation"].numpy()[0].decode("utf-8"))

    def score(self, pairs: data.SentencePairs, beam_size: int | None = None) -> dict[str, Any]:
        """Cased sacreBLEU and chrF (and lowercased BLEU) of this model's translations against every reference
        of each source; `target_lowercased` says whether the model can write capitals at all."""
        sources, references = pairs.grouped()
        hypotheses = [r["translation"] for r in self.predict(sources, beam_size=beam_size)]
        return {**metrics.translation_scores(hypotheses, references),
                "beam_size": beam_size or self.recipe.decoding.beam_size,
                "target_lowercased": bool(getattr(self.target_tokenizer, "lowercase", False))}

    def read_evaluation_data(self, source: str | None, target_data: str | None = None) -> data.SentencePairs:
        """The recipe's test split, or every pair of `source`: a TSV of pairs in the recipe's columns, the
        source-language file of two parallel files whose target-language file is `target_data` (e.g. a
        corpus's official test files), or the test split of a TFDS source that has one."""
        config = self.recipe.data
        if target_data and not source:
            raise UserError("--target-data needs --data: the source-language file it translates line by line")
        if not source:
            return data.read_splits(config, self.recipe.seed).test
        config = dataclasses.replace(config, source=source, target_source=target_data or "", format="auto",
                                     validation_source="", validation_target_source="", test_source="",
                                     test_target_source="", validation_fraction=0.0, test_fraction=0.0,
                                     max_examples=0)
        found = data.read_splits(config, self.recipe.seed)
        return found.test if len(found.test) else found.train

    # ------------------------------------------------------------------ presentation

    def format_report(self, report: dict[str, Any]) -> str:
        lines = [f"BLEU {report['bleu']:.2f}   chrF {report['chrf']:.2f}   ({report['sentences']} sentences, "
                 f"beam {report['beam_size']})"]
        if "bleu_lowercase" in report:  # reports stored before it was computed lack it
            lines.append(f"lowercased BLEU {report['bleu_lowercase']:.2f}")
        if report.get("target_lowercased"):
            lines.append("note: this model's target tokenizer lowercases, so every translation is lowercase and "
                         "the cased BLEU and chrF above count each capital of the references as an error; "
                         "train with target_tokenizer.lowercase = false for cased output")
        lines += [f"  {report['bleu_signature']}", f"  {report['chrf_signature']}"]
        return "\n".join(lines)

    def format_prediction(self, result: dict[str, Any]) -> str:
        return result["translation"]

    def format_demo(self, result: dict[str, Any]) -> str:
        # The translation alone does not show what was translated.
        return f"{result['source']}  =>  {self.format_prediction(result)}"

    def serving_examples(self, splits: data.TranslationSplits) -> dict[str, Any]:
        """Three short held-out source sentences."""
        sources = serving_examples.held_out(splits, self.held_out_split).sources
        return {"inputs": {"text": serving_examples.shortest(
            [sources[index] for index in serving_examples.spread(len(sources), 2000)], 3)}}

    def serving_usage(self, path: pathlib.Path) -> str:
        return (f"use: tf.saved_model.load('{path}').signatures['serving_default'](text=tf.constant(['...']))"
                " -> translation, score   (also 'translate_greedy', and 'translate_attention' with the attention"
                " and tokens; needs `import tensorflow_text` for subword"
                " tokenizers)")
