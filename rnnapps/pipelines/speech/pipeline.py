"""Speech recognition: audio -> text with log-mel features, an optional convolutional front-end, a recurrent
stack and CTC; decoded greedily or by beam search; scored with CER and WER (jiwer)."""

from __future__ import annotations

import base64
import dataclasses
import logging
import pathlib
import time
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnnapps import losses, metrics, serving_examples
from rnnapps.datasets import audio
from rnnapps.decoding import ctc_fusion
from rnnapps.errors import UserError
from rnnapps.pipelines import base, search
from rnnapps.pipelines.speech import data, demo_data, fusion, preprocess, serving, streaming, text
from rnnapps.pipelines.speech import model as models
from rnnapps.pipelines.speech import recipe as recipes

log = logging.getLogger(__name__)

DEMO_INPUTS = 4  # recordings that the input "demo:phones" stands for
TRANSCRIPTS_FILE = "transcripts.txt"  # a run's text for a fused language model (`data.language_model_text`)


@dataclasses.dataclass(frozen=True)
class Recording:
    """One input to transcribe: its name, mono float32 samples [samples] at the model's rate, and the transcript
    when it is known (demo inputs)."""

    name: str
    samples: np.ndarray
    said: str = ""


class SpeechPipeline(search.SearchDecodingPipeline):
    """Speech recognition: `pipeline("hello.wav") -> {"audio": "hello.wav", "text": "hello", "score", "seconds"}`."""

    task = "speech"
    examples_name = "recordings"
    recipe_cls = recipes.SpeechRecipe
    preprocessor_cls = preprocess.SpeechPreprocessor
    demo_inputs = (recipes.DEMO_SOURCE,)
    input_types = (str, pathlib.Path, bytes, np.ndarray)
    predict_batch_size = 16

    def make_serving(self) -> serving.SpeechRecognizerServing:
        return serving.SpeechRecognizerServing(self.preprocessor, self.model, self.recipe.decoding.beam_size)

    # ------------------------------------------------------------------ training hooks

    @classmethod
    def read_data(cls, recipe: recipes.SpeechRecipe) -> data.SpeechSplits:
        splits = data.read_splits(recipe)
        rate = recipe.features.sample_rate
        log.info("recordings: %s", ", ".join(f"{name} {len(part)} ({part.total_seconds(rate) / 60:.1f} min)"
                                               for name, part in (("train", splits.train), ("validation",
                                                                  splits.validation), ("test", splits.test))))
        return splits

    @classmethod
    def plan_training(cls, recipe: recipes.SpeechRecipe, preprocessor: preprocess.SpeechPreprocessor,
                      splits: data.SpeechSplits, run_dir: pathlib.Path) -> base.TrainingPlan:
        """Length-bucketed batches of log-mel frames (augmented for training) and their transcripts; CTC loss."""
        train = preprocessor.batches(splits.train, recipe.training, shuffle=True, seed=recipe.seed, augment=True)
        validation = (preprocessor.batches(splits.validation, recipe.training, shuffle=False, seed=recipe.seed)
                      if len(splits.validation) else None)
        rate = recipe.features.sample_rate
        lines = data.language_model_text(recipe, splits)
        (run_dir / TRANSCRIPTS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
        log.info("%d transcripts in %s: a character language model trained on them (rnnapps generate train "
                 "--set data.source=...) can be fused into decoding (--lm)", len(lines), run_dir / TRANSCRIPTS_FILE)
        return base.TrainingPlan(
            build_model=lambda: models.build_model(recipe, preprocessor.classes), train_data=train,
            validation_data=validation, examples_per_epoch=len(splits.train), loss=losses.ctc,
            summary={"train_recordings": len(splits.train), "validation_recordings": len(splits.validation),
                     "train_minutes": round(splits.train.total_seconds(rate) / 60, 2)})

    def serving_examples(self, splits: data.SpeechSplits) -> dict[str, Any]:
        """Three short held-out recordings as WAV files, for the try-it page."""
        part = serving_examples.held_out(splits, self.held_out_split)
        order = sorted(range(len(part)), key=lambda index: len(part.audio[index]))[:3]
        wavs = [audio.encode_wav(part.audio[index], self.preprocessor.sample_rate) for index in order]
        return {"inputs": {"audio": [{"b64": base64.b64encode(wav).decode("ascii")} for wav in wavs]},
                "said": [part.texts[index] for index in order]} if wavs else {}

    # ------------------------------------------------------------------ use

    def predict(self, inputs, stream: bool = False, chunk_seconds: float = 0.5, rate: int | None = None,
                **options) -> list[Any]:
        """Transcribe recordings (`Pipeline.predict`), or with `stream` each input as a stream: fed chunk by
        chunk (`chunk_seconds`), the text written to a terminal's standard error as it is heard; "-" is raw
        16-bit little-endian mono PCM on standard input at `rate` (default: the model's rate)."""
        if not stream:
            return super().predict(inputs, **options)
        if options.get("beam_size") not in (None, 1) or str(options.get("language_model")).lower() != "none":
            raise UserError("--stream decodes greedily; leave out --beam and --lm")
        if self.recipe.decoding.language_model:
            log.info("--stream decodes greedily, without the recipe's language model")
        transcriber = streaming.StreamingTranscriber(self.preprocessor, self.model, self.recipe)
        step = max(int(chunk_seconds * self.preprocessor.sample_rate), 1)
        results = []
        rate_of_model = self.preprocessor.sample_rate
        for item in inputs:
            if isinstance(item, str) and item == "-":
                results.append(self._stream_result("stdin", streaming.stream(
                    transcriber, self._stdin_chunks(step, rate), rate_of_model)))
                continue
            for recording in self.prediction_items([item]):  # a file is read whole, then fed in chunks
                chunks = (recording.samples[start:start + step] for start in range(0, len(recording.samples), step))
                results.append(self._stream_result(recording.name, streaming.stream(transcriber, chunks,
                                                                                    rate_of_model)))
        return results

    def _stdin_chunks(self, step: int, rate: int | None):
        import sys

        model_rate = self.preprocessor.sample_rate
        if rate not in (None, model_rate):
            raise UserError(f"--rate {rate}: this model streams at {model_rate} Hz; resample the input first, e.g. "
                            f"'ffmpeg -i IN -ac 1 -ar {model_rate} -f s16le -'")
        leftover = b""
        while chunk := sys.stdin.buffer.read(2 * step):
            chunk, leftover = leftover + chunk, b""
            if len(chunk) % 2:
                chunk, leftover = chunk[:-1], chunk[-1:]
            yield np.frombuffer(chunk, "<i2").astype(np.float32) / 32768.0

    @staticmethod
    def _stream_result(name: str, events) -> dict[str, Any]:
        import sys

        live = sys.stderr.isatty()
        for kind, value in events:
            if kind == "text" and live:
                sys.stderr.write(value)
                sys.stderr.flush()
            elif kind == "report":
                if live:
                    sys.stderr.write("\n")
                return {"audio": name, "text": value.text, "seconds": round(value.seconds, 3),
                        "chunks": value.chunks, "latency_ms": round(value.latency_ms, 2),
                        "compute_per_audio_second": round(value.compute_per_audio_second, 4)}
        raise AssertionError("a stream ends with its report")

    def prediction_items(self, inputs: list[Any], **options) -> list[Recording]:
        """Every recording to transcribe, at the model's rate: audio files (any format libsndfile reads), folders
        of them (sorted), audio bytes, float arrays already at the model's rate, or "demo:phones".

        Raises:
            UserError: a missing, empty, unreadable or too long input (names it).
        """
        items: list[Recording] = []
        for index, item in enumerate(inputs):
            if isinstance(item, np.ndarray):
                items.append(Recording(f"audio {index + 1}", np.asarray(item, np.float32).reshape(-1)))
            elif isinstance(item, bytes):
                items.append(self._read(item, f"audio {index + 1}"))
            elif isinstance(item, str) and item == recipes.DEMO_SOURCE:
                items += self._demo_recordings()
            elif isinstance(item, (str, pathlib.Path)):
                path = pathlib.Path(item)
                found = audio.audio_files(path) if path.is_dir() else [path]
                if not found:
                    raise UserError(f"{path}: no audio files ({', '.join(audio.AUDIO_SUFFIXES)}) in this folder")
                items += [self._read(str(p), str(p)) for p in found]
            else:
                raise UserError(f"input {index} is a {type(item).__name__}; give an audio file, a folder or bytes")
        return items

    def _read(self, source: str | bytes, name: str) -> Recording:
        return Recording(name, audio.read_at_rate(source, self.preprocessor.sample_rate, name))

    def _demo_recordings(self) -> list[Recording]:
        generated = demo_data.generate(DEMO_INPUTS, self.recipe.data.demo_seed + 999)
        return [Recording(f"demo {number + 1}", np.asarray(audio.resample(
            utterance.samples, demo_data.RATE, self.preprocessor.sample_rate)), utterance.text)
            for number, utterance in enumerate(generated)]

    def prediction_function(self, beam_size: int | None = None, language_model: str | None = None,
                            lm_weight: float | None = None, length_bonus: float | None = None, **options):
        """Transcripts of a batch of recordings with CTC beam width `beam_size` (default: the recipe's
        decoding.beam_size; 1 = greedy), and the character language model `language_model` fused in (a generate
        bundle; default: the recipe's decoding.language_model; "none" = without) with its `lm_weight` and
        `length_bonus` (defaults: the recipe's)."""
        settings = self.decoding_settings(beam_size, language_model, lm_weight, length_bonus)
        if settings.language_model:
            transcribe = fusion.FusedTranscriber(self.serving, self._language_model(settings.language_model),
                                                 settings.beam_size, ctc_fusion.Fusion(settings.lm_weight,
                                                                                       settings.length_bonus))
        else:
            transcribe = self.serving.samples_function(settings.beam_size)

        def run(batch: list[Recording]):
            lengths = np.array([len(item.samples) for item in batch], np.int32)
            samples = keras.utils.pad_sequences([item.samples for item in batch], maxlen=max(int(lengths.max()), 1),
                                                dtype="float32", padding="post")
            return transcribe(tf.constant(samples), tf.constant(lengths))

        return run

    def decoding_settings(self, beam_size: int | None = None, language_model: str | None = None,
                          lm_weight: float | None = None, length_bonus: float | None = None
                          ) -> recipes.CtcDecodingConfig:
        """The recipe's `[decoding]` with the given options in place of its values (None: the recipe's;
        language_model "none": without one).

        Raises:
            UserError: a value out of range, or a language model without a beam.
        """
        # self.beam_size checks the width with a message that names --beam.
        given = {"beam_size": self.beam_size(beam_size), "language_model": language_model, "lm_weight": lm_weight,
                 "length_bonus": length_bonus}
        settings = dataclasses.replace(self.recipe.decoding, **{k: v for k, v in given.items() if v is not None})
        if settings.language_model.lower() == "none":
            settings = dataclasses.replace(settings, language_model="")
        settings.validate("decoding")
        return settings

    def _language_model(self, path: str) -> fusion.CharacterLanguageModel:
        # Loaded once per pipeline and path: `score` transcribes in many batches.
        cache = self.__dict__.setdefault("_language_models", {})
        if path not in cache:
            cache[path] = fusion.CharacterLanguageModel(path, self.tokenizer_classes())
        return cache[path]

    def tokenizer_classes(self) -> list[str]:
        """The recogniser's classes: one token per class id (reserved tokens first, then the alphabet)."""
        return self.preprocessor.tokenizer.tokens()

    def evaluation_variant(self, **options) -> str:
        settings = self.decoding_settings(**{key: options.get(key) for key in
                                             ("beam_size", "language_model", "lm_weight", "length_bonus")})
        if settings == self.recipe.decoding:
            return ""
        variant = f"beam{settings.beam_size}"
        if settings.language_model:
            name = pathlib.Path(settings.language_model).resolve()
            name = name.parent.name if name.name == "bundle" else name.name
            variant += f"-lm-{name}-{settings.lm_weight:g}-bonus{settings.length_bonus:g}"
        return variant

    def prediction_order(self, items: list[Recording]) -> list[int]:
        # Recordings of similar length share a batch, so each batch pads little.
        return sorted(range(len(items)), key=lambda index: len(items[index].samples))

    def prediction_result(self, item: Recording, outputs: dict[str, Any]) -> dict[str, Any]:
        """{"audio", "text", "score" (log probability), "seconds"} of one recording (and "said" for demo
        inputs)."""
        result = {"audio": item.name, "text": outputs["text"].decode("utf-8"), "score": float(outputs["score"]),
                  "seconds": round(float(outputs["seconds"]), 3)}
        return {**result, "said": item.said} if item.said else result

    def score(self, examples: data.Utterances, **decoding) -> dict[str, Any]:
        """CER, WER and exact transcripts of this model on recordings (separately for single and joined
        recordings when there are both), per-recording results, characters the alphabet lacks, and the real-time
        factor (seconds of transcription per second of audio). `decoding`: the options of `prediction_function`
        (beam_size, language_model, lm_weight, length_bonus)."""
        settings = self.decoding_settings(**decoding)
        started = time.perf_counter()
        hypotheses = [result["text"] for result in self.predict(list(examples.audio), **decoding)]
        seconds = time.perf_counter() - started
        audio_seconds = examples.total_seconds(self.preprocessor.sample_rate)
        fused = {"language_model": settings.language_model, "lm_weight": settings.lm_weight,
                 "length_bonus": settings.length_bonus} if settings.language_model else {}
        report = {**metrics.speech_scores(examples.texts, hypotheses),
                  "beam_size": settings.beam_size, **fused, "minutes": round(audio_seconds / 60, 2),
                  "real_time_factor": round(seconds / max(audio_seconds, 1e-9), 4),
                  "outside_alphabet": text.outside_alphabet(examples.texts, self.preprocessor.alphabet)}
        kinds = {"single": [i for i, joined in enumerate(examples.joined) if not joined],
                 "joined": [i for i, joined in enumerate(examples.joined) if joined]}
        if all(kinds.values()):
            for kind, indices in kinds.items():
                report[kind] = metrics.speech_scores([examples.texts[i] for i in indices],
                                                     [hypotheses[i] for i in indices])
        report["per_recording"] = [{"audio": name, "reference": reference, "text": hypothesis}
                                   for name, reference, hypothesis in zip(examples.names, examples.texts, hypotheses)]
        return report

    def read_evaluation_data(self, source: str | None) -> data.Utterances:
        """The recipe's test split (exactly as at training time), or every recording of `source`."""
        if source:
            return data.read_utterances(self.recipe, source)
        return data.read_splits(self.recipe).test

    # ------------------------------------------------------------------ presentation

    def summary(self) -> str:
        report = self.metrics.get("test", {})
        return self.format_report(report) if report else f"alphabet: {''.join(self.preprocessor.alphabet)!r}"

    def format_report(self, report: dict[str, Any]) -> str:
        lines = [f"CER {report['cer']:.2%}  WER {report['wer']:.2%}  exact {report['exact']:.1%}  "
                 f"({report['recordings']} recordings, {report['minutes']:g} min, beam {report['beam_size']}"
                 + (f", language model {report['language_model']} weight {report['lm_weight']:g} bonus "
                    f"{report['length_bonus']:g}" if report.get("language_model") else "") + ", "
                 f"real-time factor {report['real_time_factor']:g})"]
        for kind in ("single", "joined"):
            if kind in report:
                part = report[kind]
                lines.append(f"  {kind:>6}: CER {part['cer']:.2%}  WER {part['wer']:.2%}  exact {part['exact']:.1%}  "
                             f"({part['recordings']} recordings)")
        if report.get("outside_alphabet"):
            shown = ", ".join(f"{char!r} x{count}" for char, count in list(report["outside_alphabet"].items())[:8])
            lines.append(f"  characters the model cannot write (counted as errors): {shown}")
        return "\n".join(lines)

    def format_prediction(self, result: dict[str, Any]) -> str:
        if "latency_ms" in result:  # a stream
            return (f"{result['audio']}\t{result['text']}\t({result['seconds']:g} s of audio in {result['chunks']} "
                    f"chunks; {result['latency_ms']:.1f} ms per chunk, {result['compute_per_audio_second']:.3f} s of "
                    "computing per second of audio)")
        return f"{result['audio']}\t{result['text']}"

    def format_demo(self, result: dict[str, Any]) -> str:
        said = f"   (said: {result['said']!r})" if result.get("said") else ""
        return f"{result['audio']}: heard {result['text']!r}{said}"

    def serving_usage(self, path: pathlib.Path) -> str:
        return (f"use: tf.saved_model.load('{path}').signatures['serving_default']"
                "(audio=tf.constant([open('speech.wav', 'rb').read()])) -> text, score, seconds")
