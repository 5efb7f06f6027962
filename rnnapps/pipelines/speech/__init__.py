"""Speech recognition: audio in, text out, with log-mel features, a recurrent network trained with CTC, and
greedy or beam-search CTC decoding; scored with CER and WER."""

from rnnapps import task

TASK = task.TaskSpec(
    name="speech",
    summary="Speech recognition: audio -> text with a recurrent network trained with CTC; CER and WER.",
    use_name="transcribe",
    use_help="Transcribe audio files (WAV of any sample format, FLAC, OGG, MP3), folders of them, or "
             "'demo:phones' (a few generated demo recordings).",
    inputs="audio files or folders",
    use_options=lambda: [task.beam_option()],
    evaluate_options=lambda: [task.beam_option()],
)


__getattr__ = TASK.module_getattr()
