"""Speech recognition: audio in, text out, with log-mel features, a recurrent network trained with CTC, and
greedy or beam-search CTC decoding; scored with CER and WER."""

import click

from rnnapps import task


def _fusion_options():
    return [
        click.Option(["--lm", "language_model"], default=None, metavar="BUNDLE",
                     help="Fuse this character language model (a `generate` bundle trained on transcripts like "
                          "these) into the beam search; 'none' = without (default: the recipe's "
                          "decoding.language_model). Needs --beam 2 or more."),
        click.Option(["--lm-weight"], type=float, default=None,
                     help="Weight of the language model's log probability (default: the recipe's decoding.lm_weight)."),
        click.Option(["--length-bonus"], type=float, default=None,
                     help="Score added per character written, against the language model's preference for short "
                          "transcripts (default: the recipe's decoding.length_bonus)."),
    ]


def _transcribe_options():
    return [
        task.beam_option(),
        *_fusion_options(),
        click.Option(["--stream"], is_flag=True,
                     help="Transcribe each input as a stream, chunk by chunk, the state carried across chunks (the "
                          "same text as the whole file; needs a one-way model with global or no normalisation). "
                          "'-' reads raw 16-bit little-endian mono PCM from standard input."),
        click.Option(["--chunk-seconds"], type=click.FloatRange(min=0.01), default=0.5, show_default=True,
                     help="With --stream: seconds of audio per chunk."),
        click.Option(["--rate"], type=click.IntRange(min=1000), default=None,
                     help="With --stream -: the sample rate of the PCM on standard input (default: the model's)."),
    ]

TASK = task.TaskSpec(
    name="speech",
    summary="Speech recognition: audio -> text with a recurrent network trained with CTC; CER and WER.",
    use_name="transcribe",
    use_help="Transcribe audio files (WAV of any sample format, FLAC, OGG, MP3), folders of them, or "
             "'demo:phones' (a few generated demo recordings).",
    inputs="audio files or folders",
    use_options=_transcribe_options,
    evaluate_options=lambda: [task.beam_option(), *_fusion_options()],
)


__getattr__ = TASK.module_getattr()
