"""The speech recipe: the recordings and transcripts (`[data]`), how transcripts are normalised (`[text]`), the
log-mel `[features]`, training-only `[augment]`, the convolutional `[frontend]`, the recurrent `[encoder]`, CTC
`[decoding]` and `[training]`. Pure Python: no TensorFlow.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from rnnapps import sections
from rnnapps.errors import UserError

DEMO_SOURCE = "demo:phones"
FORMATS = ("auto", "demo", "ljspeech", "librispeech", "csv", "tsv", "jsonl", "filenames", "tfds")
SUBSAMPLING = (1, 2, 4)


@dataclasses.dataclass(frozen=True)
class SpeechDataConfig:
    """Where recordings and their transcripts come from and how they are split (the `[data]` section).

    Attributes:
        source: "demo:phones" (generated toy speech, `rnnapps.pipelines.speech.demo_data`); LJ Speech's
            `metadata.csv` (or its folder); a LibriSpeech-style folder of `*.trans.txt` files; a CSV/TSV/JSONL
            table with an audio path and a transcript per row; a folder of audio files whose names hold the
            transcript (`filename_pattern`); or "tfds:NAME" (e.g. tfds:speech_commands, tfds:librispeech).
        format: "auto" (guessed from the source) or one of demo, ljspeech, librispeech, csv, tsv, jsonl,
            filenames, tfds.
        audio_dir: folder of the audio files a table names ("" = the table's folder; for LJ Speech its wavs/).
        audio_column: the table column (or JSONL key) of the audio path.
        text_column: the table column of the transcript (LJ Speech: "normalized" or "text").
        group_column: the table column of the speaker (or any grouping): one group is never in two splits
            ("" = none; the file name pattern's {speaker}, LibriSpeech's speaker folder and TFDS's "speaker_id"
            are used when present).
        filename_pattern: for a folder of audio files: the file name (without suffix) as fields in braces, with
            {text} the transcript and {speaker} the group, e.g. "{text}_{speaker}_{take}" (FSDD).
        test_groups: groups held out as the test split (e.g. ["theo"]); [] = carve test_fraction of the groups.
        validation_groups: likewise for validation.
        test_fraction: share of the groups (of the recordings, without groups) held out for test.
        validation_fraction: share held out for validation.
        carve_by: the splits not named by groups are carved by "group" (no speaker in two splits) or by
            "recording" (e.g. validation recordings of the training speakers, when there are few speakers).
        max_seconds: training and validation recordings longer than this are left out (and counted).
        max_utterances: read at most this many recordings (a seeded choice; 0 = all).
        tfds_data_dir: TFDS data directory ("" = TFDS's default).
        demo_utterances: recordings of the generated demo data.
        demo_seed: seed of the demo data.
        join_min: connected speech: also make recordings by joining join_min..join_max recordings of one group
            with short silences, their transcripts joined by spaces (0 = off; FSDD's connected digits).
        join_max: most recordings joined.
        joined_per_split: joined recordings made for each split, from that split's recordings (the validation
            and test splits get a fifth as many).
        join_gap_seconds: the silence between joined recordings is drawn from [0, join_gap_seconds].
        max_train_minutes: keep a seeded choice of the training recordings up to this many minutes, the
            validation and test splits unchanged (0 = all): accuracy against minutes of training audio.
        extra_train: more sources, in the same format and settings as `source`, whose recordings are added to
            the training split only (e.g. synthetic speech, `benchmarks/synthetic_speech.py`); they are never
            validated or tested on.
    """

    source: str = DEMO_SOURCE
    format: Literal["auto", "demo", "ljspeech", "librispeech", "csv", "tsv", "jsonl", "filenames", "tfds"] = "auto"
    audio_dir: str = ""
    audio_column: str = "path"
    text_column: str = "text"
    group_column: str = ""
    filename_pattern: str = ""
    test_groups: tuple[str, ...] = ()
    validation_groups: tuple[str, ...] = ()
    test_fraction: float = 0.1
    validation_fraction: float = 0.1
    carve_by: Literal["group", "recording"] = "group"
    max_seconds: float = 30.0
    max_utterances: int = 0
    tfds_data_dir: str = ""
    demo_utterances: int = 600
    demo_seed: int = 0
    join_min: int = 0
    join_max: int = 7
    joined_per_split: int = 0
    join_gap_seconds: float = 0.3
    max_train_minutes: float = 0.0
    extra_train: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class TextConfig(sections.Section):
    """How transcripts are normalised before the alphabet is fitted and before scoring (the `[text]` section);
    the same rule for training targets, references and LM text.

    Attributes:
        lowercase: fold case.
        keep: characters kept besides letters, digits and spaces (e.g. "'" keeps "don't"); every other
            character becomes a space, and runs of spaces one.
    """

    lowercase: bool = True
    keep: str = "'"


@dataclasses.dataclass(frozen=True)
class FeaturesConfig(sections.Section):
    """The log-mel spectrogram the model reads, computed in graph (`rnnapps.pipelines.speech.features`).

    Attributes:
        sample_rate: the model's rate; every recording is resampled to it.
        window_ms: analysis window length.
        hop_ms: step between windows (10 ms = 100 frames per second).
        mel_bins: mel filters between 20 Hz and half the sample rate.
        normalization: "utterance" (each mel bin to zero mean, unit variance over the recording), "global" (by
            each bin's mean and deviation over the training recordings: what a stream can use, since it cannot
            wait for the end of the recording) or "none".
    """

    sample_rate: int = 16000
    window_ms: float = 25.0
    hop_ms: float = 10.0
    mel_bins: int = 80
    normalization: Literal["utterance", "global", "none"] = "utterance"

    def validate(self, name: str) -> None:
        sections.check_range(sections.WHERE, f"{name}.sample_rate", self.sample_rate, 1000, 192000)
        sections.check_range(sections.WHERE, f"{name}.window_ms", self.window_ms, 1, 200)
        sections.check_range(sections.WHERE, f"{name}.hop_ms", self.hop_ms, 1, self.window_ms)
        sections.check_range(sections.WHERE, f"{name}.mel_bins", self.mel_bins, 1, 512)


@dataclasses.dataclass(frozen=True)
class AugmentConfig(sections.Section):
    """Training-only augmentation (the `[augment]` section); evaluation and serving never augment.

    Attributes:
        speed_factors: every training batch is played at one of these speeds (resampled; e.g. [0.9, 1.0, 1.1]),
            [] = off.
        vtlp: vocal tract length perturbation: every training batch's spectra are read at frequency f x a factor
            drawn from [1 - vtlp, 1 + vtlp] (e.g. 0.1), moving formants as another speaker's would (0 = off).
        noise_snr_db: add white noise at a signal-to-noise ratio drawn from [noise_snr_db, noise_snr_db + 20] dB
            to every training recording (0 = off).
        time_masks: SpecAugment: frames masks per recording.
        time_mask_frames: the widest time mask.
        frequency_masks: SpecAugment: mel-bin masks per recording.
        frequency_mask_bins: the widest frequency mask.
    """

    speed_factors: tuple[float, ...] = ()
    vtlp: float = 0.0
    noise_snr_db: float = 0.0
    time_masks: int = 0
    time_mask_frames: int = 20
    frequency_masks: int = 0
    frequency_mask_bins: int = 10

    def validate(self, name: str) -> None:
        for factor in self.speed_factors:
            sections.check_range(sections.WHERE, f"{name}.speed_factors", factor, 0.5, 2.0)
        sections.check_range(sections.WHERE, f"{name}.vtlp", self.vtlp, 0, 0.3)
        for key in ("noise_snr_db", "time_masks", "time_mask_frames", "frequency_masks", "frequency_mask_bins"):
            sections.check_range(sections.WHERE, f"{name}.{key}", getattr(self, key), 0)


@dataclasses.dataclass(frozen=True)
class FrontendConfig(sections.Section):
    """The 2-D convolutions before the recurrent stack (the `[frontend]` section).

    Attributes:
        subsample: shorten time by 1 (no convolutions), 2 or 4 (one or two stride-2 3x3 convolutions over time
            and mel bins): fewer recurrent steps, faster training.
        filters: channels of each convolution.
    """

    subsample: int = 2
    filters: int = 32

    def validate(self, name: str) -> None:
        if self.subsample not in SUBSAMPLING:
            raise UserError(f"{sections.WHERE}: {name}.subsample = {self.subsample!r} must be one of "
                            f"{', '.join(map(str, SUBSAMPLING))}")
        sections.check_range(sections.WHERE, f"{name}.filters", self.filters, 1)


@dataclasses.dataclass(frozen=True)
class CtcDecodingConfig(sections.Section):
    """How frame-wise character probabilities become text (the `[decoding]` section; `rnnapps.decoding.ctc`).

    Attributes:
        beam_size: CTC prefix beam search width (1 = greedy: the best character of each frame, repeats merged,
            blanks dropped).
        language_model: a character language model trained by the `generate` task (its bundle or run
            directory), fused into the beam search (shallow fusion, `rnnapps.decoding.ctc_fusion`); "" = none.
            Transcription with it runs on the host: the exported SavedModel decodes without it.
        lm_weight: how much the language model's log probability counts beside the recogniser's.
        length_bonus: added per character written, balancing the language model's cost of each character.
    """

    beam_size: int = 1
    language_model: str = ""
    lm_weight: float = 0.5
    length_bonus: float = 1.0

    def validate(self, name: str) -> None:
        sections.check_range(sections.WHERE, f"{name}.beam_size", self.beam_size, 1, sections.MAX_BEAM_SIZE)
        sections.check_range(sections.WHERE, f"{name}.lm_weight", self.lm_weight, 0.0, 10.0)
        sections.check_range(sections.WHERE, f"{name}.length_bonus", self.length_bonus, -10.0, 10.0)
        if self.language_model and self.beam_size < 2:
            raise UserError(f"{sections.WHERE}: {name}.language_model is fused into a beam search; set "
                            f"{name}.beam_size to 2 or more (e.g. 8)")


@dataclasses.dataclass(frozen=True)
class SpeechRecipe:
    """A speech recognition recipe: audio in, text out, a recurrent network trained with CTC."""

    task: str = "speech"
    seed: int = 42
    data: SpeechDataConfig = dataclasses.field(default_factory=SpeechDataConfig)
    text: TextConfig = dataclasses.field(default_factory=TextConfig)
    features: FeaturesConfig = dataclasses.field(default_factory=FeaturesConfig)
    augment: AugmentConfig = dataclasses.field(default_factory=AugmentConfig)
    frontend: FrontendConfig = dataclasses.field(default_factory=FrontendConfig)
    encoder: sections.RecurrentConfig = dataclasses.field(
        default_factory=lambda: sections.RecurrentConfig(units=128, num_layers=2))
    decoding: CtcDecodingConfig = dataclasses.field(default_factory=CtcDecodingConfig)
    training: sections.TrainingConfig = dataclasses.field(default_factory=sections.TrainingConfig)

    def validate(self) -> None:
        """Raise `UserError` for data settings out of range (each section checks its own ranges)."""
        where, config = sections.WHERE, self.data
        for key in ("test_fraction", "validation_fraction"):
            sections.check_range(where, f"data.{key}", getattr(config, key), 0, 0.9)
        sections.check_range(where, "data.max_seconds", config.max_seconds, 0.1)
        for key in ("max_utterances", "demo_utterances", "joined_per_split", "join_gap_seconds", "max_train_minutes"):
            sections.check_range(where, f"data.{key}", getattr(config, key), 0)
        if config.join_min:
            sections.check_range(where, "data.join_min", config.join_min, 2)
            sections.check_range(where, "data.join_max", config.join_max, config.join_min)
        overlap = set(config.test_groups) & set(config.validation_groups)
        if overlap:
            raise UserError(f"{where}: data.test_groups and data.validation_groups both hold {sorted(overlap)}")
