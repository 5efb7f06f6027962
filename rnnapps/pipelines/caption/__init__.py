"""Image captioning (one-to-many): a CNN image encoder and an RNN decoder with visual attention."""

from rnnapps import task

_PREDICT_OPTIONS, _EVALUATE_OPTIONS = task.search_decoding_options(
    "the attention map of every word of the first image's caption")


TASK = task.TaskSpec(
    name="caption",
    summary="Image captioning (one-to-many): CNN encoder + RNN decoder with visual attention, beam search.",
    inputs="image files (JPEG, PNG, GIF, BMP, WebP) or folders of them",
    use_options=_PREDICT_OPTIONS,
    evaluate_options=_EVALUATE_OPTIONS,
)


__getattr__ = TASK.module_getattr()
