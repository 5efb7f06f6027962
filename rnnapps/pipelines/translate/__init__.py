"""Translation (many-to-many): a sequence-to-sequence model with attention, greedy and beam search."""

from rnnapps import task

_PREDICT_OPTIONS, _EVALUATE_OPTIONS = task.search_decoding_options(
    "the attention heatmap (source x output tokens) of the first input")


TASK = task.TaskSpec(
    name="translate",
    summary="Translation (many-to-many): seq2seq with Bahdanau/Luong attention, greedy and beam search.",
    use_options=_PREDICT_OPTIONS,
    evaluate_options=_EVALUATE_OPTIONS,
)


__getattr__ = TASK.module_getattr()
