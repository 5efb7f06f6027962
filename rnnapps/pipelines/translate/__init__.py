"""Translation (many-to-many): a sequence-to-sequence model with attention, greedy and beam search."""

import click

from rnnapps import task

_PREDICT_OPTIONS, _DECODING_OPTIONS = task.search_decoding_options(
    "the attention heatmap (source x output tokens) of the first input")


def _evaluate_options() -> list[click.Option]:
    """evaluate's --beam, and --target-data for a corpus's own parallel test files."""
    target = click.Option(["--target-data"], help="With --data SOURCE_FILE: the target-language file of two "
                          "parallel files (line N translates line N of SOURCE_FILE), e.g. a corpus's official "
                          "test set.")
    return [*_DECODING_OPTIONS(), target]


TASK = task.TaskSpec(
    name="translate",
    summary="Translation (many-to-many): seq2seq with Bahdanau/Luong attention, greedy and beam search.",
    use_options=_PREDICT_OPTIONS,
    evaluate_options=_evaluate_options,
)


__getattr__ = TASK.module_getattr()
